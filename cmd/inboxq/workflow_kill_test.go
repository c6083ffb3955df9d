package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/store"
)

// Recording kinds for TestWorkflowStepsRunOnceUnderKilledWorkers. Each run
// records its start (committed at once, so a run a kill interrupts leaves
// its start behind) and then, in ONE transaction, records its completion
// and completes its job: a completion is recorded exactly when the job
// completes. The side tables (wfk_start, wfk_done) exist only in that
// test's schema.

type recordArgs struct {
	jobs.Owned
	Tag string `json:"tag"`
}

func (recordArgs) Kind() string { return "test_wfk_record" }

// InsertOpts gives many attempts: each kill of a run costs one.
func (recordArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: inbox.QueueDefault, MaxAttempts: 100}
}

type recordWorker struct {
	river.WorkerDefaults[recordArgs]
	st *store.Store
}

func (w *recordWorker) Work(ctx context.Context, job *river.Job[recordArgs]) error {
	if err := recordStart(ctx, w.st, job.ID, job.Attempt); err != nil {
		return err
	}
	return w.st.InTx(ctx, func(tx pgx.Tx, _ *store.Store) error {
		if err := recordDone(ctx, tx, job.ID, job.Attempt); err != nil {
			return err
		}
		_, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job)
		return err
	})
}

// plainArgs is a step River's completer completes (its worker returns
// nil): its completion is recorded (tx = false) before it returns, so a
// kill between the two may record it twice, legitimately. What must hold
// for it: completed once (no run starts after its step finished).
type plainArgs struct {
	jobs.Owned
	Tag string `json:"tag"`
}

func (plainArgs) Kind() string { return "test_wfk_plain" }

func (plainArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: inbox.QueueDefault, MaxAttempts: 100}
}

type plainWorker struct {
	river.WorkerDefaults[plainArgs]
	st *store.Store
}

func (w *plainWorker) Work(ctx context.Context, job *river.Job[plainArgs]) error {
	if err := recordStart(ctx, w.st, job.ID, job.Attempt); err != nil {
		return err
	}
	_, err := w.st.Pool().Exec(ctx, "INSERT INTO wfk_done (job_id, attempt, pid, tx) VALUES ($1, $2, $3, false)", job.ID, job.Attempt, os.Getpid())
	return err
}

// recordFanoutArgs grows its workflow by N recording steps and a chain of
// two, and completes, in one transaction with its completion record.
type recordFanoutArgs struct {
	jobs.Owned
	N int `json:"n"`
}

func (recordFanoutArgs) Kind() string { return "test_wfk_fanout" }

func (recordFanoutArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: inbox.QueueDefault, MaxAttempts: 100}
}

type recordFanoutWorker struct {
	river.WorkerDefaults[recordFanoutArgs]
	st  *store.Store
	reg *jobs.Registry
}

func (w *recordFanoutWorker) Work(ctx context.Context, job *river.Job[recordFanoutArgs]) error {
	if err := recordStart(ctx, w.st, job.ID, job.Attempt); err != nil {
		return err
	}
	n := job.Args.N
	add := make([]jobs.GrowStep, 0, n+2)
	for i := range n {
		add = append(add, jobs.GrowStep{Name: fmt.Sprintf("leaf-%d", i), Args: recordArgs{Owned: job.Args.Owned, Tag: "leaf"}})
	}
	add = append(add,
		jobs.GrowStep{Name: "grown-a", Args: recordArgs{Owned: job.Args.Owned, Tag: "grown-a"}},
		jobs.GrowStep{Name: "grown-b", Args: recordArgs{Owned: job.Args.Owned, Tag: "grown-b"}, Deps: []int{n}})
	return w.st.InTx(ctx, func(tx pgx.Tx, _ *store.Store) error {
		if err := recordDone(ctx, tx, job.ID, job.Attempt); err != nil {
			return err
		}
		return jobs.CompleteGrowingTx(ctx, tx, w.reg, job.JobRow, add)
	})
}

