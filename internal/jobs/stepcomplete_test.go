package jobs_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/progress"
	"github.com/inboxq/inboxq/internal/tasks"
)

// The middleware hands a step whose work returned over to the completer,
// which completes it with what the attempt set, with no River client
// running (nobody else could have); a step whose work failed, and a job
// that is no step, are left to River.
func TestStepMiddlewareCompletesFinishedSteps(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{}) // River never starts
	alice, _ := s.User(t, "alice", false)
	echo := json.RawMessage(`{"message":"x"}`)
	w, _, err := s.Tasks.CreateWorkflow(ctx, alice, tasks.WorkflowSpec{Name: "two", Shape: tasks.ShapeGroup,
		Steps: []tasks.StepSpec{{Name: "ok", Kind: "test_echo", Args: echo}, {Name: "failing", Kind: "test_echo", Args: echo},
			{Name: "step-failed", Kind: "test_echo", Args: echo}, {Name: "cancelled", Kind: "test_echo", Args: echo},
			{Name: "last", Kind: "test_echo", Args: echo}}})
	require.NoError(t, err)
	plain, _, err := s.Tasks.Create(ctx, alice, tasks.CreateParams{Kind: "test_echo", Args: echo})
	require.NoError(t, err)

	c := jobs.NewStepCompleter(s.Store, inboxqtest.Logger(t))
	rctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); c.Run(rctx) }()
	defer func() { stop(); <-done }()

	pool := s.Schema.Pool
	fetch := func(id int64) *rivertype.JobRow { // as River's fetch leaves it
		var md []byte
		require.NoError(t, pool.QueryRow(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now()
			WHERE id = $1 RETURNING metadata`, id).Scan(&md))
		return &rivertype.JobRow{ID: id, Attempt: 1, Metadata: md, State: rivertype.JobStateRunning}
	}
	state := func(id int64) (st string, md map[string]json.RawMessage) {
		require.NoError(t, pool.QueryRow(ctx, `SELECT state, metadata FROM river_job WHERE id = $1`, id).Scan(&st, &md))
		return st, md
	}
	mw := c.Middleware()
	ok, failing, stepFailed, cancelled, last := w.Steps[0].TaskID, w.Steps[1].TaskID, w.Steps[2].TaskID, w.Steps[3].TaskID, w.Steps[4].TaskID
	require.NoError(t, mw.Work(ctx, fetch(ok), func(ctx context.Context) error {
		progress.Mirror(ctx, "output", json.RawMessage(`{"echo":"x"}`))
		return nil
	}))
	require.Error(t, mw.Work(ctx, fetch(failing), func(context.Context) error { return context.DeadlineExceeded }))
	require.NoError(t, mw.Work(ctx, fetch(plain.ID), func(context.Context) error { return nil }))
	// A resumable step failed: River records it after the middleware
	// returned nil (jobs.Step notes it).
	require.NoError(t, mw.Work(ctx, fetch(stepFailed), func(ctx context.Context) error {
		progress.NoteFailure(ctx)
		return nil
	}))
	// Cancelled while it ran, and returned nil anyway.
	cctx, cancel := context.WithCancel(ctx)
	require.NoError(t, mw.Work(cctx, fetch(cancelled), func(context.Context) error { cancel(); return nil }))
	require.NoError(t, mw.Work(ctx, fetch(last), func(context.Context) error { return nil }))

	// Steps are completed in the order handed over, one statement at a
	// time: once the last is, anything handed over before it has been.
	deadline := time.Now().Add(10 * time.Second)
	for st, _ := state(last); st != "completed"; st, _ = state(last) {
		require.True(t, time.Now().Before(deadline), "the finished step was not completed")
		time.Sleep(10 * time.Millisecond)
	}
	st, md := state(ok)
	require.Equal(t, "completed", st)
	require.JSONEq(t, `{"echo":"x"}`, string(md["output"]), "completed with what the attempt recorded")
	st, _ = state(failing)
	require.Equal(t, "running", st, "a failed attempt is River's to record")
	st, _ = state(plain.ID)
	require.Equal(t, "running", st, "a job that is no step is River's to complete")
	st, _ = state(stepFailed)
	require.Equal(t, "running", st, "a failed resumable step is River's to record")
	st, _ = state(cancelled)
	require.Equal(t, "running", st, "a cancelled attempt is River's to record")
}

// River completes a workflow step only once the step completer's statement
// for it has ended (jobs' River pilot): while that statement waits, River
// runs no statement for the step, so it neither waits for the step's row
// nor counts the step first and holds its workflow's lock meanwhile.
func TestRiverCompletesStepsAfterTheStepCompleter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{}) // started below
	alice, _ := s.User(t, "alice", false)
	w, _, err := s.Tasks.CreateWorkflow(ctx, alice, tasks.WorkflowSpec{Name: "one", Shape: tasks.ShapeGroup,
		Steps: []tasks.StepSpec{{Name: "a", Kind: "test_echo", Args: json.RawMessage(`{"message":"x"}`)}}})
	require.NoError(t, err)
	step := w.Steps[0].TaskID
	pool := s.Schema.Pool

	// The workflow's lock, held: the step completer's statement waits for
	// it in its trigger, holding the step's row.
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	defer func() { _ = tx.Rollback(ctx) }()
	var holder int
	require.NoError(t, tx.QueryRow(ctx, `SELECT pg_backend_pid() FROM workflow WHERE id = $1 FOR UPDATE`, w.ID).Scan(&holder))

	events, stopEvents := s.Client.Subscribe(river.EventKindJobCompleted)
	defer stopEvents()
	require.NoError(t, s.Client.Start(ctx))
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		require.NoError(t, s.Client.Stop(sctx))
	})
	blockedBy := func(pid int) (blocked int) {
		require.NoError(t, pool.QueryRow(ctx, `SELECT coalesce(min(pid), 0) FROM pg_stat_activity
			WHERE $1 = ANY (pg_blocking_pids(pid))`, pid).Scan(&blocked))
		return blocked
	}
	var completer int
	require.Eventually(t, func() bool { completer = blockedBy(holder); return completer != 0 },
		10*time.Second, 10*time.Millisecond, "the step completer's statement never waited for the workflow")
	// River's completer completes what it has every 250 ms at the latest:
	// had it not waited, its statement would be waiting for the step's row.
	require.Never(t, func() bool { return blockedBy(completer) != 0 }, time.Second, 20*time.Millisecond,
		"River's completion ran while the step completer's statement held the step")

	require.NoError(t, tx.Rollback(ctx))
	select {
	case ev := <-events:
		require.Equal(t, step, ev.Job.ID)
		require.Equal(t, rivertype.JobStateCompleted, ev.Job.State, "River reports the step completed")
	case <-time.After(10 * time.Second):
		t.Fatal("River never reported the step's completion")
	}
	var open, total int
	require.NoError(t, pool.QueryRow(ctx, `SELECT steps_open, steps_total FROM workflow WHERE id = $1`, w.ID).Scan(&open, &total))
	require.Equal(t, []int{0, 1}, []int{open, total}, "the step is counted once")
}
