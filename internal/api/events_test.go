package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
)

type taskEvent struct {
	ID       int64  `json:"id"`
	State    string `json:"state"`
	Change   string `json:"change"`
	Error    string `json:"error"`
	Progress *struct {
		Done int64 `json:"done"`
	} `json:"progress"`
	Result map[string]any `json:"result"`
}

type progressEvent struct {
	ID      int64    `json:"id"`
	Done    int64    `json:"done"`
	Total   *int64   `json:"total"`
	Percent *float64 `json:"percent"`
	Stage   string   `json:"stage"`
	Rate    float64  `json:"rate"`
}

func decode[T any](t *testing.T, ev inboxqtest.SSEEvent) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(ev.Data, &v), "%s", ev.Data)
	return v
}

func terminal(ev inboxqtest.SSEEvent) bool {
	if ev.Name != "task" {
		return false
	}
	var te taskEvent
	_ = json.Unmarshal(ev.Data, &te)
	return te.State == "completed" || te.State == "failed" || te.State == "cancelled"
}

func TestTaskEventsArriveInOrderAndEndWithTheTerminalEvent(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true})
	srv := httptest.NewServer(s.Handler)
	t.Cleanup(srv.Close)
	_, alice := s.User(t, "alice", false)

	task := create(t, s, alice, map[string]any{"kind": "test_steps", "args": map[string]any{"steps": 20, "delay_ms": 25}, "run_at": time.Now().Add(300 * time.Millisecond)})
	c := inboxqtest.OpenSSE(t, fmt.Sprintf("%s/api/v1/tasks/%d/events", srv.URL, task.ID), alice, "")
	require.Equal(t, http.StatusOK, c.Resp.StatusCode)
	require.Equal(t, "text/event-stream", c.Resp.Header.Get("Content-Type"))

	evs := c.Until(t, 20*time.Second, terminal)
	require.True(t, c.Ended(5*time.Second), "the stream ends after the terminal event")

	first := decode[taskEvent](t, evs[0])
	require.Equal(t, "snapshot", first.Change)
	require.Equal(t, "scheduled", first.State)
	var changes []string
	var lastDone int64 = -1
	for _, ev := range evs[1:] {
		require.NotEmpty(t, ev.ID)
		switch ev.Name {
		case "task":
			changes = append(changes, decode[taskEvent](t, ev).Change)
		case "progress":
			p := decode[progressEvent](t, ev)
			require.GreaterOrEqual(t, p.Done, lastDone, "progress never goes back")
			lastDone = p.Done
			require.EqualValues(t, 20, *p.Total)
		}
	}
	// The creation can be announced after the snapshot was read (its NOTIFY
	// was still on the way): a stale event, never a missing one.
	if len(changes) > 0 && changes[0] == "created" {
		changes = changes[1:]
	}
	require.Equal(t, []string{"requeued", "started", "completed"}, changes, "scheduled → pending → running → completed")
	require.EqualValues(t, 20, lastDone, "the final progress is always written")
	last := decode[taskEvent](t, evs[len(evs)-1])
	require.EqualValues(t, 20, last.Result["steps"])

	// Coalesced: 20 reports over ~500 ms make far fewer than 20 writes.
	require.Less(t, countNamed(evs, "progress"), 12)

	// The completion left alice a notification.
	var alerts struct {
		Alerts []struct {
			Title  string `json:"title"`
			TaskID int64  `json:"task_id"`
		} `json:"alerts"`
	}
	s.Do(t, http.MethodGet, "/api/v1/alerts", alice, nil).JSON(t, &alerts)
	require.Len(t, alerts.Alerts, 1)
	require.Equal(t, "test steps completed", alerts.Alerts[0].Title)

	// The task view carries the progress too.
	var got struct {
		Progress progressEvent `json:"progress"`
	}
	s.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/tasks/%d", task.ID), alice, nil).JSON(t, &got)
	require.EqualValues(t, 20, got.Progress.Done)
	require.InDelta(t, 100, *got.Progress.Percent, 0.001)
	require.Equal(t, "stepping", got.Progress.Stage)
	require.Positive(t, got.Progress.Rate)
}

func countNamed(evs []inboxqtest.SSEEvent, name string) int {
	n := 0
	for _, e := range evs {
		if e.Name == name {
			n++
		}
	}
	return n
}

