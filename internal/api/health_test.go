package api_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/danielgtaylor/huma/v2/humatest"
	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/api"
	"github.com/inboxq/inboxq/internal/inboxqtest"
)

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	ready := errors.New("database unreachable")
	_, tapi := humatest.New(t, api.NewConfig("test"))
	api.Register(tapi, api.Deps{Logger: inboxqtest.Logger(t), Tasks: noTasks(), Ready: func(context.Context) error { return ready }})

	resp := tapi.Get("/healthz")
	require.Equal(t, http.StatusOK, resp.Code)
	require.JSONEq(t, `{"status":"ok"}`, resp.Body.String())

	resp = tapi.Get("/readyz")
	require.Equal(t, http.StatusServiceUnavailable, resp.Code)
	require.Equal(t, "application/problem+json", resp.Header().Get("Content-Type"))
	require.Contains(t, resp.Body.String(), "not ready: database unreachable")

	ready = nil
	resp = tapi.Get("/readyz")
	require.Equal(t, http.StatusOK, resp.Code)
	require.JSONEq(t, `{"status":"ready"}`, resp.Body.String())
}

// A hung database does not hang the readiness probe: it answers 503.
func TestReadinessAnswersWhileTheDatabaseHangs(t *testing.T) {
	t.Parallel()
	_, tapi := humatest.New(t, api.NewConfig("test"))
	api.Register(tapi, api.Deps{Logger: inboxqtest.Logger(t), Tasks: noTasks(), Ready: func(ctx context.Context) error {
		<-ctx.Done() // a query that never returns, until its context ends
		return ctx.Err()
	}})
	resp := tapi.Get("/readyz")
	require.Equal(t, http.StatusServiceUnavailable, resp.Code)
	require.Contains(t, resp.Body.String(), "deadline exceeded")
}

func TestHandlerRecoversFromPanics(t *testing.T) {
	t.Parallel()
	h := api.NewHandler(api.Deps{Logger: inboxqtest.Logger(t), Tasks: noTasks(), Ready: func(context.Context) error { panic("boom") }})
	rec := serve(h, http.MethodGet, "/readyz")
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"))
	require.NotContains(t, rec.Body.String(), "boom")
}