// recordStart commits the start of a run, then sleeps a few to tens of
// milliseconds so that kills land mid-run.
func recordStart(ctx context.Context, st *store.Store, id int64, attempt int) error {
	if _, err := st.Pool().Exec(ctx, "INSERT INTO wfk_start (job_id, attempt, pid) VALUES ($1, $2, $3)", id, attempt, os.Getpid()); err != nil {
		return err
	}
	select {
	case <-time.After(time.Duration(2+rand.IntN(60)) * time.Millisecond):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func recordDone(ctx context.Context, tx pgx.Tx, id int64, attempt int) error {
	_, err := tx.Exec(ctx, "INSERT INTO wfk_done (job_id, attempt, pid) VALUES ($1, $2, $3)", id, attempt, os.Getpid())
	return err
}

// registerRecordKinds adds the recording kinds (every helper worker has
// them; only the workflow kill test inserts them).
func registerRecordKinds(r *jobs.Registry, st *store.Store) {
	jobs.Add(r, &recordWorker{st: st}, jobs.Info{Description: "test: records its run and completion"})
	jobs.Add(r, &plainWorker{st: st}, jobs.Info{Description: "test: records its run, River completes it"})
	jobs.Add(r, &recordFanoutWorker{st: st, reg: r}, jobs.Info{Description: "test: grows its workflow, records"})
}

type killProc struct {
	cmd     *exec.Cmd
	out     *syncBuffer
	started time.Time
}

// TestWorkflowStepsRunOnceUnderKilledWorkers works several workflows (a
// 200-step chord, chains, fan-outs that grow their workflow and a fan-in
// after them) with three worker processes racing, SIGKILLs a random one at
// random instants and starts a replacement, until every workflow has
// finished. Then: every step completed, its completion recorded exactly
// once; every step with dependencies started (each of its runs) only after
// the last of them completed; nothing of these workflows is left to run.
func TestWorkflowStepsRunOnceUnderKilledWorkers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	st := store.New(s.Pool)
	_, err := s.Pool.Exec(ctx, `
		CREATE TABLE wfk_start (id bigserial PRIMARY KEY, job_id bigint NOT NULL, attempt int NOT NULL, pid int NOT NULL,
		                        at timestamptz NOT NULL DEFAULT clock_timestamp());
		CREATE TABLE wfk_done  (id bigserial PRIMARY KEY, job_id bigint NOT NULL, attempt int NOT NULL, pid int NOT NULL,
		                        at timestamptz NOT NULL DEFAULT clock_timestamp(),
		                        tx boolean NOT NULL DEFAULT true) -- recorded in the transaction that completed the job`)
	require.NoError(t, err)

	reg := jobs.NewRegistry()
	registerRecordKinds(reg, st)
	client, err := jobs.NewClient(st, reg, jobs.Config{Schema: s.Name})
	require.NoError(t, err)
	recordKind, _ := reg.Kind("test_wfk_record")
	plainKind, _ := reg.Kind("test_wfk_plain")
	fanoutKind, _ := reg.Kind("test_wfk_fanout")

	// One owner per workflow: fair share caps each owner, not the lot.
	const fanoutN = 30
	owner := func(name string) int64 {
		p, err := st.UserUpsert(ctx, name, inbox.RoleUser)
		require.NoError(t, err)
		return p.UserID
	}
	rec := func(o int64, name string, deps ...int) jobs.GraphStep {
		return jobs.GraphStep{NewStep: jobs.NewStep{Name: name, Kind: recordKind, Args: recordArgs{Owned: jobs.Owned{OwnerID: o}, Tag: name}}, Deps: deps}
	}
	plain := func(o int64, name string) jobs.GraphStep {
		return jobs.GraphStep{NewStep: jobs.NewStep{Name: name, Kind: plainKind, Args: plainArgs{Owned: jobs.Owned{OwnerID: o}, Tag: name}}}
	}
	// Chords: one of 200 steps, and three of 40 whose steps River's
	// completer completes in batches that span workflows (and processes).
	var graphs []jobs.Graph
	for c, size := range []int{200, 40, 40, 40} {
		o := owner(fmt.Sprintf("chord%d", c))
		g := jobs.Graph{Owner: o, Name: "chord", Policy: "stop"}
		var all []int
		for i := range size {
			if i%2 == 1 || c > 0 {
				g.Steps = append(g.Steps, plain(o, fmt.Sprintf("g%d", i)))
			} else {
				g.Steps = append(g.Steps, rec(o, fmt.Sprintf("g%d", i)))
			}
			all = append(all, i)
		}
		g.Steps = append(g.Steps, rec(o, "callback", all...))
		graphs = append(graphs, g)
	}
	for c := range 2 {
		o := owner(fmt.Sprintf("chain%d", c))
		g := jobs.Graph{Owner: o, Name: "chain", Policy: "stop"}
		for i := range 20 {
			if i == 0 {
				g.Steps = append(g.Steps, rec(o, "c0"))
			} else {
				g.Steps = append(g.Steps, rec(o, fmt.Sprintf("c%d", i), i-1))
			}
		}
		graphs = append(graphs, g)
	}
	for f := range 2 {
		o := owner(fmt.Sprintf("fanout%d", f))
		g := jobs.Graph{Owner: o, Name: "fanout", Policy: "stop"}
		g.Steps = append(g.Steps, rec(o, "prep"),
			jobs.GraphStep{NewStep: jobs.NewStep{Name: "fanout", Kind: fanoutKind, Args: recordFanoutArgs{Owned: jobs.Owned{OwnerID: o}, N: fanoutN}}, Deps: []int{0}},
			rec(o, "side"),
			rec(o, "fanin", 1, 2))
		graphs = append(graphs, g)
	}
	wantSteps := 0
	var ids []int64
	for _, g := range graphs {
		require.NoError(t, st.InTx(ctx, func(tx pgx.Tx, st *store.Store) error {
			id, _, err := jobs.InsertWorkflow(ctx, tx, st, client, g)
			ids = append(ids, id)
			return err
		}))
		wantSteps += len(g.Steps)
		if g.Name == "fanout" {
			wantSteps += fanoutN + 2
		}
	}

	env := append(helperEnv(t, s, "2s"), "INBOXQ_HELPER_LEASE=1", "INBOXQ_WORKERS_DEFAULT=6", "INBOXQ_USER_CAP=4", "INBOXQ_LOG_LEVEL=warn")
	start := func() *killProc {
		cmd, out := startHelper(t, env...)
		return &killProc{cmd: cmd, out: out, started: time.Now()}
	}
	var procs, dead []*killProc
	for range 3 {
		procs = append(procs, start())
	}

	unfinished := func() int {
		var n int
		require.NoError(t, s.Pool.QueryRow(ctx, "SELECT count(*) FROM workflow WHERE id = ANY ($1) AND finished_at IS NULL", ids).Scan(&n))
		return n
	}
	// The killer: SIGKILL a random worker every 0.3-1.5 s and start a
	// replacement. The lease hands a dead process's jobs back only from a
	// process that has beaten for its DeadAfter (3 s here): the killer
	// spares the one process that has, if only one has, so that someone is
	// always there, or soon, to judge.
	const veteran = 4 * time.Second
	began := time.Now()
	deadline := began.Add(3 * time.Minute)
	kills := 0
	lastOpen, lastMove, stalls := -1, time.Now(), 0
	for unfinished() > 0 {
		// A stall (no step finished for 10 s) is logged with what holds it.
		var open int
		require.NoError(t, s.Pool.QueryRow(ctx, "SELECT sum(steps_open) FROM workflow WHERE id = ANY ($1)", ids).Scan(&open))
		if open != lastOpen {
			lastOpen, lastMove = open, time.Now()
		} else if time.Since(lastMove) > 10*time.Second {
			stalls++
			t.Logf("stall: no step finished for %s, %d open", time.Since(lastMove).Round(time.Second), open)
			dumpRunning(t, s)
			lastMove = time.Now()
		}
		if time.Now().After(deadline) {
			dumpWorkflows(t, s, ids)
			t.Fatalf("the workflows did not finish within %s (%d kills)", deadline.Sub(began), kills)
		}
		time.Sleep(time.Duration(300+rand.IntN(1200)) * time.Millisecond)
		if unfinished() == 0 {
			break
		}
		victim := rand.IntN(len(procs))
		var veterans []int
		for i, p := range procs {
			if time.Since(p.started) > veteran {
				veterans = append(veterans, i)
			}
		}
		if len(veterans) == 1 && veterans[0] == victim {
			victim = (victim + 1 + rand.IntN(len(procs)-1)) % len(procs)
		}
		p := procs[victim]
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGKILL))
		_ = p.cmd.Wait()
		kills++
		dead = append(dead, p)
		procs[victim] = start()
	}
	elapsed := time.Since(began)
	for _, p := range procs {
		require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
		_ = p.cmd.Wait()
	}
	// Jobs the lease handed back: of a dead process (crashed), or of a
	// live one that no longer ran them (orphaned).
	handedBack, orphaned := 0, 0
	for _, p := range append(procs, dead...) {
		handedBack += strings.Count(p.out.String(), "job_handed_back")
		orphaned += strings.Count(p.out.String(), "worker_crashed=false")
	}

	// Every workflow completed, every step completed.
	var n int
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM workflow WHERE id = ANY ($1)
		AND (finished_at IS NULL OR steps_open <> 0 OR steps_failed <> 0 OR cancelled_at IS NOT NULL)`, ids).Scan(&n))
	if n != 0 {
		dumpWorkflows(t, s, ids)
	}
	require.Zero(t, n, "workflows not completed")
	var steps, total int
	require.NoError(t, s.Pool.QueryRow(ctx, "SELECT count(*) FROM workflow_step WHERE workflow_id = ANY ($1)", ids).Scan(&steps))
	require.NoError(t, s.Pool.QueryRow(ctx, "SELECT sum(steps_total) FROM workflow WHERE id = ANY ($1)", ids).Scan(&total))
	require.Equal(t, wantSteps, steps, "each fan-out grew its workflow once")
	require.Equal(t, wantSteps, total)
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM workflow_step WHERE workflow_id = ANY ($1)
		AND outcome IS DISTINCT FROM 'completed'`, ids).Scan(&n))
	require.Zero(t, n, "steps whose outcome is not completed")
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE (metadata ->> 'workflow_id')::bigint = ANY ($1)
		AND state <> 'completed'`, ids).Scan(&n))
	require.Zero(t, n, "jobs of the workflows left not completed (pending, available, running...)")

	// Each step's completion recorded exactly once, and only steps'.
	var missing, duplicated, strays int
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM workflow_step x WHERE x.workflow_id = ANY ($1)
		AND NOT EXISTS (SELECT 1 FROM wfk_done d WHERE d.job_id = x.job_id)`, ids).Scan(&missing))
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT coalesce(sum(c - 1), 0) FROM
		(SELECT count(*) AS c FROM wfk_done WHERE tx GROUP BY job_id HAVING count(*) > 1) d`).Scan(&duplicated))
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM wfk_done d
		WHERE NOT EXISTS (SELECT 1 FROM workflow_step x WHERE x.job_id = d.job_id)`).Scan(&strays))
	require.Zero(t, missing, "steps without a recorded completion (lost)")
	require.Zero(t, duplicated, "completions recorded twice")
	require.Zero(t, strays)
	// No run of a step started after the step finished (completed once;
	// for the steps River's completer completes, this is what shows it).
	var late, plainSteps, plainDup int
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM workflow_step x JOIN wfk_start a ON a.job_id = x.job_id
		WHERE x.workflow_id = ANY ($1) AND a.at >= x.finished_at`, ids).Scan(&late))
	require.Zero(t, late, "runs started after their step had finished")
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM workflow_step WHERE workflow_id = ANY ($1) AND kind = 'test_wfk_plain'`, ids).Scan(&plainSteps))
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) - count(DISTINCT job_id) FROM wfk_done WHERE NOT tx`).Scan(&plainDup))

	// A step with dependencies (the chord's callback, chain links, the
	// fan-ins, grown-b) started, every run of it, after the last of its
	// dependencies completed: released once every one had, not before.
	rows, err := s.Pool.Query(ctx, `
		SELECT x.workflow_id, x.name, (SELECT min(a.at) FROM wfk_start a WHERE a.job_id = x.job_id) AS first_start,
		       (SELECT greatest(max(d.at), max(y.finished_at)) FROM workflow_step y JOIN wfk_done d ON d.job_id = y.job_id
		        WHERE y.workflow_id = x.workflow_id AND y.step = ANY (x.deps)) AS last_dep
		FROM workflow_step x
		WHERE x.workflow_id = ANY ($1) AND cardinality(x.deps) > 0`, ids)
	require.NoError(t, err)
	withDeps := 0
	for rows.Next() {
		var wf int64
		var name string
		var firstStart, lastDep *time.Time
		require.NoError(t, rows.Scan(&wf, &name, &firstStart, &lastDep))
		require.NotNil(t, firstStart, "workflow %d step %s never started", wf, name)
		require.NotNil(t, lastDep, "workflow %d step %s: no dependency completion recorded", wf, name)
		require.True(t, firstStart.After(*lastDep), "workflow %d step %s started at %s, before its last dependency completed at %s",
			wf, name, firstStart, lastDep)
		withDeps++
	}
	require.NoError(t, rows.Err())
	require.Equal(t, 4+2*19+2*(fanoutN+4), withDeps) // callbacks; chain links; fanout, fanin, leaves, grown-a, grown-b
	// The callback and the fan-ins ran to completion once (above) and
	// waited for everything: the fan-in's dependencies include every step
	// the fan-out added that nothing else waits for.
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM workflow_step x JOIN workflow w ON w.id = x.workflow_id
		WHERE x.workflow_id = ANY ($1) AND w.name = 'fanout' AND x.name = 'fanin' AND cardinality(x.deps) = 2 + $2 + 1`,
		ids, fanoutN).Scan(&n))
	require.Equal(t, 2, n, "each fan-in waits for the fan-out, the side step, the %d leaves and grown-b", fanoutN)

	var starts, interrupted, deadlocks, completerErrors, leftToRiver int
	// Two processes' completers finishing steps of several workflows in one
	// statement each can deadlock on the workflow rows (the trigger locks
	// them in the batch's order, which is random): River retries the batch.
	// Counted and shown, not failed: nothing is lost or finished twice.
	for _, p := range append(procs, dead...) {
		for _, line := range strings.Split(p.out.String(), "\n") {
			if strings.Contains(line, "deadlock detected") || strings.Contains(line, "Completer error") {
				t.Logf("  worker: %s", line)
			}
		}
		deadlocks += strings.Count(p.out.String(), "deadlock detected")
		leftToRiver += strings.Count(p.out.String(), "workflow_steps_left_to_river")
		completerErrors += strings.Count(p.out.String(), "Completer error")
	}
	require.NoError(t, s.Pool.QueryRow(ctx, "SELECT count(*) FROM wfk_start").Scan(&starts))
	require.NoError(t, s.Pool.QueryRow(ctx, `SELECT count(*) FROM wfk_start a
		WHERE NOT EXISTS (SELECT 1 FROM wfk_done d WHERE d.job_id = a.job_id AND d.attempt = a.attempt)`).Scan(&interrupted))
	t.Logf("%d workflows, %d steps finished in %s with %d SIGKILLs (%d jobs handed back by the lease, %d of them orphans of a live process); "+
		"%d runs started, %d repeated (%d interrupted by a kill), %d completions duplicated; "+
		"%d steps completed as their worker returned (by the step completer or River's; %d recorded twice: killed between their work and its commit); "+
		"%d deadlocks, %d completer errors and %d step completions left to River in the workers' logs; %d stalls of 10 s",
		len(ids), steps, elapsed.Round(100*time.Millisecond), kills, handedBack, orphaned, starts, starts-steps, interrupted, duplicated,
		plainSteps, plainDup, deadlocks, completerErrors, leftToRiver, stalls)
	rows, err = s.Pool.Query(ctx, `SELECT w.name, w.id, extract(epoch FROM w.finished_at - w.created_at),
		(SELECT count(*) FROM wfk_start a JOIN workflow_step x ON x.job_id = a.job_id WHERE x.workflow_id = w.id)
		FROM workflow w WHERE w.id = ANY ($1) ORDER BY w.id`, ids)
	require.NoError(t, err)
	for rows.Next() {
		var name string
		var id int64
		var secs float64
		var runs int
		require.NoError(t, rows.Scan(&name, &id, &secs, &runs))
		t.Logf("  workflow %d %s finished %.1fs after its creation, %d runs", id, name, secs, runs)
	}
	require.NoError(t, rows.Err())
	require.Positive(t, kills)
}

