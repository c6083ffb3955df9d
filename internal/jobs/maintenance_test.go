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

	"github.com/inboxq/inboxq/internal/auth"
	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/store"
)

// work runs one job of a worker through River's real executor, committed.
func work[T river.JobArgs](t *testing.T, s inboxqtest.Schema, w river.Worker[T], args T) *rivertype.JobRow {
	t.Helper()
	ctx := context.Background()
	tw := rivertest.NewWorker(t, riverpgxv5.New(s.Pool), &river.Config{Schema: s.Name}, w)
	tx, err := s.Pool.Begin(ctx)
	require.NoError(t, err)
	res, err := tw.Work(ctx, t, tx, args, nil)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))
	require.Equal(t, rivertype.JobStateCompleted, res.Job.State)
	return res.Job
}

func TestMonitorSystemHealthRecordsAndAlerts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	st := store.New(s.Pool)

	// A backed-up sync queue, a stuck job, and an old check to prune.
	_, err := s.Pool.Exec(ctx, `INSERT INTO river_job (kind, args, queue, state, scheduled_at, max_attempts, priority)
		VALUES ('x', '{}', 'sync', 'available', now() - interval '90 seconds', 1, 1),
		       ('x', '{}', 'sync', 'available', now(), 1, 1),
		       ('x', '{}', 'bulk', 'scheduled', now() + interval '1 hour', 1, 1)`)
	require.NoError(t, err)
	_, err = s.Pool.Exec(ctx, `INSERT INTO river_job (kind, args, queue, state, attempt, attempted_at, max_attempts, priority)
		VALUES ('x', '{}', 'bulk', 'running', 1, now() - interval '2 hours', 1, 1)`)
	require.NoError(t, err)
	_, err = s.Pool.Exec(ctx, `INSERT INTO health_check (checked_at, db_latency_us) VALUES (now() - interval '8 days', 1)`)
	require.NoError(t, err)

	th := jobs.DefaultHealthThresholds()
	th.QueueWait = time.Minute
	w := &jobs.MonitorSystemHealthWorker{Store: st, Thresholds: th}
	job := work(t, s, w, jobs.MonitorSystemHealthArgs{})

	var report jobs.HealthReport
	require.NoError(t, json.Unmarshal(job.Output(), &report))
	require.Positive(t, report.CheckID)
	require.Positive(t, report.DBLatencyUS)
	require.EqualValues(t, 1, report.PrunedChecks)
	require.EqualValues(t, 1, report.StuckJobs)
	byQueue := map[string]store.QueueDepth{}
	for _, d := range report.Queues {
		byQueue[d.Queue+"/"+d.State] = d
	}
	require.EqualValues(t, 2, byQueue["sync/available"].Jobs)
	require.InDelta(t, 90, byQueue["sync/available"].OldestWaitSeconds, 5)
	require.EqualValues(t, 1, byQueue["bulk/scheduled"].Jobs)
	require.ElementsMatch(t, []string{"health:stuck_jobs", "health:queue_wait:sync"}, report.AlertsRaised)

	// Admins see the alerts; a plain user does not.
	admin := inbox.Principal{UserID: 1, Role: inbox.RoleAdmin}
	alerts, err := st.AlertList(ctx, admin, false, 0, 50)
	require.NoError(t, err)
	require.Len(t, alerts, 2)
	none, err := st.AlertList(ctx, inbox.Principal{UserID: 1, Role: inbox.RoleUser}, false, 0, 50)
	require.NoError(t, err)
	require.Empty(t, none)

	// A persisting condition raises nothing new; a cleared one resolves.
	_, err = s.Pool.Exec(ctx, `DELETE FROM river_job WHERE queue = 'sync'`)
	require.NoError(t, err)
	job = work(t, s, w, jobs.MonitorSystemHealthArgs{})
	require.NoError(t, json.Unmarshal(job.Output(), &report))
	require.Empty(t, report.AlertsRaised)
	require.Equal(t, []string{"health:queue_wait:sync"}, report.AlertsResolved)
	alerts, err = st.AlertList(ctx, admin, false, 0, 50)
	require.NoError(t, err)
	require.Len(t, alerts, 2, "history kept")

	latest, err := st.HealthCheckLatest(ctx)
	require.NoError(t, err)
	require.Equal(t, report.CheckID, latest.ID)
}

