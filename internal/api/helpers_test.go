package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/tasks"
)

// noTasks is a task service with no kinds and no database, for operations
// that never reach it.
func noTasks() *tasks.Service { return tasks.NewService(nil, nil, jobs.NewRegistry(), nil) }

// stripSchema drops Huma's "$schema" link so bodies compare by content.
func stripSchema(t *testing.T, body []byte) string {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(body, &m))
	delete(m, "$schema")
	out, err := json.Marshal(m)
	require.NoError(t, err)
	return string(out)
}

func serve(h http.Handler, method, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

func fmtInt(n int64) string { return strconv.FormatInt(n, 10) }
