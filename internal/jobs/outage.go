package jobs

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/inboxq/inboxq/internal/inbox"
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
	err := doInner(ctx)
	if err == nil || ctx.Err() != nil || time.Since(job.CreatedAt) > OutageGrace {
		return err
	}
	if !errors.Is(err, inbox.ErrUnavailable) && !store.Unavailable(err) {
		return err
	}
	if m.Logger != nil {
		m.Logger.WarnContext(ctx, "job_snoozed_for_database_outage", slog.Int64("job_id", job.ID), slog.String("kind", job.Kind), slog.Any("err", err))
	}
	return river.JobSnooze(outageSnooze)
}
