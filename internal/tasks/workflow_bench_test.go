package tasks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/tasks"
)

// Workflow benchmarks: a group of no-op steps with a callback, created with
// CreateWorkflow, against the same no-op jobs inserted with River's
// InsertMany, on one stack: the same River client (jobs.NewClient: queues,
// workers, fetch timing, middleware), the same schema and triggers, so only
// the workflow differs. Rounds run the sides back to back and each ratio
// compares runs made a second apart; the medians discard the rounds the
// noisy machine spoiled.

// wfNoopArgs is the benchmarks' no-op kind, steps and callbacks alike.
type wfNoopArgs struct {
	jobs.Owned
}

func (wfNoopArgs) Kind() string { return "bench_wf_noop" }

func (wfNoopArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: inbox.QueueDefault} }

type wfNoopWorker struct {
	river.WorkerDefaults[wfNoopArgs]
}

func (wfNoopWorker) Work(context.Context, *river.Job[wfNoopArgs]) error { return nil }

const (
	wfGroupSteps = 1000 // tasks.MaxWorkflowSteps
	wfRounds     = 9
	// wfWorkers is the default queue's production setting (config.go); the
	// fetch timing is production's too: inboxq's cooldown and River's
	// default poll, so a callback released without a wake-up would wait
	// for the poll, up to a second, and show.
	wfWorkers   = 10
	wfPollEvery = time.Second
	// wfChords small workflows, with the 9 groups, make the callback
	// delays' p99 the third worst of 209: of the 49 delays measured
	// before, the p99 was the worst one, a single stall of a shared
	// machine (PickupLatency takes 500 samples for the same reason). The
	// worst is reported too (callback_max_ms).
	wfChords = 200
)

func wfStack(b testing.TB) (*inboxqtest.Stack, inbox.Principal) {
	b.Helper()
	s := inboxqtest.NewStack(b, inboxqtest.StackOptions{
		Start: true, NoRiverUI: true,
		Workers:       map[string]int{inbox.QueueDefault: wfWorkers},
		FetchCooldown: jobs.DefaultFetchCooldown, FetchPollInterval: wfPollEvery,
		Kinds: func(r *jobs.Registry) { jobs.Add(r, wfNoopWorker{}, jobs.Info{Description: "bench"}) },
	})
	alice, _ := s.User(b, "alice", false)
	time.Sleep(300 * time.Millisecond) // let the producers settle
	return s, alice
}

// completions subscribes to the client's job completions (before the timed
// part starts) and returns a function that waits until every id it is
// given has completed.
func completions(b *testing.B, s *inboxqtest.Stack) (wait func(ids ...int64), stop func()) {
	b.Helper()
	events, cancel := s.Client.SubscribeConfig(&river.SubscribeConfig{Kinds: []river.EventKind{river.EventKindJobCompleted}, ChanSize: 10_000})
	done := map[int64]bool{}
	var last time.Time
	return func(ids ...int64) {
		b.Helper()
		timeout := time.After(2 * time.Minute)
		for _, id := range ids {
			for !done[id] {
				select {
				case ev := <-events:
					done[ev.Job.ID] = true
					last = time.Now()
				case <-timeout:
					var state string
					var meta []byte
					var waiting, open int
					_ = s.Schema.Pool.QueryRow(context.Background(), `SELECT j.state::text, j.metadata::text::bytea,
						coalesce((SELECT x.waiting FROM workflow_step x WHERE x.job_id = j.id), -1),
						coalesce((SELECT w.steps_open FROM workflow_step x JOIN workflow w ON w.id = x.workflow_id WHERE x.job_id = j.id), -1)
						FROM river_job j WHERE j.id = $1`, id).Scan(&state, &meta, &waiting, &open)
					var activity string
					_ = s.Schema.Pool.QueryRow(context.Background(), `SELECT coalesce(string_agg(state || ' ' || coalesce(wait_event_type, '') || ':' || coalesce(wait_event, '') || ' ' || left(query, 80), E'\n'), '')
						FROM pg_stat_activity WHERE datname = current_database() AND state <> 'idle' AND pid <> pg_backend_pid()`).Scan(&activity)
					b.Fatalf("job %d did not complete: state %s, metadata %s, its step waits for %d, its workflow has %d steps open; %d completion events heard, the last %s ago; busy backends:\n%s",
						id, state, meta, waiting, open, len(done), time.Since(last), activity)
				}
			}
		}
	}, cancel
}

