package api_test

import (
	"net/http"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/api"
	"github.com/inboxq/inboxq/internal/inboxqtest"
)

func TestDashboardServesTheAppButNeverSwallowsTheAPI(t *testing.T) {
	t.Parallel()
	dist := fstest.MapFS{
		"index.html":      {Data: []byte("<html>inboxq</html>")},
		"assets/app-1.js": {Data: []byte("console.log(1)")},
	}
	h := api.NewHandler(api.Deps{Logger: inboxqtest.Logger(t), Tasks: noTasks(), Dashboard: dist})

	for _, path := range []string{"/", "/tasks", "/tasks/12", "/schedules"} {
		rec := serve(h, http.MethodGet, path)
		require.Equal(t, http.StatusOK, rec.Code, path)
		require.Equal(t, "<html>inboxq</html>", rec.Body.String(), path)
		require.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	}
	rec := serve(h, http.MethodGet, "/assets/app-1.js")
	require.Equal(t, "console.log(1)", rec.Body.String())
	require.Contains(t, rec.Header().Get("Cache-Control"), "immutable")

	for _, path := range []string{"/api/v1/nope", "/api/v1"} {
		rec := serve(h, http.MethodGet, path)
		require.Equal(t, http.StatusNotFound, rec.Code, path)
		require.Equal(t, "application/problem+json", rec.Header().Get("Content-Type"), path)
	}
	require.Equal(t, http.StatusOK, serve(h, http.MethodGet, "/openapi.json").Code)
}
