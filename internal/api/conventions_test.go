package api_test

import (
	"context"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/tasks"
)

func withKey(key string) http.Header { return http.Header{"Idempotency-Key": {key}} }

func echo(msg string) map[string]any {
	return map[string]any{"kind": "test_echo", "args": map[string]any{"message": msg}}
}

func TestIdempotencyKeyReplaysTheFirstResponse(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{})
	_, alice := s.User(t, "alice", false)
	_, bob := s.User(t, "bob", false)

	first := s.DoWith(t, http.MethodPost, "/api/v1/tasks", alice, echo("once"), withKey("key-1"))
	require.Equal(t, http.StatusCreated, first.Code, "%s", first.Body)
	require.Empty(t, first.Header.Get("Idempotent-Replayed"))
	var a taskBody
	first.JSON(t, &a)

	again := s.DoWith(t, http.MethodPost, "/api/v1/tasks", alice, echo("once"), withKey("key-1"))
	require.Equal(t, http.StatusCreated, again.Code, "%s", again.Body)
	require.Equal(t, "true", again.Header.Get("Idempotent-Replayed"))
	require.Equal(t, first.Header.Get("Content-Type"), again.Header.Get("Content-Type"))
	require.JSONEq(t, string(first.Body), string(again.Body))
	require.Equal(t, 1, countTasks(t, s), "the replay created nothing")

	p := problemOf(t, s.DoWith(t, http.MethodPost, "/api/v1/tasks", alice, echo("other"), withKey("key-1")), http.StatusUnprocessableEntity)
	require.Contains(t, p.Detail, "already used for another request")
	require.Equal(t, "header.Idempotency-Key", p.Errors[0].Location)
	require.Equal(t, 1, countTasks(t, s))

	// Keys are per user: bob's key-1 is his own.
	r := s.DoWith(t, http.MethodPost, "/api/v1/tasks", bob, echo("once"), withKey("key-1"))
	require.Equal(t, http.StatusCreated, r.Code, "%s", r.Body)
	require.Empty(t, r.Header.Get("Idempotent-Replayed"))
	var b taskBody
	r.JSON(t, &b)
	require.NotEqual(t, a.ID, b.ID)
	require.Equal(t, 2, countTasks(t, s))

	// Another operation: a replayed cancel answers as the first did, even
	// though the task is cancelled now (a second cancel without a key is 409).
	cancel := fmt.Sprintf("/api/v1/tasks/%d/cancel", a.ID)
	c1 := s.DoWith(t, http.MethodPost, cancel, alice, nil, withKey("cancel-1"))
	require.Equal(t, http.StatusOK, c1.Code, "%s", c1.Body)
	c2 := s.DoWith(t, http.MethodPost, cancel, alice, nil, withKey("cancel-1"))
	require.Equal(t, http.StatusOK, c2.Code, "%s", c2.Body)
	require.JSONEq(t, string(c1.Body), string(c2.Body))

	problemOf(t, s.DoWith(t, http.MethodPost, "/api/v1/tasks", alice, echo("x"), withKey("has space")), http.StatusUnprocessableEntity)
}

func TestIdempotencyKeyConcurrentDuplicatesRunOnce(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{})
	_, alice := s.User(t, "alice", false)

	const n = 8
	var wg sync.WaitGroup
	start := make(chan struct{})
	responses := make([]inboxqtest.Response, n)
	for i := range n {
		wg.Go(func() {
			<-start
			responses[i] = s.DoWith(t, http.MethodPost, "/api/v1/tasks", alice, echo("race"), withKey("same"))
		})
	}
	close(start)
	wg.Wait()

	ids := map[int64]bool{}
	for _, r := range responses {
		switch r.Code {
		case http.StatusCreated:
			var tb taskBody
			r.JSON(t, &tb)
			ids[tb.ID] = true
		case http.StatusConflict:
			require.Equal(t, "1", r.Header.Get("Retry-After"))
		default:
			t.Fatalf("unexpected %d: %s", r.Code, r.Body)
		}
	}
	require.Len(t, ids, 1, "every success is the same task")
	require.Equal(t, 1, countTasks(t, s))
}