// runWorkflow creates a group of n no-op steps with an on-success callback
// and returns the time from before the create call until the callback has
// completed, and the workflow. created is how long the create call took.
func runWorkflow(b *testing.B, s *inboxqtest.Stack, p inbox.Principal, n int) (elapsed time.Duration, id int64, created time.Duration) {
	b.Helper()
	spec := tasks.WorkflowSpec{Name: "bench", Shape: tasks.ShapeGroup,
		OnSuccess: &tasks.StepSpec{Name: "callback", Kind: "bench_wf_noop", Args: json.RawMessage(`{}`)}}
	for i := range n {
		spec.Steps = append(spec.Steps, tasks.StepSpec{Name: fmt.Sprintf("s%d", i), Kind: "bench_wf_noop", Args: json.RawMessage(`{}`)})
	}
	wait, stop := completions(b, s)
	defer stop()
	t0 := time.Now()
	w, _, err := s.Tasks.CreateWorkflow(context.Background(), p, spec)
	require.NoError(b, err)
	created = time.Since(t0)
	wait(w.Steps[n].TaskID)
	elapsed = time.Since(t0)
	require.Equal(b, "callback", w.Steps[n].Name)
	return elapsed, w.ID, created
}

// runPlain inserts n no-op jobs with InsertMany and, once all have
// completed, the callback job: a chord done by hand, the same 1+n jobs
// run in the same order. With then=false the callback goes in with the
// others (n+1 jobs at once, nothing waits). It returns the time from
// before the insert until the callback (or the last job) has completed,
// and how long the first InsertMany took.
func runPlain(b *testing.B, s *inboxqtest.Stack, p inbox.Principal, n int, then bool) (elapsed, inserted time.Duration) {
	b.Helper()
	ctx := context.Background()
	args := wfNoopArgs{Owned: jobs.Owned{OwnerID: p.UserID}}
	params := make([]river.InsertManyParams, n, n+1)
	for i := range params {
		params[i] = river.InsertManyParams{Args: args}
	}
	if !then {
		params = append(params, river.InsertManyParams{Args: args})
	}
	wait, stop := completions(b, s)
	defer stop()
	t0 := time.Now()
	res, err := s.Client.InsertMany(ctx, params)
	require.NoError(b, err)
	inserted = time.Since(t0)
	ids := make([]int64, len(res))
	for i, r := range res {
		ids[i] = r.Job.ID
	}
	wait(ids...)
	if then {
		res, err := s.Client.InsertMany(ctx, []river.InsertManyParams{{Args: args}})
		require.NoError(b, err)
		wait(res[0].Job.ID)
	}
	return time.Since(t0), inserted
}

// callbackDelay is, for one finished workflow, the time from its last
// group step finishing (finalized_at: when the worker returned) to the
// callback starting (attempted_at), split at the commit that released the
// callback (workflow_step.finished_at of that step: now() in River's
// completer transaction, where the trigger runs).
type callbackDelay struct {
	total, completer, release time.Duration
	started                   time.Time
}

func wfCallbackDelay(b *testing.B, s *inboxqtest.Stack, workflowID int64) callbackDelay {
	b.Helper()
	var finalized, committed, started time.Time
	require.NoError(b, s.Schema.Pool.QueryRow(context.Background(), `
		SELECT max(j.finalized_at) FILTER (WHERE cardinality(ws.deps) = 0),
		       max(ws.finished_at) FILTER (WHERE cardinality(ws.deps) = 0),
		       max(j.attempted_at) FILTER (WHERE cardinality(ws.deps) > 0)
		FROM workflow_step ws JOIN river_job j ON j.id = ws.job_id
		WHERE ws.workflow_id = $1`, workflowID).Scan(&finalized, &committed, &started))
	return callbackDelay{total: started.Sub(finalized), completer: committed.Sub(finalized), release: started.Sub(committed), started: started}
}