func TestCleanupExpiredTokens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	st := store.New(s.Pool)
	a := auth.NewService(st)

	live, err := a.CreateToken(ctx, auth.CreateTokenParams{User: "alice"})
	require.NoError(t, err)
	expired, err := a.CreateToken(ctx, auth.CreateTokenParams{User: "alice", TTL: time.Millisecond})
	require.NoError(t, err)
	revokedLongAgo, err := a.CreateToken(ctx, auth.CreateTokenParams{User: "alice"})
	require.NoError(t, err)
	revokedToday, err := a.CreateToken(ctx, auth.CreateTokenParams{User: "alice"})
	require.NoError(t, err)
	_, err = s.Pool.Exec(ctx, "UPDATE api_token SET revoked_at = now() - interval '31 days' WHERE id = $1", revokedLongAgo.Token.ID)
	require.NoError(t, err)
	require.NoError(t, a.RevokeToken(ctx, revokedToday.Token.ID))
	time.Sleep(5 * time.Millisecond)
	// Workflows finished 8 days ago go; finished today or unfinished stay.
	owner, err := st.UserUpsert(ctx, "alice", inbox.RoleUser)
	require.NoError(t, err)
	var old, recent, open int64
	for _, id := range []*int64{&old, &recent, &open} {
		*id, _, err = st.WorkflowInsert(ctx, owner.UserID, "w", "stop", "", nil, 1)
		require.NoError(t, err)
	}
	_, err = s.Pool.Exec(ctx, `UPDATE workflow SET finished_at = CASE id WHEN $1 THEN now() - interval '8 days' ELSE now() END
		WHERE id IN ($1, $2)`, old, recent)
	require.NoError(t, err)

	job := work(t, s, &jobs.CleanupExpiredTokensWorker{Store: st}, jobs.CleanupExpiredTokensArgs{})
	var res jobs.CleanupTokensResult
	require.NoError(t, json.Unmarshal(job.Output(), &res))
	require.EqualValues(t, 2, res.Deleted)
	require.EqualValues(t, 1, res.WorkflowsDeleted)
	var ids []int64
	rows, err := s.Pool.Query(ctx, "SELECT id FROM workflow ORDER BY id")
	require.NoError(t, err)
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.Equal(t, []int64{recent, open}, ids)

	left, err := a.ListTokens(ctx, "alice")
	require.NoError(t, err)
	ids = ids[:0]
	for _, tk := range left {
		ids = append(ids, tk.ID)
	}
	require.ElementsMatch(t, []int64{live.Token.ID, revokedToday.Token.ID}, ids)
	_ = expired
}

func TestRegistryDecodesStrictlyAndSetsTheOwner(t *testing.T) {
	t.Parallel()
	reg := jobs.NewRegistry()
	inboxqtest.RegisterTestKinds(reg)
	k, ok := reg.Kind("test_echo")
	require.True(t, ok)
	require.True(t, k.Owned)
	require.Equal(t, inbox.QueueDefault, k.Opts.Queue)

	args, err := k.NewArgs(json.RawMessage(`{"message":"hi","owner_id":99}`), 7)
	require.NoError(t, err)
	require.Equal(t, inboxqtest.EchoArgs{Owned: jobs.Owned{OwnerID: 7}, Message: "hi"}, args, "the caller owns it, whatever the body says")
	_, err = k.NewArgs(json.RawMessage(`{"message":"hi","extra":1}`), 7)
	require.ErrorContains(t, err, "unknown field")
	require.Panics(t, func() { inboxqtest.RegisterTestKinds(reg) }, "a kind registers once")
}
