package api_test

import (
	"net/http"
	"net/http/httptest"
	"strconv"

	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/tasks"
)

// noTasks is a task service with no kinds and no database, for operations
// that never reach it.
func noTasks() *tasks.Service { return tasks.NewService(nil, nil, jobs.NewRegistry(), nil) }

func serve(h http.Handler, method, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

func fmtInt(n int64) string { return strconv.FormatInt(n, 10) }