// listenInserts listens on River's insert channel of the stack's schema
// and returns a function giving the first notification heard after a time.
func listenInserts(b *testing.B, s *inboxqtest.Stack) func(after time.Time) (time.Time, bool) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	conn, err := pgx.ConnectConfig(ctx, s.Schema.Pool.Config().ConnConfig.Copy())
	require.NoError(b, err)
	_, err = conn.Exec(ctx, `LISTEN "`+s.Schema.Name+`.river_insert"`)
	require.NoError(b, err)
	var mu sync.Mutex
	var heard []time.Time
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			if _, err := conn.WaitForNotification(ctx); err != nil {
				return
			}
			mu.Lock()
			heard = append(heard, time.Now())
			mu.Unlock()
		}
	}()
	b.Cleanup(func() { cancel(); <-done; _ = conn.Close(context.Background()) })
	return func(after time.Time) (time.Time, bool) {
		mu.Lock()
		defer mu.Unlock()
		for _, t := range heard {
			if !t.Before(after) {
				return t, true
			}
		}
		return time.Time{}, false
	}
}

func medianDuration(ds []time.Duration) time.Duration { return percentile(ds, 50) }

func medianFloat(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

func fmtDurations(ds []time.Duration) string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.Round(time.Millisecond).String()
	}
	return "[" + strings.Join(out, " ") + "]"
}

func fmtRatios(xs []float64) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = fmt.Sprintf("%.2f", x)
	}
	return "[" + strings.Join(out, " ") + "]"
}