func TestReconnectWithLastEventIDMissesNothing(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true})
	srv := httptest.NewServer(s.Handler)
	t.Cleanup(srv.Close)
	_, alice := s.User(t, "alice", false)

	c := inboxqtest.OpenSSE(t, srv.URL+"/api/v1/events", alice, "")
	var ids []int64
	for i := range 3 {
		ids = append(ids, create(t, s, alice, map[string]any{"kind": "test_echo", "args": map[string]any{"message": fmt.Sprint(i)}}).ID)
	}
	// Read until the first task completes, then drop the connection.
	seen := c.Until(t, 10*time.Second, func(ev inboxqtest.SSEEvent) bool {
		return terminal(ev) && decode[taskEvent](t, ev).ID == ids[0]
	})
	lastID := seen[len(seen)-1].ID
	c.Close()

	// While away: the others finish and more tasks come.
	for _, id := range ids[1:] {
		s.WaitTask(t, id, 10*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	}
	late := create(t, s, alice, map[string]any{"kind": "test_echo", "args": map[string]any{"message": "late"}}).ID
	s.WaitTask(t, late, 10*time.Second, inboxqtest.InState(inbox.TaskCompleted))

	// Resume: every missed change is replayed, in order, no snapshot needed.
	r := inboxqtest.OpenSSE(t, srv.URL+"/api/v1/events", alice, lastID)
	got := r.Until(t, 10*time.Second, func(ev inboxqtest.SSEEvent) bool {
		return terminal(ev) && decode[taskEvent](t, ev).ID == late
	})
	completed := map[int64]bool{}
	for _, ev := range got {
		if ev.Name == "task" {
			te := decode[taskEvent](t, ev)
			require.NotEqual(t, "snapshot", te.Change)
			if te.State == "completed" {
				completed[te.ID] = true
			}
		}
	}
	require.Equal(t, map[int64]bool{ids[1]: true, ids[2]: true, late: true}, completed)

	// An id this hub never issued (another process, or long ago) gets a snapshot instead.
	o := inboxqtest.OpenSSE(t, srv.URL+"/api/v1/events", alice, "ffffffff-12")
	snap := decode[taskEvent](t, o.Next(t, 5*time.Second))
	require.Equal(t, "snapshot", snap.Change)
}

func TestKilledListenerStillDeliversTheFinalState(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true})
	srv := httptest.NewServer(s.Handler)
	t.Cleanup(srv.Close)
	_, alice := s.User(t, "alice", false)

	task := create(t, s, alice, map[string]any{"kind": "test_steps", "args": map[string]any{"steps": 30, "delay_ms": 30}})
	c := inboxqtest.OpenSSE(t, fmt.Sprintf("%s/api/v1/tasks/%d/events", srv.URL, task.ID), alice, "")
	c.Until(t, 10*time.Second, func(ev inboxqtest.SSEEvent) bool { return ev.Name == "progress" })

	// Kill the hub's LISTEN connection (the one in this schema listening).
	var killed int
	require.NoError(t, s.Schema.Pool.QueryRow(context.Background(), `
		SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE query ILIKE 'listen%' AND query ILIKE '%'||$1||'.inboxq_events%'`, s.Schema.Name).Scan(&killed))
	require.Equal(t, 1, killed)

	evs := c.Until(t, 20*time.Second, terminal)
	last := decode[taskEvent](t, evs[len(evs)-1])
	require.Equal(t, "completed", last.State)
}

