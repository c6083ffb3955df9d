package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/inboxq/inboxq/internal/auth"
	"github.com/inboxq/inboxq/internal/inbox"
)

// securityScheme is the OpenAPI name of bearer-token auth.
const securityScheme = "bearer"

// bearer marks an operation as needing a token.
var bearer = []map[string][]string{{securityScheme: {}}}

// anonymous is the security of operations open to all: the document's
// top-level requirement is bearer, so they must say so (an empty
// requirement object). documentConventions sets it on operations that
// declare no security.
var anonymous = []map[string][]string{{}}

// needsToken reports whether op needs a token: it has a requirement that
// names a scheme.
func needsToken(op *huma.Operation) bool {
	for _, req := range op.Security {
		if len(req) > 0 {
			return true
		}
	}
	return false
}

type principalKey struct{}

// principal returns the authenticated caller; operations that declare
// security only run once authenticate has set it.
func principal(ctx context.Context) inbox.Principal {
	p, _ := ctx.Value(principalKey{}).(inbox.Principal)
	return p
}

type grantKey struct{}

// grant returns what the caller's token opens, with the token's identity
// (set by authenticate alongside the principal).
func grant(ctx context.Context) auth.Grant {
	g, _ := ctx.Value(grantKey{}).(auth.Grant)
	return g
}

// tokenFrom reads a token from "Authorization: Bearer …" or, for browsers
// opening River UI, HTTP Basic with the token as the password.
func tokenFrom(h string) string {
	scheme, rest, ok := strings.Cut(h, " ")
	if !ok {
		return ""
	}
	switch strings.ToLower(scheme) {
	case "bearer":
		return strings.TrimSpace(rest)
	case "basic":
		r := http.Request{Header: http.Header{"Authorization": {h}}}
		if _, pw, ok := r.BasicAuth(); ok {
			return pw
		}
	}
	return ""
}

// authenticate is Huma middleware: operations with security need a valid
// token; others pass untouched.
func authenticate(api huma.API, d Deps) func(huma.Context, func(huma.Context)) {
	return func(hctx huma.Context, next func(huma.Context)) {
		if !needsToken(hctx.Operation()) {
			next(hctx)
			return
		}
		var g auth.Grant
		var err error
		msg := "a valid API token is required (Authorization: Bearer <token>)"
		header := tokenFrom(hctx.Header("Authorization"))
		events, _ := hctx.Operation().Metadata["events"].(bool)
		switch {
		case events && header == "" && hctx.Query("access_token") != "":
			// A URL is logged and kept in history: only the two-minute
			// events token may travel there, never a full API token.
			g, err = d.Auth.AuthenticateEventsURL(hctx.Context(), hctx.Query("access_token"))
			msg = "access_token must be an events token (create one with create-events-token, POST " +
				Prefix + "/events/token); send an API token in the Authorization header instead, never in the URL"
		case events:
			g, err = d.Auth.AuthenticateEvents(hctx.Context(), header)
		default:
			g, err = d.Auth.AuthenticateToken(hctx.Context(), header)
		}
		if err != nil && !errors.Is(err, auth.ErrUnauthenticated) {
			// Not a bad token: the database could not say (an outage). A
			// 401 here would sign every user out; a 503 keeps the session.
			if d.Logger != nil {
				d.Logger.WarnContext(hctx.Context(), "authentication_unavailable", slog.Any("err", err))
			}
			hctx.SetHeader("Retry-After", "5")
			_ = huma.WriteErr(api, hctx, http.StatusServiceUnavailable, "the service cannot check tokens right now; try again shortly")
			return
		}
		if err != nil {
			hctx.SetHeader("WWW-Authenticate", `Bearer realm="inboxq"`)
			_ = huma.WriteErr(api, hctx, http.StatusUnauthorized, msg)
			return
		}
		next(huma.WithValue(huma.WithValue(hctx, principalKey{}, g.Principal), grantKey{}, g))
	}
}

// requireAdmin wraps a plain handler (River UI, metrics) so only admins get in.
func requireAdmin(a *auth.Service, realm string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.Authenticate(r.Context(), tokenFrom(r.Header.Get("Authorization")))
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Basic realm="`+realm+` (any user name, API token as password)"`)
			writeProblem(w, http.StatusUnauthorized, "a valid admin API token is required")
			return
		}
		if !p.IsAdmin() {
			writeProblem(w, http.StatusForbidden, "admins only")
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(huma.ErrorModel{Title: http.StatusText(status), Status: status, Detail: detail})
}