// BenchmarkWorkflowGroup runs a 1,000-step group with an on-success
// callback, created with CreateWorkflow, from the create call until the
// callback has completed (target: ≤ 1.3× plain River doing the same). The
// baseline is the same 1,001 no-op jobs through River's InsertMany, the
// callback inserted once the 1,000 have completed (the caller notices from
// the client's completion events): the same jobs, run in the same order,
// the wait for the last step's completion included on both sides. The
// workflow also pays for validating each step and for its graph. For
// reference, the 1,001 jobs at once (nothing waits: no ordering at all) are
// run too and reported as ratio_vs_unordered.
//
// It also reports the callback's delay, from the last step finishing to
// the callback starting (target p99 ≤ 20 ms), over the big groups and
// wfChords chords of 20 steps run one at a time, split into River's completer
// (the worker returned → the completion committed, which runs the trigger)
// and the release (that commit → the callback started: the trigger's wake-up
// of the producers and their fetch).
func BenchmarkWorkflowGroup(b *testing.B) {
	for range b.N {
		s, alice := wfStack(b)
		// A warm-up round, not counted: cold plans and caches.
		runPlain(b, s, alice, wfGroupSteps, true)
		runWorkflow(b, s, alice, wfGroupSteps)

		// River's insert channel, heard here too: the callback's wake-up is
		// the first notification after the commit that released it (no
		// other insert runs until the workflow has finished).
		heard := listenInserts(b, s)
		var notify, fetch []time.Duration
		delay := func(id int64) callbackDelay {
			d := wfCallbackDelay(b, s, id)
			committed := d.started.Add(-d.release)
			at, ok := heard(committed)
			require.True(b, ok, "no insert notification after the callback was released")
			notify, fetch = append(notify, at.Sub(committed)), append(fetch, d.started.Sub(at))
			return d
		}

		var plain, wf, unordered, inserts, creates []time.Duration
		var ratio, ratioUnordered []float64
		var delays []callbackDelay
		for round := range wfRounds {
			// The three runs take turns going first: whichever follows
			// another inherits its dead rows and its WAL to flush.
			var p, ins, w, cr, u time.Duration
			var id int64
			runs := []func(){
				func() { p, ins = runPlain(b, s, alice, wfGroupSteps, true) },
				func() { w, id, cr = runWorkflow(b, s, alice, wfGroupSteps) },
				func() { u, _ = runPlain(b, s, alice, wfGroupSteps, false) },
			}
			for k := range runs {
				runs[(k+round)%len(runs)]()
			}
			inserts, creates = append(inserts, ins), append(creates, cr)
			plain, wf, unordered = append(plain, p), append(wf, w), append(unordered, u)
			ratio, ratioUnordered = append(ratio, float64(w)/float64(p)), append(ratioUnordered, float64(w)/float64(u))
			delays = append(delays, delay(id))
		}
		b.Logf("1,000 steps + callback: plain River (callback after) %s, workflow %s, plain River (1,001 at once) %s",
			fmtDurations(plain), fmtDurations(wf), fmtDurations(unordered))
		b.Logf("workflow/plain per round %s, median %.2f; workflow/unordered %s, median %.2f",
			fmtRatios(ratio), medianFloat(ratio), fmtRatios(ratioUnordered), medianFloat(ratioUnordered))
		b.Logf("of which the insert: InsertMany of 1,000 %s, CreateWorkflow of 1,000 + 1 %s", fmtDurations(inserts), fmtDurations(creates))
		b.ReportMetric(ms(medianDuration(inserts)), "insert_ms")
		b.ReportMetric(ms(medianDuration(creates)), "create_ms")
		b.ReportMetric(float64(medianDuration(plain)), "plain_ns/op")
		b.ReportMetric(float64(medianDuration(wf)), "workflow_ns/op")
		b.ReportMetric(float64(medianDuration(unordered)), "unordered_ns/op")
		b.ReportMetric(medianFloat(ratio), "ratio")
		b.ReportMetric(medianFloat(ratioUnordered), "ratio_vs_unordered")

		big := len(delays)
		for range wfChords {
			time.Sleep(20 * time.Millisecond) // idle again
			_, id, _ := runWorkflow(b, s, alice, 20)
			delays = append(delays, delay(id))
		}
		b.Logf("release → start split: the releasing statement's start → its river_insert notification heard (the statement, its triggers, the commit): 1,000-step groups %s, chords of 20 p50 %s p99 %s; heard → callback started p50 %s p99 %s",
			fmtDurations(notify[:big]), percentile(notify[big:], 50), percentile(notify[big:], 99), percentile(fetch, 50), percentile(fetch, 99))
		b.ReportMetric(ms(percentile(notify, 99)), "notify_p99_ms")
		b.ReportMetric(ms(percentile(fetch, 99)), "wake_to_start_p99_ms")
		var total, completer, release []time.Duration
		for _, d := range delays {
			total, completer, release = append(total, d.total), append(completer, d.completer), append(release, d.release)
		}
		b.Logf("callback delay, %d workflows (%d of 1,000 steps, the rest of 20): total p50 %s p99 %s max %s; completion (the worker returned → the completing statement began) p50 %s p99 %s; release → start p50 %s p99 %s max %s",
			len(delays), big, percentile(total, 50), percentile(total, 99), slices.Max(total), percentile(completer, 50), percentile(completer, 99),
			percentile(release, 50), percentile(release, 99), slices.Max(release))
		b.Logf("release → start, 1,000-step groups: %s", fmtDurations(release[:big]))
		b.ReportMetric(ms(percentile(total, 50)), "callback_p50_ms")
		b.ReportMetric(ms(percentile(total, 99)), "callback_p99_ms")
		b.ReportMetric(ms(slices.Max(total)), "callback_max_ms")
		b.ReportMetric(ms(percentile(completer, 99)), "completer_p99_ms")
		b.ReportMetric(ms(percentile(release, 50)), "release_p50_ms")
		b.ReportMetric(ms(percentile(release, 99)), "release_p99_ms")
	}
}