func TestETagAndIfNoneMatch(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{})
	_, alice := s.User(t, "alice", false)
	task := create(t, s, alice, echo("etag"))

	schedule := createSchedule(t, s, alice, "etag")
	for _, path := range []string{fmt.Sprintf("/api/v1/tasks/%d", task.ID), fmt.Sprintf("/api/v1/schedules/%d", schedule), "/api/v1/tasks"} {
		r := s.Do(t, http.MethodGet, path, alice, nil)
		require.Equal(t, http.StatusOK, r.Code, path)
		tag := r.Header.Get("ETag")
		require.Regexp(t, `^W/"[A-Za-z0-9_-]+"$`, tag, path)

		// The pending task's wait_seconds grows between the two requests;
		// the ETag leaves it out.
		nm := s.DoWith(t, http.MethodGet, path, alice, nil, http.Header{"If-None-Match": {`"other", ` + tag}})
		require.Equal(t, http.StatusNotModified, nm.Code, path)
		require.Empty(t, nm.Body)
		require.Equal(t, tag, nm.Header.Get("ETag"))

		stale := s.DoWith(t, http.MethodGet, path, alice, nil, http.Header{"If-None-Match": {`W/"stale"`}})
		require.Equal(t, http.StatusOK, stale.Code, path)
		require.NotEmpty(t, stale.Body)
	}
	// A change changes the ETag.
	path := fmt.Sprintf("/api/v1/tasks/%d", task.ID)
	before := s.Do(t, http.MethodGet, path, alice, nil).Header.Get("ETag")
	require.Equal(t, http.StatusOK, s.Do(t, http.MethodPost, path+"/cancel", alice, nil).Code)
	require.NotEqual(t, before, s.Do(t, http.MethodGet, path, alice, nil).Header.Get("ETag"))
}

func TestRequestIDEchoedWhenSafe(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{})
	_, alice := s.User(t, "alice", false)

	for _, path := range []string{"/healthz", "/api/v1/tasks", "/api/v1/nope"} {
		r := s.Do(t, http.MethodGet, path, alice, nil)
		require.Regexp(t, `^[A-Za-z0-9]{16,}$`, r.Header.Get("X-Request-Id"), path)
	}
	r := s.DoWith(t, http.MethodGet, "/api/v1/tasks", alice, nil, http.Header{"X-Request-Id": {"client-42.a:b_c"}})
	require.Equal(t, "client-42.a:b_c", r.Header.Get("X-Request-Id"))
	for _, bad := range []string{"has space", "<script>", string(make([]byte, 65))} {
		r := s.DoWith(t, http.MethodGet, "/api/v1/tasks", alice, nil, http.Header{"X-Request-Id": {bad}})
		id := r.Header.Get("X-Request-Id")
		require.NotEqual(t, bad, id)
		require.NotEmpty(t, id)
	}
}

func TestRateLimitHeadersOnCreate(t *testing.T) {
	t.Parallel()
	// Six a minute: a token comes back every ten seconds, far slower than
	// the test.
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Limits: &tasks.Limits{CreatesPerMinute: 6}})
	_, alice := s.User(t, "alice", false)
	_, admin := s.User(t, "root", true)

	var remaining []int
	for i := range 3 {
		r := s.Do(t, http.MethodPost, "/api/v1/tasks", alice, echo(strconv.Itoa(i)))
		require.Equal(t, http.StatusCreated, r.Code, "%s", r.Body)
		require.Equal(t, "6", r.Header.Get("RateLimit-Limit"))
		n, err := strconv.Atoi(r.Header.Get("RateLimit-Remaining"))
		require.NoError(t, err)
		remaining = append(remaining, n)
		reset, err := strconv.Atoi(r.Header.Get("RateLimit-Reset"))
		require.NoError(t, err)
		require.Positive(t, reset)
	}
	require.Equal(t, []int{5, 4, 3}, remaining)

	// Admins have no bucket.
	r := s.Do(t, http.MethodPost, "/api/v1/tasks", admin, echo("admin"))
	require.Equal(t, http.StatusCreated, r.Code, "%s", r.Body)
	require.Empty(t, r.Header.Get("RateLimit-Limit"))
}

