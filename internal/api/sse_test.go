package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/api"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/tasks"
)

type snapshotEnd struct {
	Count     int  `json:"count"`
	Truncated bool `json:"truncated"`
}

// untilSnapshotEnd reads a stream up to its snapshot_end event.
func untilSnapshotEnd(t *testing.T, c *inboxqtest.SSEClient) (snapshot []inboxqtest.SSEEvent, end inboxqtest.SSEEvent) {
	t.Helper()
	evs := c.Until(t, 10*time.Second, func(ev inboxqtest.SSEEvent) bool { return ev.Name == "snapshot_end" })
	return evs[:len(evs)-1], evs[len(evs)-1]
}

// heldID is the Last-Event-ID an EventSource holds after receiving evs:
// the last id any of them carried (an event without one keeps it).
func heldID(before string, evs []inboxqtest.SSEEvent) string {
	id := before
	for _, ev := range evs {
		if ev.ID != "" {
			id = ev.ID
		}
	}
	return id
}

func TestReconnectingInTheMiddleOfASnapshotLosesNothing(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}})
	srv := httptest.NewServer(s.Handler)
	t.Cleanup(srv.Close)
	_, alice := s.User(t, "alice", false)

	want := map[int64]bool{}
	for i := range 4 {
		want[create(t, s, alice, map[string]any{"kind": "test_echo", "args": map[string]any{"message": fmt.Sprint(i)}}).ID] = true
	}
	c := inboxqtest.OpenSSE(t, srv.URL+"/api/v1/events", alice, "")
	snapshot, end := untilSnapshotEnd(t, c)
	require.Len(t, snapshot, 4)
	require.Equal(t, snapshotEnd{Count: 4}, decode[snapshotEnd](t, end))
	require.NotEmpty(t, end.ID, "the marker carries the position to resume from")
	c.Close()

	// Dropped after two of the four: the client resumes with the id it
	// holds then, and still learns of every task.
	held := heldID("", snapshot[:2])
	r := inboxqtest.OpenSSE(t, srv.URL+"/api/v1/events", alice, held)
	again, _ := untilSnapshotEnd(t, r)
	got := map[int64]bool{}
	for _, ev := range append(snapshot[:2], again...) {
		got[decode[taskEvent](t, ev).ID] = true
	}
	require.Equal(t, want, got)
	r.Close()

	// Resuming after the marker (here from a new connection, by query
	// parameter) replays what came since, and no snapshot.
	late := create(t, s, alice, map[string]any{"kind": "test_echo", "args": map[string]any{"message": "late"}}).ID
	q := inboxqtest.OpenSSE(t, srv.URL+"/api/v1/events?last_event_id="+url.QueryEscape(end.ID), alice, "")
	// (A creation announced after the first snapshot was read may come
	// first: stale, never missing.)
	replayed := q.Until(t, 10*time.Second, func(ev inboxqtest.SSEEvent) bool {
		return ev.Name == "task" && decode[taskEvent](t, ev).ID == late
	})
	for _, ev := range replayed {
		require.Equal(t, "task", ev.Name, "no snapshot_end: nothing to resnapshot")
		require.Equal(t, "created", decode[taskEvent](t, ev).Change)
		require.NotEmpty(t, ev.ID)
	}
}

