package store

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/inboxq/inboxq/internal/store/dbsqlc"
)

// IdempotentResponse is the response kept for an idempotency key. Status 0
// means the first request with the key is still running.
type IdempotentResponse struct {
	RequestHash []byte
	Status      int
	Header      http.Header
	Body        []byte
	CreatedAt   time.Time
}

// IdempotencyKeyClaim claims (user, key) for a request with hash. It returns
// true when the caller holds the claim and should run the request: the key
// was new, older than expiredBefore, or claimed by a request still running
// since before staleBefore. One statement, so of two concurrent claims only
// one wins.
func (s *Store) IdempotencyKeyClaim(ctx context.Context, user int64, key string, hash []byte, expiredBefore, staleBefore time.Time) (bool, error) {
	_, err := s.q.IdempotencyKeyClaim(ctx, dbsqlc.IdempotencyKeyClaimParams{
		UserID: user, Key: key, RequestHash: hash, ExpiredBefore: expiredBefore, StaleBefore: staleBefore,
	})
	if err != nil {
		err = translate(err, "claiming idempotency key")
		if isNotFound(err) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// IdempotencyKeyGet returns what is kept for (user, key).
func (s *Store) IdempotencyKeyGet(ctx context.Context, user int64, key string) (IdempotentResponse, error) {
	row, err := s.q.IdempotencyKeyGet(ctx, dbsqlc.IdempotencyKeyGetParams{UserID: user, Key: key})
	if err != nil {
		return IdempotentResponse{}, translate(err, "reading idempotency key")
	}
	r := IdempotentResponse{RequestHash: row.RequestHash, Status: int(row.Status), Body: row.Body, CreatedAt: row.CreatedAt}
	if err := json.Unmarshal(row.Headers, &r.Header); err != nil {
		return IdempotentResponse{}, fmt.Errorf("decoding kept headers: %w", err)
	}
	return r, nil
}

// IdempotencyKeyFinish keeps the response of the request holding the claim.
func (s *Store) IdempotencyKeyFinish(ctx context.Context, user int64, key string, status int, h http.Header, body []byte) error {
	raw, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("encoding kept headers: %w", err)
	}
	return translate(s.q.IdempotencyKeyFinish(ctx, dbsqlc.IdempotencyKeyFinishParams{
		UserID: user, Key: key, Status: int32(status), Headers: raw, Body: body,
	}), "keeping idempotent response")
}

// IdempotencyKeyRelease gives up a claim without keeping a response, so a
// retry with the key runs again.
func (s *Store) IdempotencyKeyRelease(ctx context.Context, user int64, key string) error {
	return translate(s.q.IdempotencyKeyRelease(ctx, dbsqlc.IdempotencyKeyReleaseParams{UserID: user, Key: key}), "releasing idempotency key")
}

// IdempotencyKeyPrune deletes keys created before before.
func (s *Store) IdempotencyKeyPrune(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.q.IdempotencyKeyDeleteBefore(ctx, before)
	return n, translate(err, "pruning idempotency keys")
}
