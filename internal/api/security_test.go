package api_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inboxqtest"
)

// send is Stack.Do with headers of the test's choosing.
func send(t *testing.T, h http.Handler, method, path string, body io.Reader, header http.Header) inboxqtest.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, body)
	for k, vs := range header {
		req.Header[k] = vs
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return inboxqtest.Response{Code: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
}

func TestResponsesNeverEchoTheHostHeader(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}, NoRiverUI: true})
	_, alice := s.User(t, "alice", false)
	hdr := http.Header{"Authorization": {"Bearer " + alice}, "Content-Type": {"application/json"}}
	const host = "attacker.example"

	for _, r := range []struct{ method, path, body string }{
		{http.MethodPost, "/api/v1/tasks", `{"kind":"test_echo","args":{"message":"hi"}}`},
		{http.MethodGet, "/api/v1/tasks", ""},
		{http.MethodGet, "/api/v1/kinds", ""},
		{http.MethodGet, "/healthz", ""},
		{http.MethodGet, "/api/v1/tasks/999999", ""}, // a problem
	} {
		req := httptest.NewRequest(r.method, r.path, strings.NewReader(r.body))
		req.Host = host
		for k, vs := range hdr {
			req.Header[k] = vs
		}
		rec := httptest.NewRecorder()
		s.Handler.ServeHTTP(rec, req)
		require.Less(t, rec.Code, 500, r.path)
		require.NotContains(t, rec.Body.String(), host, r.path)
		require.NotContains(t, rec.Body.String(), "$schema", r.path)
		for k, vs := range rec.Header() {
			require.NotContains(t, strings.Join(vs, " "), host, "%s header %s", r.path, k)
		}
	}
	// Nor does the document declare a "$schema" property anywhere.
	doc := send(t, s.Handler, http.MethodGet, "/openapi.json", nil, nil)
	require.Equal(t, http.StatusOK, doc.Code)
	require.NotContains(t, string(doc.Body), "$schema")
}