func TestATruncatedSnapshotSaysSo(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}, SnapshotTasks: 3})
	srv := httptest.NewServer(s.Handler)
	t.Cleanup(srv.Close)
	_, alice := s.User(t, "alice", false)

	var ids []int64
	for i := range 3 {
		ids = append(ids, create(t, s, alice, map[string]any{"kind": "test_echo", "args": map[string]any{"message": fmt.Sprint(i)}}).ID)
	}
	// Exactly at the limit: whole.
	c := inboxqtest.OpenSSE(t, srv.URL+"/api/v1/events", alice, "")
	snapshot, end := untilSnapshotEnd(t, c)
	require.Len(t, snapshot, 3)
	require.Equal(t, snapshotEnd{Count: 3}, decode[snapshotEnd](t, end))
	c.Close()

	// One more: cut, and marked so.
	create(t, s, alice, map[string]any{"kind": "test_echo", "args": map[string]any{"message": "one more"}})
	c = inboxqtest.OpenSSE(t, srv.URL+"/api/v1/events", alice, "")
	snapshot, end = untilSnapshotEnd(t, c)
	require.Len(t, snapshot, 3)
	for _, ev := range snapshot {
		require.Empty(t, ev.ID, "snapshot events carry no id")
		require.NotEqual(t, ids[0], decode[taskEvent](t, ev).ID, "the oldest is left out")
	}
	require.Equal(t, snapshotEnd{Count: 3, Truncated: true}, decode[snapshotEnd](t, end))

	// A task's own stream: its state, then the marker.
	o := inboxqtest.OpenSSE(t, fmt.Sprintf("%s/api/v1/tasks/%d/events", srv.URL, ids[0]), alice, "")
	snapshot, end = untilSnapshotEnd(t, o)
	require.Len(t, snapshot, 1)
	require.Equal(t, snapshotEnd{Count: 1}, decode[snapshotEnd](t, end))
	require.Equal(t, http.StatusOK, o.Resp.StatusCode)
}

func TestEventStreamsAreDocumentedOneEventAtATime(t *testing.T) {
	t.Parallel()
	raw, err := api.OpenAPI("test", tasks.NewService(nil, nil, jobs.NewRegistry(), nil))
	require.NoError(t, err)
	type media struct {
		Schema struct {
			Type          any                 `json:"type"`
			OneOf         []map[string]string `json:"oneOf"`
			Discriminator struct {
				PropertyName string            `json:"propertyName"`
				Mapping      map[string]string `json:"mapping"`
			} `json:"discriminator"`
		} `json:"schema"`
	}
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]map[string]any `json:"properties"`
				Required   []string                  `json:"required"`
			} `json:"schemas"`
		} `json:"components"`
		Paths map[string]map[string]struct {
			Description string `json:"description"`
			Responses   map[string]struct {
				Content map[string]media `json:"content"`
			} `json:"responses"`
		} `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(raw, &doc))

	events := func(path string) map[string]string {
		op := doc.Paths[path]["get"]
		require.Contains(t, op.Description, "Last-Event-ID")
		require.Contains(t, op.Description, "last_event_id")
		require.Contains(t, op.Description, "retry:")
		require.Contains(t, op.Description, "incrementally")
		m := op.Responses["200"].Content["text/event-stream"]
		require.Nil(t, m.Schema.Type, "one event, not an array of them")
		require.Equal(t, "event", m.Schema.Discriminator.PropertyName)
		require.Len(t, m.Schema.OneOf, len(m.Schema.Discriminator.Mapping))
		for name, ref := range m.Schema.Discriminator.Mapping {
			c := doc.Components.Schemas[ref[len("#/components/schemas/"):]]
			require.Equal(t, name, c.Properties["event"]["const"], ref)
			require.Contains(t, c.Properties["data"], "$ref", ref)
			require.ElementsMatch(t, []string{"event", "data"}, c.Required, ref)
		}
		return m.Schema.Discriminator.Mapping
	}
	require.Equal(t, map[string]string{
		"task":         "#/components/schemas/TaskEventMessage",
		"progress":     "#/components/schemas/ProgressEventMessage",
		"workflow":     "#/components/schemas/WorkflowEventMessage",
		"alert":        "#/components/schemas/AlertEventMessage",
		"snapshot_end": "#/components/schemas/SnapshotEndMessage",
	}, events("/api/v1/events"))
	require.Equal(t, map[string]string{
		"task":         "#/components/schemas/TaskEventMessage",
		"progress":     "#/components/schemas/ProgressEventMessage",
		"snapshot_end": "#/components/schemas/SnapshotEndMessage",
	}, events("/api/v1/tasks/{id}/events"), "a task's stream sends no alerts")
}