var nextLink = regexp.MustCompile(`^<([^>]+)>; rel="next"$`)

// pageAll follows a list to its end through Link, checking next_cursor
// agrees, and returns the ids it saw.
func pageAll(t *testing.T, s *inboxqtest.Stack, token, path, field string) []int64 {
	t.Helper()
	var ids []int64
	for pages := 0; path != ""; pages++ {
		require.Less(t, pages, 50, "paging does not end")
		r := s.Do(t, http.MethodGet, path, token, nil)
		require.Equal(t, http.StatusOK, r.Code, "%s: %s", path, r.Body)
		var page map[string]any
		r.JSON(t, &page)
		for _, it := range page[field].([]any) {
			ids = append(ids, int64(it.(map[string]any)["id"].(float64)))
		}
		link := r.Header.Get("Link")
		next, _ := page["next_cursor"].(string)
		if next == "" {
			require.Empty(t, link, path)
			break
		}
		m := nextLink.FindStringSubmatch(link)
		require.NotNil(t, m, "Link %q", link)
		require.Contains(t, m[1], "cursor="+next)
		path = m[1]
	}
	return ids
}

func createSchedule(t *testing.T, s *inboxqtest.Stack, token, name string) int64 {
	t.Helper()
	r := s.Do(t, http.MethodPost, "/api/v1/schedules", token, map[string]any{
		"name": name, "cron": "0 * * * *", "kind": "test_echo", "args": map[string]any{"message": "m"},
	})
	require.Equal(t, http.StatusCreated, r.Code, "%s", r.Body)
	var sc struct {
		ID int64 `json:"id"`
	}
	r.JSON(t, &sc)
	return sc.ID
}

func TestPagingToTheEnd(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{})
	p, alice := s.User(t, "alice", false)

	var want []int64
	for i := range 5 {
		want = append([]int64{create(t, s, alice, echo(strconv.Itoa(i))).ID}, want...) // newest first
	}
	require.Equal(t, want, pageAll(t, s, alice, "/api/v1/tasks?limit=2&kind=test_echo", "tasks"))

	var schedules []int64
	for i := range 5 {
		schedules = append(schedules, createSchedule(t, s, alice, "s"+strconv.Itoa(i))) // oldest first
	}
	require.Equal(t, schedules, pageAll(t, s, alice, "/api/v1/schedules?limit=2", "schedules"))
	require.Equal(t, schedules, pageAll(t, s, alice, "/api/v1/schedules?limit=5", "schedules"))

	var alerts []int64
	for i := range 5 {
		a, ok, err := s.Store.AlertRaise(context.Background(), inbox.Alert{UserID: &p.UserID, Key: fmt.Sprintf("test:%d", i),
			Severity: "warning", Title: "t", Message: "m"})
		require.NoError(t, err)
		require.True(t, ok)
		alerts = append([]int64{a.ID}, alerts...) // newest first
	}
	require.Equal(t, alerts, pageAll(t, s, alice, "/api/v1/alerts?limit=2", "alerts"))
	require.Equal(t, alerts, pageAll(t, s, alice, "/api/v1/alerts?limit=5", "alerts"))
	// before_id still works.
	r := s.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/alerts?before_id=%d", alerts[1]), alice, nil)
	var page struct {
		Alerts []struct {
			ID int64 `json:"id"`
		} `json:"alerts"`
	}
	r.JSON(t, &page)
	require.Len(t, page.Alerts, 3)
	require.Equal(t, alerts[2], page.Alerts[0].ID)

	for _, path := range []string{"/api/v1/tasks", "/api/v1/dead-letters", "/api/v1/alerts", "/api/v1/schedules"} {
		p := problemOf(t, s.Do(t, http.MethodGet, path+"?cursor=not-ours", alice, nil), http.StatusUnprocessableEntity)
		require.Equal(t, "query.cursor", p.Errors[0].Location, path)
	}
}
