package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store"
)

// IdempotencyStore keeps the first response to each (user, Idempotency-Key)
// (store.Store implements it over db/migrations/0015_idempotency.sql).
type IdempotencyStore interface {
	IdempotencyKeyClaim(ctx context.Context, user int64, key string, hash []byte, expiredBefore, staleBefore time.Time) (bool, error)
	IdempotencyKeyGet(ctx context.Context, user int64, key string) (store.IdempotentResponse, error)
	IdempotencyKeyFinish(ctx context.Context, user int64, key string, status int, h http.Header, body []byte) error
	IdempotencyKeyRelease(ctx context.Context, user int64, key string) error
}

const (
	idempotencyHeader = "Idempotency-Key"
	// idempotencyTTL is how long a key's response is kept and replayed.
	idempotencyTTL = 24 * time.Hour
	// idempotencyStale is when a claim whose request never finished (its
	// process died) lapses and the key may run again: longer than any
	// request may take (the server's WriteTimeout is a minute).
	idempotencyStale  = 5 * time.Minute
	maxIdempotencyKey = 255
)

// notIdempotent are the changing operations that take no Idempotency-Key:
//   - create-events-token mints a two-minute token; a retry minting another
//     is harmless, and replaying would keep a live secret in the database.
//   - connect-account starts a consent whose browser secret (the cookie)
//     the server keeps only hashed; a retry starts another consent, the
//     unused one expires, and replaying would keep the secret in clear.
var notIdempotent = map[string]bool{"create-events-token": true, "connect-account": true}

// idempotent reports whether op takes an Idempotency-Key: every
// authenticated operation that changes something, but those above.
func idempotent(op *huma.Operation) bool {
	switch op.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return needsToken(op) && !notIdempotent[op.OperationID]
	}
	return false
}

const idempotencyDoc = "A key of your choosing (at most 255 printable ASCII characters; a UUID is a good one) " +
	"that makes retrying this request safe. The first response to a key is kept for 24 hours; " +
	"a request with the same key, method, path and body gets that response again (with Idempotent-Replayed: true) " +
	"and changes nothing. The same key with another request is 422; while the first request with the key " +
	"is still running, another is 409 (retry after a moment). Keys are per user. " +
	"Server errors (5xx) and 429 are not kept: retry with the same key."

func documentIdempotency(op *huma.Operation) {
	minLen, maxLen := 1, maxIdempotencyKey
	op.Parameters = append(op.Parameters, &huma.Param{
		Name: idempotencyHeader, In: "header", Description: idempotencyDoc,
		Schema: &huma.Schema{Type: huma.TypeString, MinLength: &minLen, MaxLength: &maxLen, Pattern: "^[\\x21-\\x7e]+$"},
	})
	for _, r := range successResponses(op) {
		addHeader(r, "Idempotent-Replayed", "true when this is the kept response to an earlier request with the same Idempotency-Key")
	}
	addProblem(op, http.StatusConflict)
	addProblem(op, http.StatusUnprocessableEntity)
}

// validKey reports whether k is a usable key: printable ASCII, no spaces.
func validKey(k string) bool {
	if len(k) == 0 || len(k) > maxIdempotencyKey {
		return false
	}
	for i := range len(k) {
		if k[i] < 0x21 || k[i] > 0x7e {
			return false
		}
	}
	return true
}