func TestUsersReceiveOnlyTheirOwnEvents(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true})
	srv := httptest.NewServer(s.Handler)
	t.Cleanup(srv.Close)
	_, alice := s.User(t, "alice", false)
	_, bob := s.User(t, "bob", false)
	_, root := s.User(t, "root", true)

	ca := inboxqtest.OpenSSE(t, srv.URL+"/api/v1/events", alice, "")
	cb := inboxqtest.OpenSSE(t, srv.URL+"/api/v1/events", bob, "")
	cr := inboxqtest.OpenSSE(t, srv.URL+"/api/v1/events", root, "")

	at := create(t, s, alice, map[string]any{"kind": "test_fail", "args": map[string]any{"mode": "permanent"}})
	bt := create(t, s, bob, map[string]any{"kind": "test_echo", "args": map[string]any{"message": "b"}})

	// Bob's stream ends with his task; nothing of alice's comes before or after.
	for _, ev := range cb.Until(t, 10*time.Second, func(ev inboxqtest.SSEEvent) bool {
		return terminal(ev) && decode[taskEvent](t, ev).ID == bt.ID
	}) {
		require.NotEqual(t, at.ID, decode[taskEvent](t, ev).ID, "bob saw alice's %s event", ev.Name)
	}
	// Alice gets her failure and its alert, never bob's task.
	var gotAlert bool
	for _, ev := range ca.Until(t, 10*time.Second, func(ev inboxqtest.SSEEvent) bool { return ev.Name == "alert" }) {
		require.NotEqual(t, bt.ID, decode[taskEvent](t, ev).ID)
		gotAlert = gotAlert || ev.Name == "alert"
	}
	require.True(t, gotAlert)
	// The admin sees both tasks.
	seen := map[int64]bool{}
	cr.Until(t, 10*time.Second, func(ev inboxqtest.SSEEvent) bool {
		if ev.Name == "task" {
			seen[decode[taskEvent](t, ev).ID] = true
		}
		return seen[at.ID] && seen[bt.ID]
	})
	// A user opening another's task stream gets a 404.
	other := inboxqtest.OpenSSE(t, fmt.Sprintf("%s/api/v1/tasks/%d/events", srv.URL, at.ID), bob, "")
	require.Equal(t, http.StatusNotFound, other.Resp.StatusCode)
	// A drained check: nothing of alice's is waiting in bob's buffer.
	select {
	case ev, ok := <-cb.Events:
		if ok && ev.Name != "" {
			require.NotEqual(t, at.ID, decode[taskEvent](t, ev).ID)
		}
	case <-time.After(200 * time.Millisecond):
	}
}

func TestEventStreamAuthHeartbeatAndQueryToken(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}, Heartbeat: 50 * time.Millisecond})
	srv := httptest.NewServer(s.Handler)
	t.Cleanup(srv.Close)
	_, alice := s.User(t, "alice", false)

	require.Equal(t, http.StatusUnauthorized, inboxqtest.OpenSSE(t, srv.URL+"/api/v1/events", "", "").Resp.StatusCode)

	var tok struct {
		Token string `json:"token"`
	}
	s.Do(t, http.MethodPost, "/api/v1/events/token", alice, nil).JSON(t, &tok)
	// The events token opens streams (EventSource passes it in the URL)...
	c := inboxqtest.OpenSSE(t, srv.URL+"/api/v1/events?access_token="+tok.Token, "", "")
	require.Equal(t, http.StatusOK, c.Resp.StatusCode)
	select {
	case cm := <-c.Comments:
		require.Equal(t, "keep-alive", cm)
	case <-time.After(5 * time.Second):
		t.Fatal("no heartbeat")
	}
	// ...and nothing else.
	problemOf(t, s.Do(t, http.MethodGet, "/api/v1/tasks", tok.Token, nil), http.StatusUnauthorized)
}

func TestThousandClientsLeaveNoGoroutinesBehind(t *testing.T) {
	const n = 1000
	// One user's thousand streams: the per-user cap is lifted for this test
	// of the hub and the handlers' cleanup.
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}, StreamsPerUser: n})
	srv := httptest.NewServer(s.Handler)
	t.Cleanup(srv.Close)
	_, alice := s.User(t, "alice", false)
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	baseline := runtime.NumGoroutine()

	clients := make([]*inboxqtest.SSEClient, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { clients[i] = inboxqtest.OpenSSE(t, srv.URL+"/api/v1/events", alice, "") })
	}
	wg.Wait()
	require.Eventually(t, func() bool { return s.Hub.Subscribers() == n }, 20*time.Second, 20*time.Millisecond)

	// One event reaches all of them.
	create(t, s, alice, map[string]any{"kind": "test_echo", "args": map[string]any{"message": "to all"}})
	for _, c := range clients {
		require.Equal(t, "snapshot_end", c.Next(t, 20*time.Second).Name, "an empty snapshot, then live")
		ev := c.Next(t, 20*time.Second)
		require.Equal(t, "task", ev.Name)
	}
	for _, c := range clients {
		c.Close()
	}
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	require.Eventually(t, func() bool { return s.Hub.Subscribers() == 0 }, 20*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= baseline+10 }, 20*time.Second, 50*time.Millisecond,
		"goroutines: baseline %d, now %d", baseline, runtime.NumGoroutine())
}
