package progress_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/progress"
	"github.com/inboxq/inboxq/internal/tasks"
)

// slowArgs: an attempt that reports progress (or not) and then outlives its
// timeout; the next attempt finishes.
type slowArgs struct {
	jobs.Owned
	Progress bool `json:"progress"`
}

func (slowArgs) Kind() string { return "test_slow" }

type slowWorker struct{ river.WorkerDefaults[slowArgs] }

func (slowWorker) Timeout(*river.Job[slowArgs]) time.Duration { return 100 * time.Millisecond }

func (slowWorker) Work(ctx context.Context, job *river.Job[slowArgs]) error {
	rep := progress.From(ctx)
	if len(job.AttemptedBy) > 1 {
		return nil // a later attempt (after a snooze or a failure): done
	}
	if job.Args.Progress {
		rep.SetTotal(2)
		rep.Add(1) // one page committed
	}
	<-ctx.Done() // then a page too slow for the deadline
	return ctx.Err()
}

// An attempt that outlives its timeout after making progress is not a
// failure: it snoozes and continues without spending an attempt. Without
// progress it fails as before, so a job that can never finish still ends.
func TestAnAttemptThatOverranAfterProgressIsNotAFailure(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true,
		Kinds: func(r *jobs.Registry) { jobs.Add(r, slowWorker{}, jobs.Info{Description: "test"}) }})
	u, _ := s.User(t, "u", false)
	ctx := context.Background()

	working, _, err := s.Tasks.Create(ctx, u, tasks.CreateParams{Kind: "test_slow", Args: json.RawMessage(`{"progress":true}`)})
	require.NoError(t, err)
	done := s.WaitTask(t, working.ID, 30*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	require.Empty(t, done.Errors, "no attempt was spent on the overrun")

	stuck, _, err := s.Tasks.Create(ctx, u, tasks.CreateParams{Kind: "test_slow", Args: json.RawMessage(`{"progress":false}`)})
	require.NoError(t, err)
	failedOnce := s.WaitTask(t, stuck.ID, 30*time.Second, func(t inbox.Task) bool { return len(t.Errors) > 0 })
	require.Contains(t, failedOnce.Errors[0].Error, "deadline exceeded")
}

// slowStepArgs: the same, inside a resumable step, as the sync and bulk
// workers run their slices.
type slowStepArgs struct {
	jobs.Owned
}

func (slowStepArgs) Kind() string { return "test_slow_step" }

type slowStepWorker struct {
	river.WorkerDefaults[slowStepArgs]
}

func (slowStepWorker) Timeout(*river.Job[slowStepArgs]) time.Duration { return 100 * time.Millisecond }

func (slowStepWorker) Work(ctx context.Context, job *river.Job[slowStepArgs]) error {
	river.ResumableStepCursor(ctx, "pages", nil, jobs.CursorStep(job.JobRow, nil, func(ctx context.Context, page int) error {
		if len(job.AttemptedBy) > 1 {
			return nil
		}
		rep := progress.From(ctx)
		rep.SetTotal(2)
		rep.Add(1)
		<-ctx.Done()
		return ctx.Err()
	}))
	return nil
}

// River reports a step's error from outside every middleware: a step's
// overrun after progress is not a failure either.
func TestAStepThatOverranAfterProgressIsNotAFailure(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true,
		Kinds: func(r *jobs.Registry) { jobs.Add(r, slowStepWorker{}, jobs.Info{Description: "test"}) }})
	u, _ := s.User(t, "u", false)
	task, _, err := s.Tasks.Create(context.Background(), u, tasks.CreateParams{Kind: "test_slow_step", Args: json.RawMessage(`{}`)})
	require.NoError(t, err)
	done := s.WaitTask(t, task.ID, 30*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	require.Empty(t, done.Errors, "no attempt was spent on the overrun")
}