// idempotency is Huma middleware: for operations that take a key and
// requests that send one, it claims (user, key) in one statement before the
// operation runs, so of two concurrent duplicates only one runs; the other
// gets 409, and later ones the kept response.
func idempotency(api huma.API, d Deps) func(huma.Context, func(huma.Context)) {
	return func(hctx huma.Context, next func(huma.Context)) {
		key := hctx.Header(idempotencyHeader)
		if key == "" || d.Idempotency == nil || !idempotent(hctx.Operation()) {
			next(hctx)
			return
		}
		if !validKey(key) {
			_ = huma.WriteErr(api, hctx, http.StatusUnprocessableEntity, "invalid Idempotency-Key",
				&huma.ErrorDetail{Location: "header." + idempotencyHeader, Message: "must be 1 to 255 printable ASCII characters without spaces"})
			return
		}
		// Huma applies the operation's body limit later, to this copy; a
		// larger body is read one byte past the limit so it still fails.
		body, err := io.ReadAll(io.LimitReader(hctx.BodyReader(), maxBody+1))
		if err != nil {
			_ = huma.WriteErr(api, hctx, http.StatusBadRequest, "could not read the request body")
			return
		}
		u := hctx.URL()
		h := sha256.New()
		fmt.Fprintf(h, "%s %s?%s\n", hctx.Method(), u.Path, u.RawQuery)
		h.Write(body)
		sum := h.Sum(nil)

		ctx := hctx.Context()
		user := principal(ctx).UserID
		now := time.Now()
		claimed, err := d.Idempotency.IdempotencyKeyClaim(ctx, user, key, sum, now.Add(-idempotencyTTL), now.Add(-idempotencyStale))
		if err != nil {
			writeStatusErr(api, hctx, problem(ctx, d.Logger, err))
			return
		}
		if !claimed {
			replay(api, hctx, d, user, key, sum)
			return
		}

		c := capture(hctx)
		c.reqBody = bytes.NewReader(body)
		bg := context.WithoutCancel(ctx)
		finished := false
		defer func() {
			if !finished { // the operation panicked: let a retry run
				_ = d.Idempotency.IdempotencyKeyRelease(bg, user, key)
			}
		}()
		next(c)
		finished = true
		if kept(c.status) {
			err = d.Idempotency.IdempotencyKeyFinish(bg, user, key, c.status, c.header, c.body.Bytes())
		} else {
			err = d.Idempotency.IdempotencyKeyRelease(bg, user, key)
		}
		if err != nil {
			// The operation did run: send its response. A retry with the
			// key gets 409 until the claim goes stale.
			d.Logger.ErrorContext(ctx, "idempotency_keep_failed", slog.Any("err", err))
		}
		c.flush()
	}
}

// kept reports whether a response is kept for replay: what the operation
// decided, not a failure a retry might get past (5xx, 429, 408, 499).
func kept(status int) bool {
	return status >= 200 && status < 500 && status != http.StatusTooManyRequests &&
		status != http.StatusRequestTimeout && status != 499
}

// replay answers a request whose key is already claimed.
func replay(api huma.API, hctx huma.Context, d Deps, user int64, key string, sum []byte) {
	ctx := hctx.Context()
	r, err := d.Idempotency.IdempotencyKeyGet(ctx, user, key)
	switch {
	case errors.Is(err, inbox.ErrNotFound) || (err == nil && r.Status == 0):
		// Still running (or released a moment ago).
		hctx.SetHeader("Retry-After", "1")
		_ = huma.WriteErr(api, hctx, http.StatusConflict,
			"a request with this Idempotency-Key is still in progress; retry in a moment to get its response")
		return
	case err != nil:
		writeStatusErr(api, hctx, problem(ctx, d.Logger, err))
		return
	case !bytes.Equal(r.RequestHash, sum):
		_ = huma.WriteErr(api, hctx, http.StatusUnprocessableEntity,
			"this Idempotency-Key was already used for another request (a different method, path or body); use a new key",
			&huma.ErrorDetail{Location: "header." + idempotencyHeader, Message: "already used for another request", Value: key})
		return
	}
	for name, values := range r.Header {
		for i, v := range values {
			if i == 0 {
				hctx.SetHeader(name, v)
			} else {
				hctx.AppendHeader(name, v)
			}
		}
	}
	hctx.SetHeader("Idempotent-Replayed", "true")
	hctx.SetStatus(r.Status)
	_, _ = hctx.BodyWriter().Write(r.Body)
}

// writeStatusErr writes an error made by problem from middleware, where no
// handler returns it to Huma.
func writeStatusErr(api huma.API, hctx huma.Context, err error) {
	var se huma.StatusError
	if !errors.As(err, &se) {
		se = huma.Error500InternalServerError("internal error")
	}
	var details []error
	var em *huma.ErrorModel
	if errors.As(err, &em) {
		for _, e := range em.Errors {
			details = append(details, e)
		}
	}
	_ = huma.WriteErr(api, hctx, se.GetStatus(), se.Error(), details...)
}
