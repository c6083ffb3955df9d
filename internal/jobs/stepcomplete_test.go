package jobs_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

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
