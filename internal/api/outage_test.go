package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/api"
	"github.com/inboxq/inboxq/internal/auth"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/store"
)

// A database outage is a 503 with Retry-After, never a 401: a 401 makes the
// dashboard sign the person out (and their token was shown only once).
func TestDatabaseOutageIsA503NotA401(t *testing.T) {
	t.Parallel()
	// Nothing listens on port 1: every query fails to connect.
	pool, err := pgxpool.New(context.Background(), "postgres://127.0.0.1:1/inboxq?sslmode=disable&connect_timeout=2")
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	st := store.New(pool)
	h := api.NewHandler(api.Deps{Logger: inboxqtest.Logger(t), Tasks: noTasks(), Auth: auth.NewService(st)})

	for _, path := range []string{"/api/v1/tasks", "/api/v1/events"} {
		req := httptest.NewRequest(http.MethodGet, path, nil)
		req.Header.Set("Authorization", "Bearer iq_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		require.Equal(t, http.StatusServiceUnavailable, rec.Code, "%s: %s", path, rec.Body)
		require.Equal(t, "5", rec.Header().Get("Retry-After"))
		require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
		require.Empty(t, rec.Header().Get("WWW-Authenticate"))
	}
	// A malformed token is still a 401 (no database needed to say so).
	req := httptest.NewRequest(http.MethodGet, "/api/v1/tasks", nil)
	req.Header.Set("Authorization", "Bearer nope")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	require.Equal(t, http.StatusUnauthorized, rec.Code)
}
