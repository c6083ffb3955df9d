package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/store"
)

// runningJob inserts a job left running by process by, attempted at
// attemptedAt with the given attempt, and returns its id.
func runningJob(t *testing.T, s inboxqtest.Schema, by string, attempt, maxAttempts int, attemptedAt time.Time, meta string) int64 {
	t.Helper()
	var id int64
	err := s.Pool.QueryRow(context.Background(), `
		INSERT INTO river_job (args, kind, queue, state, attempt, max_attempts, attempted_at, attempted_by, metadata, priority)
		VALUES ('{}', 'test_lease', 'default', 'running', $1, $2, $3, ARRAY['earlier', $4], $5, 2) RETURNING id`,
		attempt, maxAttempts, attemptedAt, by, meta).Scan(&id)
	require.NoError(t, err)
	return id
}

type jobState struct {
	State   string
	Attempt int
	Errors  int
}

func stateOf(t *testing.T, s inboxqtest.Schema, id int64) jobState {
	t.Helper()
	var js jobState
	require.NoError(t, s.Pool.QueryRow(context.Background(),
		`SELECT state::text, attempt, coalesce(array_length(errors, 1), 0) FROM river_job WHERE id = $1`, id).
		Scan(&js.State, &js.Attempt, &js.Errors))
	return js
}

// The reaper hands back exactly the jobs no process will finish: a dead
// process's (the attempt counts), a stopped process's and this process's
// own that it no longer runs (the attempt is given back), and cancels those
// whose cancel was asked. Live processes, processes it does not know and
// jobs fetched a moment ago are left alone.
func TestReapHandsBackOnlyLostJobs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	st := store.New(s.Pool)
	old := time.Now().Add(-time.Minute)

	require.NoError(t, st.WorkerHeartbeat(ctx, "dead", "h", 1))
	require.NoError(t, st.WorkerHeartbeat(ctx, "alive", "h", 2))
	require.NoError(t, st.WorkerHeartbeat(ctx, "stopped", "h", 3))
	require.NoError(t, st.WorkerHeartbeat(ctx, "me", "h", 4))
	require.NoError(t, st.WorkerStopped(ctx, "stopped"))
	_, err := s.Pool.Exec(ctx, `UPDATE inboxq_worker SET heartbeat_at = now() - interval '2 minutes' WHERE client_id = 'dead'`)
	require.NoError(t, err)

	cases := []struct {
		name string
		id   int64
		want jobState
	}{
		{"dead process: available, attempt counts", runningJob(t, s, "dead", 2, 5, old, `{}`), jobState{"available", 2, 1}},
		{"dead process, last attempt: discarded", runningJob(t, s, "dead", 5, 5, old, `{}`), jobState{"discarded", 5, 1}},
		{"dead process, cancel asked: cancelled", runningJob(t, s, "dead", 2, 5, old, `{"cancel_attempted_at":"2026-01-01T00:00:00Z"}`), jobState{"cancelled", 2, 1}},
		{"stopped process: available, attempt given back", runningJob(t, s, "stopped", 2, 5, old, `{}`), jobState{"available", 1, 0}},
		{"live process: untouched", runningJob(t, s, "alive", 2, 5, old, `{}`), jobState{"running", 2, 0}},
		{"unknown process: left to River", runningJob(t, s, "unknown", 2, 5, old, `{}`), jobState{"running", 2, 0}},
		{"mine, not running here: available", runningJob(t, s, "me", 1, 5, old, `{}`), jobState{"available", 0, 0}},
		{"mine, fetched a moment ago: untouched", runningJob(t, s, "me", 1, 5, time.Now(), `{}`), jobState{"running", 1, 0}},
	}
	busy := runningJob(t, s, "me", 1, 5, old, `{}`)

	reaped, err := st.WorkerJobsReap(ctx, store.ReapParams{Me: "me", Busy: []int64{busy}, Grace: 10 * time.Second, DeadAfter: 30 * time.Second})
	require.NoError(t, err)
	require.Len(t, reaped, 5)
	for _, c := range cases {
		require.Equal(t, c.want, stateOf(t, s, c.id), c.name)
	}
	require.Equal(t, jobState{"running", 1, 0}, stateOf(t, s, busy), "mine and running here: untouched")

	again, err := st.WorkerJobsReap(ctx, store.ReapParams{Me: "me", Busy: []int64{busy}, Grace: 10 * time.Second, DeadAfter: 30 * time.Second})
	require.NoError(t, err)
	require.Empty(t, again, "a handed-back job is not handed back twice")
}

type leaseArgs struct {
	jobs.Owned
}

func (leaseArgs) Kind() string { return "test_lease_block" }

// leaseWorker blocks until its context ends, and reports that it started.
type leaseWorker struct {
	river.WorkerDefaults[leaseArgs]
	started chan int64
}

