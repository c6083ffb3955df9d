package jobs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/progress"
	"github.com/inboxq/inboxq/internal/store"
)

// OutageMiddleware keeps database outages from spending attempts: an
// attempt that failed because PostgreSQL was unreachable or restarting (a
// lost connection, a refused one, a server shutting down) is not the job's
// failure. It snoozes, without spending an attempt, and continues from its
// checkpoint once the database is back. The bound: a job keeps being
// forgiven only while it is younger than OutageGrace; after that an outage
// counts like any error, so a job that can never succeed still ends.
type OutageMiddleware struct {
	river.MiddlewareDefaults
	Logger *slog.Logger
}

// OutageGrace is how long after its creation a job's database outages are
// forgiven.
const OutageGrace = 24 * time.Hour

// outageSnooze is how long a job waits for the database to come back.
const outageSnooze = 5 * time.Second

// Work implements rivertype.WorkerMiddleware.
func (m *OutageMiddleware) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	return forgiveOutage(ctx, job, m.Logger, doInner(ctx))
}

// forgiveOutage turns an attempt's error that a database outage caused
// into a snooze, within OutageGrace.
func forgiveOutage(ctx context.Context, job *rivertype.JobRow, logger *slog.Logger, err error) error {
	if err == nil || ctx.Err() != nil || time.Since(job.CreatedAt) > OutageGrace {
		return err
	}
	if !errors.Is(err, inbox.ErrUnavailable) && !store.Unavailable(err) {
		return err
	}
	if logger != nil {
		logger.WarnContext(ctx, "job_snoozed_for_database_outage", slog.Int64("job_id", job.ID), slog.String("kind", job.Kind), slog.Any("err", err))
	}
	return river.JobSnooze(outageSnooze)
}

// Step and CursorStep wrap the function of one of River's resumable steps
// (river.ResumableStep, river.ResumableStepCursor) so that the rules the
// middleware applies to a failed attempt also apply to an error returned
// inside the step: a database outage snoozes (OutageMiddleware), and so
// does the timeout of a slice that made progress (progress.Middleware).
// River keeps a step's error in its own state and reports it from its
// resumable plugin, which runs outside every configured middleware: the
// middleware sees such an attempt return nil. Every step of a worker is
// wrapped so.
func Step(job *rivertype.JobRow, logger *slog.Logger, f func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error { return stepRules(ctx, job, logger, f(ctx)) }
}

// CursorStep is Step for river.ResumableStepCursor.
func CursorStep[C any](job *rivertype.JobRow, logger *slog.Logger, f func(context.Context, C) error) func(context.Context, C) error {
	return func(ctx context.Context, cur C) error { return stepRules(ctx, job, logger, f(ctx, cur)) }
}

func stepRules(ctx context.Context, job *rivertype.JobRow, logger *slog.Logger, err error) error {
	err = forgiveOutage(ctx, job, logger, progress.Overran(ctx, err))
	if err != nil {
		// River applies it after every middleware has returned nil.
		progress.NoteFailure(ctx)
	}
	return err
}
