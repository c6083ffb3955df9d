package progress_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/progress"
	"github.com/inboxq/inboxq/internal/tasks"
)

// A payload the hub cannot read is dropped and logged: it is not a lost
// connection (which would mark the hub not ready and trigger a resync).
func TestUnreadablePayloadDoesNotLoseTheHub(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}})
	inboxqtest.WaitOrTimeout(t, s.Hub.Ready(), 10*time.Second)
	sub, _, _, _ := s.Hub.Subscribe(progress.Filter{Caller: inbox.Principal{Role: inbox.RoleAdmin}}, "")
	defer sub.Close()

	_, err := s.Schema.Pool.Exec(ctx, `SELECT pg_notify($1, 'not json')`, s.Schema.Name+".inboxq_events")
	require.NoError(t, err)
	u, _ := s.User(t, "u", false)
	task, _, err := s.Tasks.Create(ctx, u, tasks.CreateParams{Kind: "test_echo", Args: json.RawMessage(`{"message":"after"}`)})
	require.NoError(t, err)
	for seen := false; !seen; {
		batch := inboxqtest.WaitOrTimeout(t, sub.C, 10*time.Second)
		for _, ev := range batch {
			seen = seen || ev.TaskID() == task.ID
		}
	}
	require.True(t, s.Hub.Listening(), "the hub still listens and needs no resync")
}

// A snapshot reports when the state it carries began, not when the
// snapshot was taken: a client that reconnected takes it as the finish (or
// start) time.
func TestSnapshotEventsCarryTheTimeTheirStateBegan(t *testing.T) {
	t.Parallel()
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	started, finished := created.Add(time.Minute), created.Add(2*time.Minute)
	done := progress.SnapshotEvent(inbox.Task{ID: 1, State: inbox.TaskCompleted, CreatedAt: created, StartedAt: &started, FinishedAt: &finished})
	require.Equal(t, finished, done.Task.At)
	running := progress.SnapshotEvent(inbox.Task{ID: 2, State: inbox.TaskRunning, CreatedAt: created, StartedAt: &started})
	require.Equal(t, started, running.Task.At)
	queued := progress.SnapshotEvent(inbox.Task{ID: 3, State: inbox.TaskPending, CreatedAt: created})
	require.Equal(t, created, queued.Task.At)
}