func (w leaseWorker) Work(ctx context.Context, job *river.Job[leaseArgs]) error {
	w.started <- job.ID
	<-ctx.Done()
	return ctx.Err()
}

func (leaseWorker) Timeout(*river.Job[leaseArgs]) time.Duration { return -1 }

// A process whose heartbeat cannot reach the database fences itself: it
// cancels its running jobs before another process may take them over, and
// they snooze without spending an attempt. Its /readyz-facing Ready says so.
func TestLeaseFencesJobsWhenTheHeartbeatFails(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	st := store.New(s.Pool)

	// The lease beats through its own pool, which the test then closes:
	// the database stays up for River, only the heartbeat is cut.
	leasePool, err := store.Connect(ctx, inboxqtest.DatabaseURL(), store.ConnectOptions{Schema: s.Name, MaxConns: 2})
	require.NoError(t, err)
	lease := jobs.NewLease(store.New(leasePool), jobs.LeaseConfig{
		ClientID: jobs.NewClientID(), Beat: 100 * time.Millisecond, DeadAfter: 3 * time.Second, FenceAfter: time.Second,
	}, inboxqtest.Logger(t))

	started := make(chan int64, 1)
	reg := jobs.NewRegistry()
	jobs.Add(reg, leaseWorker{started: started}, jobs.Info{Description: "test"})
	client, err := jobs.NewClient(st, reg, jobs.Config{Schema: s.Name, Lease: lease, Workers: map[string]int{"default": 1}, Logger: inboxqtest.Logger(t)})
	require.NoError(t, err)
	require.NoError(t, lease.Start(ctx))
	require.NoError(t, client.Start(ctx))
	t.Cleanup(func() { _ = client.Stop(ctx); lease.Stop() })

	res, err := client.Insert(ctx, leaseArgs{Owned: jobs.Owned{OwnerID: 1}}, &river.InsertOpts{MaxAttempts: 1})
	require.NoError(t, err)
	require.Equal(t, res.Job.ID, inboxqtest.WaitOrTimeout(t, started, 30*time.Second))
	require.NoError(t, lease.Ready(ctx))

	leasePool.Close()
	require.Eventually(t, func() bool { return stateOf(t, s, res.Job.ID).State != "running" }, 30*time.Second, 20*time.Millisecond)
	got := stateOf(t, s, res.Job.ID)
	require.Contains(t, []string{"scheduled", "available"}, got.State, "snoozed, not failed")
	require.Equal(t, 0, got.Attempt, "no attempt spent: max_attempts was 1")
	require.Error(t, lease.Ready(ctx))
}

// After a database outage every heartbeat is stale, the live processes'
// too: a process judges another dead only once its own heartbeats have
// reached the database for DeadAfter, time the other had to beat as well.
func TestLeaseJudgesOthersOnlyAfterBeatingForDeadAfter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	st := store.New(s.Pool)
	require.NoError(t, st.WorkerHeartbeat(ctx, "silent", "h", 1))
	_, err := s.Pool.Exec(ctx, `UPDATE inboxq_worker SET heartbeat_at = now() - interval '1 hour' WHERE client_id = 'silent'`)
	require.NoError(t, err)
	id := runningJob(t, s, "silent", 1, 5, time.Now().Add(-time.Hour), `{}`)

	const deadAfter = 2 * time.Second
	lease := jobs.NewLease(st, jobs.LeaseConfig{ClientID: "judge", Beat: 50 * time.Millisecond, DeadAfter: deadAfter}, inboxqtest.Logger(t))
	began := time.Now()
	require.NoError(t, lease.Start(ctx))
	t.Cleanup(lease.Stop)

	require.Eventually(t, func() bool { return stateOf(t, s, id).State == "available" }, 60*time.Second, 20*time.Millisecond)
	require.GreaterOrEqual(t, time.Since(began), deadAfter, "judged before its own heartbeats had run for DeadAfter")
}

// The first heartbeat is in the database when Start returns, before River
// (started after the lease) can fetch a job: a process killed right after
// its first fetch is then one the others see die and hand back, not one
// whose jobs wait minutes for River's rescuer (found by the workflow kill
// test in cmd/inboxq).
func TestLeaseBeatsBeforeStartReturns(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	id := jobs.NewClientID()
	lease := jobs.NewLease(store.New(s.Pool), jobs.LeaseConfig{ClientID: id, Beat: time.Hour}, inboxqtest.Logger(t))
	require.NoError(t, lease.Start(ctx))
	t.Cleanup(lease.Stop)
	var n int
	require.NoError(t, s.Pool.QueryRow(ctx, "SELECT count(*) FROM inboxq_worker WHERE client_id = $1", id).Scan(&n))
	require.Equal(t, 1, n, "no heartbeat row when Start returned")
	require.NoError(t, lease.Ready(ctx))
}
