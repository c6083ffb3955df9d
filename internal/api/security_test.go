package api_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/api"
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

func TestFullAPITokenIsRefusedInTheURL(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}, NoRiverUI: true})
	_, alice := s.User(t, "alice", false)
	task := create(t, s, alice, map[string]any{"kind": "test_echo", "args": map[string]any{"message": "hi"}})

	srv := httptest.NewServer(s.Handler)
	t.Cleanup(srv.Close)

	// Over a real connection: were the token accepted, the stream would
	// open (200) instead of the recorder waiting for it to end.
	for _, path := range []string{"/api/v1/events", "/api/v1/tasks/" + fmtInt(task.ID) + "/events"} {
		c := inboxqtest.OpenSSE(t, srv.URL+path+"?access_token="+alice, "", "")
		require.Equal(t, http.StatusUnauthorized, c.Resp.StatusCode, path)
		body, err := io.ReadAll(c.Resp.Body)
		require.NoError(t, err)
		require.NoError(t, c.Resp.Body.Close())
		p := problemOf(t, inboxqtest.Response{Code: c.Resp.StatusCode, Header: c.Resp.Header, Body: body}, http.StatusUnauthorized)
		require.Contains(t, p.Detail, "create-events-token", path)
		require.Contains(t, p.Detail, "Authorization header", path)
	}

	// The events token still opens them in the URL, and the API token in
	// the header.
	var tok struct {
		Token string `json:"token"`
	}
	s.Do(t, http.MethodPost, "/api/v1/events/token", alice, nil).JSON(t, &tok)
	byURL := inboxqtest.OpenSSE(t, srv.URL+"/api/v1/tasks/"+fmtInt(task.ID)+"/events?access_token="+tok.Token, "", "")
	require.Equal(t, http.StatusOK, byURL.Resp.StatusCode)
	byHeader := inboxqtest.OpenSSE(t, srv.URL+"/api/v1/tasks/"+fmtInt(task.ID)+"/events", alice, "")
	require.Equal(t, http.StatusOK, byHeader.Resp.StatusCode)
}