// completeRunning completes the given jobs the way River's batch completer
// does (one JobSetStateIfRunningMany per batch of up to `batch` jobs, the
// statement that fires the row triggers) and returns the time it took.
// The jobs must be running.
func completeRunning(b *testing.B, s *inboxqtest.Stack, ids []int64, batch int) time.Duration {
	b.Helper()
	ctx := context.Background()
	exec := riverpgxv5.New(s.Schema.Pool).GetExecutor()
	t0 := time.Now()
	for chunk := range slices.Chunk(ids, batch) {
		now := time.Now()
		p := &riverdriver.JobSetStateIfRunningManyParams{Schema: s.Schema.Name}
		for _, id := range chunk {
			p.ID = append(p.ID, id)
			p.Attempt = append(p.Attempt, nil)
			p.ErrData = append(p.ErrData, nil)
			p.FinalizedAt = append(p.FinalizedAt, &now)
			p.MetadataDoMerge = append(p.MetadataDoMerge, false)
			p.MetadataUpdates = append(p.MetadataUpdates, nil)
			p.ScheduledAt = append(p.ScheduledAt, nil)
			p.State = append(p.State, rivertype.JobStateCompleted)
		}
		rows, err := exec.JobSetStateIfRunningMany(ctx, p)
		require.NoError(b, err)
		require.Len(b, rows, len(chunk))
	}
	return time.Since(t0)
}

// markRunning makes jobs running as River's fetch does (attempt 1).
func markRunning(b *testing.B, s *inboxqtest.Stack, ids []int64) {
	b.Helper()
	_, err := s.Schema.Pool.Exec(context.Background(), `
		UPDATE river_job SET state = 'running', attempt = attempt + 1, attempted_at = now(),
		       attempted_by = array_append(attempted_by, 'bench')
		WHERE id = ANY ($1)`, ids)
	require.NoError(b, err)
}

// insertPlain inserts n plain no-op jobs with InsertMany and marks them
// running.
func insertPlain(b *testing.B, s *inboxqtest.Stack, owner int64, n int) []int64 {
	b.Helper()
	params := make([]river.InsertManyParams, n)
	for i := range params {
		params[i] = river.InsertManyParams{Args: wfNoopArgs{Owned: jobs.Owned{OwnerID: owner}}}
	}
	res, err := s.Client.InsertMany(context.Background(), params)
	require.NoError(b, err)
	ids := make([]int64, n)
	for i, r := range res {
		ids[i] = r.Job.ID
	}
	markRunning(b, s, ids)
	return ids
}

