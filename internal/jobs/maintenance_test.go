package jobs_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/store"
)

func TestMonitorSystemHealthRecordsACheck(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	st := store.New(s.Pool)

	// Some queued work for the monitor to see, and an old check to prune.
	_, err := s.Pool.Exec(ctx, `INSERT INTO river_job (kind, args, queue, state, scheduled_at, max_attempts, priority)
		VALUES ('x', '{}', 'sync', 'available', now() - interval '90 seconds', 1, 1),
		       ('x', '{}', 'sync', 'available', now(), 1, 1),
		       ('x', '{}', 'bulk', 'scheduled', now() + interval '1 hour', 1, 1)`)
	require.NoError(t, err)
	_, err = s.Pool.Exec(ctx, `INSERT INTO health_check (checked_at, db_latency_us) VALUES (now() - interval '8 days', 1)`)
	require.NoError(t, err)

	worker := rivertest.NewWorker(t, riverpgxv5.New(s.Pool), &river.Config{Schema: s.Name}, &jobs.MonitorSystemHealthWorker{Store: st})
	tx, err := s.Pool.Begin(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = tx.Rollback(ctx) })
	res, err := worker.Work(ctx, t, tx, jobs.MonitorSystemHealthArgs{}, nil)
	require.NoError(t, err)
	require.Equal(t, river.EventKindJobCompleted, res.EventKind)
	require.Equal(t, rivertype.JobStateCompleted, res.Job.State)

	var report jobs.HealthReport
	require.NoError(t, json.Unmarshal(res.Job.Output(), &report))
	require.Positive(t, report.CheckID)
	require.Positive(t, report.DBLatencyUS)
	require.EqualValues(t, 1, report.PrunedChecks)
	byQueue := map[string]store.QueueDepth{}
	for _, d := range report.Queues {
		byQueue[d.Queue+"/"+d.State] = d
	}
	require.EqualValues(t, 2, byQueue["sync/available"].Jobs)
	require.InDelta(t, 90, byQueue["sync/available"].OldestWaitSeconds, 5)
	require.EqualValues(t, 1, byQueue["bulk/scheduled"].Jobs)

	// Health checks land on the maintenance queue, one per minute at most.
	opts := jobs.MonitorSystemHealthArgs{}.InsertOpts()
	require.Equal(t, inbox.QueueMaintenance, opts.Queue)
	require.Equal(t, time.Minute, opts.UniqueOpts.ByPeriod)
}
