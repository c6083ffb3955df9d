package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/tasks"
)

// flakyDBArgs: the first attempt fails the way a query does when the
// server restarts or the connection drops.
type flakyDBArgs struct {
	jobs.Owned
	Outage bool `json:"outage"`
}

func (flakyDBArgs) Kind() string { return "test_flaky_db" }

func (flakyDBArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 2} }

type flakyDBWorker struct {
	river.WorkerDefaults[flakyDBArgs]
}

func (flakyDBWorker) Work(_ context.Context, job *river.Job[flakyDBArgs]) error {
	if len(job.AttemptedBy) > 1 {
		return nil
	}
	if job.Args.Outage {
		return fmt.Errorf("storing page: %w", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"})
	}
	return fmt.Errorf("storing page: %w", &pgconn.PgError{Code: "23502", Message: "null value in column"})
}

// A database outage is not the job's failure: it snoozes and continues
// without spending an attempt. Any other error still spends one.
func TestDatabaseOutagesSpendNoAttempts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true,
		Kinds: func(r *jobs.Registry) { jobs.Add(r, flakyDBWorker{}, jobs.Info{Description: "test"}) }})
	u, _ := s.User(t, "u", false)

	outage, _, err := s.Tasks.Create(ctx, u, tasks.CreateParams{Kind: "test_flaky_db", Args: json.RawMessage(`{"outage":true}`)})
	require.NoError(t, err)
	done := s.WaitTask(t, outage.ID, 30*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	require.Empty(t, done.Errors, "the outage cost no attempt")

	broken, _, err := s.Tasks.Create(ctx, u, tasks.CreateParams{Kind: "test_flaky_db", Args: json.RawMessage(`{"outage":false}`)})
	require.NoError(t, err)
	failed := s.WaitTask(t, broken.ID, 30*time.Second, func(t inbox.Task) bool { return len(t.Errors) > 0 })
	require.Contains(t, failed.Errors[0].Error, "null value")
}

// flakyStepArgs: the outage strikes inside a resumable step, where the
// sync, bulk, metadata and export workers do their work.
type flakyStepArgs struct {
	jobs.Owned
}

func (flakyStepArgs) Kind() string { return "test_flaky_step" }

func (flakyStepArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 2} }

type flakyStepWorker struct {
	river.WorkerDefaults[flakyStepArgs]
}

func (flakyStepWorker) Work(ctx context.Context, job *river.Job[flakyStepArgs]) error {
	river.ResumableStepCursor(ctx, "pages", nil, jobs.CursorStep(job.JobRow, nil, func(ctx context.Context, page int) error {
		if len(job.AttemptedBy) > 1 {
			return nil
		}
		return fmt.Errorf("storing page: %w", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"})
	}))
	return nil
}

// River keeps a step's error to itself and reports it from outside every
// middleware: inside a step (wrapped by jobs.CursorStep, as every worker's
// steps are) an outage spends no attempt either.
func TestDatabaseOutagesInsideAStepSpendNoAttempts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true,
		Kinds: func(r *jobs.Registry) { jobs.Add(r, flakyStepWorker{}, jobs.Info{Description: "test"}) }})
	u, _ := s.User(t, "u", false)
	task, _, err := s.Tasks.Create(ctx, u, tasks.CreateParams{Kind: "test_flaky_step", Args: json.RawMessage(`{}`)})
	require.NoError(t, err)
	done := s.WaitTask(t, task.ID, 30*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	require.Empty(t, done.Errors, "the outage cost no attempt")
}