// BenchmarkWorkflowTriggerCost measures what the workflow trigger costs
// River's completer, at the database, with no worker in the way: N plain
// jobs completed in River's batches of 100 with River's own statement, on
// a schema with the trigger and on one where it is dropped (ratio
// plain_trigger_ratio, target ≈ 1: the WHEN clause alone), and a
// 1,000-step group's steps completed the same way against as many plain
// jobs on the schema with the trigger (step_cost_ratio, µs per step:
// what the trigger's bookkeeping costs each step).
func BenchmarkWorkflowTriggerCost(b *testing.B) {
	const n, batch = 5000, 100
	for range b.N {
		opts := inboxqtest.StackOptions{Workers: map[string]int{}, NoRiverUI: true,
			Kinds: func(r *jobs.Registry) { jobs.Add(r, wfNoopWorker{}, jobs.Info{Description: "bench"}) }}
		with := inboxqtest.NewStack(b, opts)
		without := inboxqtest.NewStack(b, opts)
		_, err := without.Schema.Pool.Exec(context.Background(), "DROP TRIGGER river_job_inboxq_workflow ON river_job")
		require.NoError(b, err)
		alice, _ := with.User(b, "alice", false)
		aliceToo, _ := without.User(b, "alice", false)

		// Warm-up, not counted.
		completeRunning(b, with, insertPlain(b, with, alice.UserID, batch), batch)
		completeRunning(b, without, insertPlain(b, without, aliceToo.UserID, batch), batch)

		var tw, to, ratio []float64
		for range wfRounds {
			a, c := insertPlain(b, with, alice.UserID, n), insertPlain(b, without, aliceToo.UserID, n)
			// Batch by batch, alternating which schema goes first, so that
			// each pair of batches runs under the same load.
			var dw, do time.Duration
			for i := 0; i < n; i += batch {
				if i/batch%2 == 0 {
					dw += completeRunning(b, with, a[i:i+batch], batch)
					do += completeRunning(b, without, c[i:i+batch], batch)
				} else {
					do += completeRunning(b, without, c[i:i+batch], batch)
					dw += completeRunning(b, with, a[i:i+batch], batch)
				}
			}
			tw, to, ratio = append(tw, float64(dw)/n), append(to, float64(do)/n), append(ratio, float64(dw)/float64(do))
		}
		b.Logf("completing %d plain jobs in batches of %d, ns per job: trigger present %v, dropped %v; ratio per round %s, median %.3f",
			n, batch, fmtNs(tw), fmtNs(to), fmtRatios(ratio), medianFloat(ratio))
		b.ReportMetric(medianFloat(tw), "plain_trigger_ns/job")
		b.ReportMetric(medianFloat(to), "plain_no_trigger_ns/job")
		b.ReportMetric(medianFloat(ratio), "plain_trigger_ratio")

		// Workflow steps against plain jobs, both with the trigger.
		var ts, tp, sratio []float64
		for r := range wfRounds {
			spec := tasks.WorkflowSpec{Name: "bench", Shape: tasks.ShapeGroup,
				OnSuccess: &tasks.StepSpec{Name: "callback", Kind: "bench_wf_noop", Args: json.RawMessage(`{}`)}}
			for i := range wfGroupSteps {
				spec.Steps = append(spec.Steps, tasks.StepSpec{Name: fmt.Sprintf("s%d", i), Kind: "bench_wf_noop", Args: json.RawMessage(`{}`)})
			}
			w, _, err := with.Tasks.CreateWorkflow(context.Background(), alice, spec)
			require.NoError(b, err)
			steps := make([]int64, wfGroupSteps)
			for i := range steps {
				steps[i] = w.Steps[i].TaskID
			}
			markRunning(b, with, steps)
			plain := insertPlain(b, with, alice.UserID, wfGroupSteps)
			var ds, dp time.Duration
			if r%2 == 0 {
				ds, dp = completeRunning(b, with, steps, batch), completeRunning(b, with, plain, batch)
			} else {
				dp, ds = completeRunning(b, with, plain, batch), completeRunning(b, with, steps, batch)
			}
			var state string
			require.NoError(b, with.Schema.Pool.QueryRow(context.Background(), "SELECT state FROM river_job WHERE id = $1", w.Steps[wfGroupSteps].TaskID).Scan(&state))
			require.Equal(b, "available", state, "the callback is released")
			ts, tp, sratio = append(ts, float64(ds)/wfGroupSteps), append(tp, float64(dp)/wfGroupSteps), append(sratio, float64(ds)/float64(dp))
		}
		b.Logf("completing a 1,000-step group's steps vs 1,000 plain jobs, batches of %d, ns per job: steps %v, plain %v; ratio per round %s, median %.2f",
			batch, fmtNs(ts), fmtNs(tp), fmtRatios(sratio), medianFloat(sratio))
		b.ReportMetric(medianFloat(ts)/1000, "step_µs/step")
		b.ReportMetric(medianFloat(tp)/1000, "plain_µs/job")
		b.ReportMetric(medianFloat(sratio), "step_cost_ratio")
	}
}

func fmtNs(xs []float64) string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = fmt.Sprintf("%.0f", x)
	}
	return "[" + strings.Join(out, " ") + "]"
}