// dumpRunning logs the running jobs and the process each is held by.
func dumpRunning(t *testing.T, s inboxqtest.Schema) {
	t.Helper()
	rows, err := s.Pool.Query(context.Background(), `SELECT j.id, j.kind, j.attempt, j.attempted_at, coalesce(j.attempted_by[cardinality(j.attempted_by)], ''),
		w.client_id IS NOT NULL, coalesce(w.heartbeat_at::text, ''), now()
		FROM river_job j LEFT JOIN inboxq_worker w ON w.client_id = j.attempted_by[cardinality(j.attempted_by)]
		WHERE j.state = 'running' ORDER BY j.id`)
	require.NoError(t, err)
	defer rows.Close()
	for rows.Next() {
		var id int64
		var kind, by, beat string
		var attempt int
		var at, now time.Time
		var known bool
		require.NoError(t, rows.Scan(&id, &kind, &attempt, &at, &by, &known, &beat, &now))
		t.Logf("  running: job %d %s attempt %d since %s by %s (heartbeat row: %v, last beat %s; now %s)",
			id, kind, attempt, at.Format("15:04:05.000"), by, known, beat, now.Format("15:04:05.000"))
	}
}

// dumpWorkflows logs what is left of the workflows: their counters and
// every unfinished step with its job.
func dumpWorkflows(t *testing.T, s inboxqtest.Schema, ids []int64) {
	t.Helper()
	ctx := context.Background()
	rows, err := s.Pool.Query(ctx, `SELECT id, name, steps_total, steps_open, steps_failed, finished_at IS NOT NULL FROM workflow WHERE id = ANY ($1) ORDER BY id`, ids)
	require.NoError(t, err)
	for rows.Next() {
		var id int64
		var name string
		var total, open, failed int
		var fin bool
		require.NoError(t, rows.Scan(&id, &name, &total, &open, &failed, &fin))
		t.Logf("workflow %d %s: total %d open %d failed %d finished %v", id, name, total, open, failed, fin)
	}
	rows.Close()
	rows, err = s.Pool.Query(ctx, `SELECT x.workflow_id, x.name, x.job_id, x.waiting, x.deps::text, coalesce(x.outcome, ''),
		coalesce(j.state::text, 'gone'), coalesce(j.attempt, 0), coalesce(j.metadata::text, ''), coalesce(j.attempted_by::text, '')
		FROM workflow_step x LEFT JOIN river_job j ON j.id = x.job_id
		WHERE x.workflow_id = ANY ($1) AND x.outcome IS NULL ORDER BY x.workflow_id, x.step LIMIT 50`, ids)
	require.NoError(t, err)
	for rows.Next() {
		var wf, job int64
		var name, deps, outcome, state, md, by string
		var waiting, attempt int
		require.NoError(t, rows.Scan(&wf, &name, &job, &waiting, &deps, &outcome, &state, &attempt, &md, &by))
		t.Logf("  unfinished: workflow %d step %s job %d waiting %d deps %s: job %s attempt %d by %s metadata %s",
			wf, name, job, waiting, deps, state, attempt, by, md)
	}
	rows.Close()
}
