package jobs_test

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/tasks"
)

type deepCallArgs struct{ jobs.Owned }

func (deepCallArgs) Kind() string { return "test_deep_call" }

// deepCallWorker records whether a 6 KiB call moved its job's stack.
type deepCallWorker struct {
	river.WorkerDefaults[deepCallArgs]
	moved *atomic.Int32
}

func (w deepCallWorker) Work(context.Context, *river.Job[deepCallArgs]) error {
	if jobs.StackMovedByDeepCall() {
		w.moved.Add(1)
	}
	return nil
}

// Every job of a client from jobs.NewClient runs on a stack grown before
// inboxq's middleware and the worker run (stackMiddleware): a worker's
// deep call copies no stack.
func TestJobsRunOnAGrownStack(t *testing.T) {
	t.Parallel()
	var moved atomic.Int32
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true,
		Kinds: func(r *jobs.Registry) {
			jobs.Add(r, deepCallWorker{moved: &moved}, jobs.Info{Description: "test"})
		}})
	u, _ := s.User(t, "u", false)
	for range 5 {
		task, _, err := s.Tasks.Create(context.Background(), u, tasks.CreateParams{Kind: "test_deep_call", Args: json.RawMessage(`{}`)})
		require.NoError(t, err)
		s.WaitTask(t, task.ID, 30*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	}
	require.Zero(t, moved.Load(), "no job's deep call moved its stack")
}