func TestRiverUIRefusesCrossSiteWrites(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}})
	_, alice := s.User(t, "alice", false)
	_, root := s.User(t, "root", true)
	const host = "inboxq.local:8080"
	basic := func(h http.Header) http.Header {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.SetBasicAuth("root", root)
		h.Set("Authorization", req.Header.Get("Authorization"))
		return h
	}
	deleteJob := func(id int64, h http.Header) inboxqtest.Response {
		req := httptest.NewRequest(http.MethodPost, "/riverui/api/jobs/delete", strings.NewReader(`{"ids":["`+fmtInt(id)+`"]}`))
		req.Host = host
		for k, vs := range basic(h) {
			req.Header[k] = vs
		}
		rec := httptest.NewRecorder()
		s.Handler.ServeHTTP(rec, req)
		return inboxqtest.Response{Code: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
	}
	task := create(t, s, alice, map[string]any{"kind": "test_echo", "args": map[string]any{"message": "keep me"}})

	for name, h := range map[string]http.Header{
		// What the audit's <form enctype=text/plain> sends from a modern browser...
		"cross-site form":        {"Content-Type": {"text/plain"}, "Origin": {"https://attacker.example"}, "Sec-Fetch-Site": {"cross-site"}},
		"same-site other origin": {"Content-Type": {"application/json"}, "Sec-Fetch-Site": {"same-site"}},
		"foreign origin, JSON":   {"Content-Type": {"application/json"}, "Origin": {"https://attacker.example"}},
		"opaque origin":          {"Content-Type": {"application/json"}, "Origin": {"null"}},
		"origin on another port": {"Content-Type": {"application/json"}, "Origin": {"http://inboxq.local:9090"}},
		// ...and from one that sends neither Origin nor Sec-Fetch-Site.
		"old browser's form": {"Content-Type": {"text/plain"}},
		"no content type":    {},
	} {
		p := problemOf(t, deleteJob(task.ID, h), http.StatusForbidden)
		require.Contains(t, p.Detail, "cross-origin request refused", name)
	}
	require.Equal(t, 1, countTasks(t, s), "nothing was deleted")

	// River UI's own page: same origin, and its fetch sends the JSON body
	// as text/plain.
	own := deleteJob(task.ID, http.Header{"Content-Type": {"text/plain;charset=UTF-8"}, "Origin": {"http://" + host}, "Sec-Fetch-Site": {"same-origin"}})
	require.Equal(t, http.StatusOK, own.Code, "%s", own.Body)
	require.Zero(t, countTasks(t, s))

	// A script with JSON and no browser headers, and reads from anywhere,
	// still work.
	again := create(t, s, alice, map[string]any{"kind": "test_echo", "args": map[string]any{"message": "script"}})
	require.Equal(t, http.StatusOK, deleteJob(again.ID, http.Header{"Content-Type": {"application/json"}}).Code)
	read := send(t, s.Handler, http.MethodGet, "/riverui/api/queues", nil, basic(http.Header{"Sec-Fetch-Site": {"cross-site"}}))
	require.Equal(t, http.StatusOK, read.Code)
}

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}})
	_, root := s.User(t, "root", true)
	auth := http.Header{"Authorization": {"Bearer " + root}}
	// The stack's parts with a dashboard (NewStack serves none).
	h := api.NewHandler(api.Deps{
		Logger: inboxqtest.Logger(t), Version: "test", Tasks: s.Tasks, Auth: s.Auth, Hub: s.Hub,
		Ready: func(context.Context) error { return nil },
		Dashboard: fstest.MapFS{
			"index.html":      {Data: []byte("<html>inboxq</html>")},
			"assets/app-1.js": {Data: []byte("console.log(1)")},
			"docs.html":       {Data: []byte("<html><script>boot()</script>docs</html>")},
		},
	})
	common := func(r inboxqtest.Response, what string) {
		t.Helper()
		require.Equal(t, "nosniff", r.Header.Get("X-Content-Type-Options"), what)
		require.Equal(t, "DENY", r.Header.Get("X-Frame-Options"), what)
		require.Equal(t, "strict-origin-when-cross-origin", r.Header.Get("Referrer-Policy"), what)
		require.Contains(t, r.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'", what)
	}

	const dashboardCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
		"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
	for _, path := range []string{"/", "/index.html", "/tasks/12", "/assets/app-1.js"} {
		r := send(t, h, http.MethodGet, path, nil, nil)
		require.Equal(t, http.StatusOK, r.Code, path)
		common(r, path)
		require.Equal(t, dashboardCSP, r.Header.Get("Content-Security-Policy"), path)
	}

	for _, path := range []string{"/api/v1/tasks", "/api/v1/nope", "/openapi.json", "/healthz", "/metrics"} {
		r := send(t, s.Handler, http.MethodGet, path, nil, auth)
		common(r, path)
		require.Equal(t, "default-src 'none'; frame-ancestors 'none'", r.Header.Get("Content-Security-Policy"), path)
	}
	r := send(t, h, http.MethodPost, "/api/v1/tasks", strings.NewReader(`{"kind":"test_echo","args":{"message":"hi"}}`),
		http.Header{"Authorization": auth["Authorization"], "Content-Type": {"application/json"}})
	require.Equal(t, http.StatusCreated, r.Code, "%s", r.Body)
	common(r, "create")
	require.Equal(t, "default-src 'none'; frame-ancestors 'none'", r.Header.Get("Content-Security-Policy"))

	// River UI is River's page: it may not be framed, the rest is its own.
	r = send(t, s.Handler, http.MethodGet, "/riverui/", nil, auth)
	require.Equal(t, http.StatusOK, r.Code)
	common(r, "/riverui/")
	require.Equal(t, "frame-ancestors 'none'", r.Header.Get("Content-Security-Policy"))

	// /docs is the page built into dist, its inline scripts allowed by hash
	// and nothing from another origin (web/e2e/docs.spec.ts loads it offline).
	r = send(t, h, http.MethodGet, "/docs", nil, nil)
	require.Equal(t, http.StatusOK, r.Code)
	common(r, "/docs")
	require.Equal(t, "<html><script>boot()</script>docs</html>", string(r.Body))
	sum := sha256.Sum256([]byte("boot()"))
	csp := r.Header.Get("Content-Security-Policy")
	require.Contains(t, csp, "script-src 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"';")
	require.NotContains(t, csp, "http")
	require.NotContains(t, csp, "script-src 'self'")
}

func TestUnstorableInputIsA422NamingTheField(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}, NoRiverUI: true})
	_, alice := s.User(t, "alice", false)
	_, root := s.User(t, "root", true)
	hdr := func(token string) http.Header {
		return http.Header{"Authorization": {"Bearer " + token}, "Content-Type": {"application/json"}}
	}

	for _, c := range []struct {
		name, method, path, body, token, location, message string
	}{
		{"NUL in a query", http.MethodGet, "/api/v1/tasks?kind=%00", "", alice, "query.kind", "NUL"},
		{"invalid UTF-8 in a query", http.MethodGet, "/api/v1/tasks?kind=caf%E9", "", alice, "query.kind", "UTF-8"},
		{"NUL in an event stream's query", http.MethodGet, "/api/v1/events?kind=test_echo&kind=x%00", "", alice, "query.kind", "NUL"},
		{"NUL in a path parameter", http.MethodPost, "/api/v1/queues/def%00ault/pause", "", root, "path.name", "NUL"},
		{"NUL in task args", http.MethodPost, "/api/v1/tasks",
			`{"kind":"test_echo","args":{"message":"hi\u0000there"}}`, alice, "body.args.message", "NUL"},
		{"NUL in a schedule name", http.MethodPost, "/api/v1/schedules",
			`{"name":"night\u0000ly","cron":"0 * * * *","kind":"test_echo","args":{"message":"m"}}`, alice, "body.name", "NUL"},
		{"NUL in a label name for bulk_label_emails", http.MethodPost, "/api/v1/tasks",
			`{"kind":"bulk_label_emails","args":{"account_id":1,"target":{"label":"INBOX"},"add":["ok","AI\u0000News"]}}`, alice, "body.args.add[1]", "NUL"},
		{"NUL in a nested filter", http.MethodPost, "/api/v1/tasks",
			`{"kind":"bulk_label_emails","args":{"account_id":1,"target":{"label":"IN\u0000BOX"},"add":["x"]}}`, alice, "body.args.target.label", "NUL"},
		{"NUL in an object key", http.MethodPost, "/api/v1/tasks",
			`{"kind":"test_echo","args":{"message":"hi","col\u0000our":"red"}}`, alice, "body.args", "property name"},
		{"invalid UTF-8 in a body", http.MethodPost, "/api/v1/tasks",
			"{\"kind\":\"test_echo\",\"args\":{\"message\":\"caf\xe9\"}}", alice, "body.args.message", "UTF-8"},
		{"a lone surrogate escape", http.MethodPost, "/api/v1/tasks",
			`{"kind":"test_echo","args":{"message":"\ud800"}}`, alice, "body.args.message", "surrogate"},
	} {
		r := send(t, s.Handler, c.method, c.path, strings.NewReader(c.body), hdr(c.token))
		p := problemOf(t, r, http.StatusUnprocessableEntity)
		require.Len(t, p.Errors, 1, "%s: %s", c.name, r.Body)
		require.Equal(t, c.location, p.Errors[0].Location, c.name)
		require.Contains(t, p.Errors[0].Message, c.message, c.name)
		require.Contains(t, string(r.Body), `"value":`, c.name)
	}

	// Nothing was created or changed.
	require.Zero(t, countTasks(t, s))
	var list struct {
		Schedules []any `json:"schedules"`
	}
	s.Do(t, http.MethodGet, "/api/v1/schedules", alice, nil).JSON(t, &list)
	require.Empty(t, list.Schedules)
	var queues struct {
		Queues []struct {
			Paused bool `json:"paused"`
		} `json:"queues"`
	}
	s.Do(t, http.MethodGet, "/api/v1/queues", root, nil).JSON(t, &queues)
	for _, q := range queues.Queues {
		require.False(t, q.Paused)
	}

	// Escaped NULs and invalid UTF-8 in the URL's path outside a parameter
	// are refused too; ordinary Unicode passes, and the body is still there
	// for the handler.
	r := send(t, s.Handler, http.MethodGet, "/api/v1/ta%00sks", nil, hdr(alice))
	require.Equal(t, "path", problemOf(t, r, http.StatusUnprocessableEntity).Errors[0].Location)
	task := create(t, s, alice, map[string]any{"kind": "test_echo", "args": map[string]any{"message": "héllo ✓ \ufffd"}})
	require.Equal(t, "héllo ✓ \ufffd", task.Args["message"])
}
