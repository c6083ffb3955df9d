package progress_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/progress"
	"github.com/inboxq/inboxq/internal/store"
	"github.com/inboxq/inboxq/internal/tasks"
)

// Benchmarks print their figures with b.ReportMetric; run them with
// `make bench`. Peers are measured in the same run, alternately, and
// compared as ratios: the machine is noisy, absolute figures drift.

// noopArgs and progArgs are the same job but for its kind (names of one
// length): a bench_prog job reports progress once. Raw River runs
// bench_noop jobs with the same args: a flag in the args would make the
// two sides' rows differ.
type noopArgs struct{ jobs.Owned }

func (noopArgs) Kind() string { return "bench_noop" }

type progArgs struct{ jobs.Owned }

func (progArgs) Kind() string { return "bench_prog" }

type noopWorker struct{ river.WorkerDefaults[noopArgs] }

func (noopWorker) Work(context.Context, *river.Job[noopArgs]) error { return nil }

type progWorker struct{ river.WorkerDefaults[progArgs] }

func (progWorker) Work(ctx context.Context, _ *river.Job[progArgs]) error {
	r := progress.From(ctx)
	r.SetTotal(1)
	r.Add(1)
	return nil
}

// benchKinds registers both kinds with inboxq.
func benchKinds(r *jobs.Registry) {
	jobs.Add(r, noopWorker{}, jobs.Info{Description: "bench"})
	jobs.Add(r, progWorker{}, jobs.Info{Description: "bench, reporting progress once"})
}

const (
	benchJobs      = 20_000
	benchWorkers   = 200
	benchCooldown  = 2 * time.Millisecond
	benchPollEvery = 20 * time.Millisecond
	rounds         = 7
)

// insertNoops inserts the benchmark's jobs in batches of 1,000, as a
// producer would, through River's InsertManyFast on both sides: inboxq's
// insert triggers are part of what is timed.
func insertNoops(b *testing.B, client *jobs.Client, report bool) {
	b.Helper()
	ctx := context.Background()
	params := make([]river.InsertManyParams, 0, 1000)
	for i := range benchJobs {
		var args river.JobArgs = noopArgs{jobs.Owned{OwnerID: 1}}
		if report {
			args = progArgs{jobs.Owned{OwnerID: 1}}
		}
		params = append(params, river.InsertManyParams{Args: args})
		if len(params) == cap(params) || i == benchJobs-1 {
			_, err := client.InsertManyFast(ctx, params)
			require.NoError(b, err)
			params = params[:0]
		}
	}
}

// run is one timed run: from the first insert (the client already
// started, idle) until every job has completed, with the CPU the process
// and PostgreSQL spent meanwhile.
type run struct {
	rate float64 // jobs per second
	cpu  inboxqtest.CPU
}

func (r run) cpuPerJob() time.Duration { return r.cpu.Total() / benchJobs }

func burnDown(b *testing.B, client *jobs.Client, insert func()) run {
	b.Helper()
	ctx := context.Background()
	events, cancel := client.SubscribeConfig(&river.SubscribeConfig{Kinds: []river.EventKind{river.EventKindJobCompleted}, ChanSize: benchJobs + 1000})
	defer cancel()
	// Each run starts from a checkpoint: one begun during a run (every
	// ~500 MB of WAL, a few runs apart) made it write whole pages into the
	// WAL and pay the checkpointer's writes, whichever side it fell on.
	_, err := inboxqtest.Pool(b).Exec(ctx, "CHECKPOINT")
	require.NoError(b, err)
	require.NoError(b, client.Start(ctx))
	time.Sleep(100 * time.Millisecond) // leader election and the first fetches settle
	cpu0, start := inboxqtest.ReadCPU(), time.Now()
	insert()
	for done := 0; done < benchJobs; done++ {
		select {
		case <-events:
		case <-time.After(60 * time.Second):
			b.Fatalf("only %d of %d jobs completed", done, benchJobs)
		}
	}
	elapsed, cpu := time.Since(start), inboxqtest.ReadCPU().Sub(cpu0)
	sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
	defer scancel()
	require.NoError(b, client.Stop(sctx))
	return run{rate: benchJobs / elapsed.Seconds(), cpu: cpu}
}

// rawRiverClient is plain River on a schema of its own with River's
// migrations only: the baseline every throughput benchmark compares with.
// Its settings are inboxq's: the same pool size, workers, fetch cooldown
// and poll interval.
func rawRiverClient(b testing.TB) *jobs.Client {
	b.Helper()
	ctx := context.Background()
	s := inboxqtest.EmptySchema(b)
	m, err := rivermigrate.New(riverpgxv5.New(s.Pool), &rivermigrate.Config{Schema: s.Name, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(b, err)
	_, err = m.Migrate(ctx, rivermigrate.DirectionUp, nil)
	require.NoError(b, err)
	workers := river.NewWorkers()
	river.AddWorker(workers, noopWorker{})
	client, err := river.NewClient(riverpgxv5.New(s.Pool), &river.Config{
		Schema: s.Name, Workers: workers, Logger: slog.New(slog.DiscardHandler),
		Queues:        map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: benchWorkers}},
		FetchCooldown: benchCooldown, FetchPollInterval: benchPollEvery,
	})
	require.NoError(b, err)
	return client
}

func rawRiver(b *testing.B) run {
	b.Helper()
	round := inboxqtest.NewScope(b)
	defer round.Close()
	client := rawRiverClient(round)
	return burnDown(b, client, func() { insertNoops(b, client, false) })
}

// inboxq runs the same jobs through inboxq: the progress middleware and
// writer, the insert and state triggers, the hub listening and a connected
// subscriber reading every event. River UI is left out (it polls; the
// baseline has none).
func inboxq(b *testing.B, report bool) run {
	b.Helper()
	// The round's stack goes when the round ends: PostgreSQL wakes every
	// listening backend of a database on each notifying commit, so the
	// hubs of earlier rounds would tax this one.
	round := inboxqtest.NewScope(b)
	defer round.Close()
	s := inboxqtest.NewStack(round, inboxqtest.StackOptions{
		Workers:       map[string]int{inbox.QueueDefault: benchWorkers},
		FetchCooldown: benchCooldown, FetchPollInterval: benchPollEvery, NoRiverUI: true,
		Kinds: benchKinds,
	})
	sub, _, _, _ := s.Hub.Subscribe(progress.Filter{Caller: inbox.Principal{Role: inbox.RoleAdmin}}, "")
	var events int
	var wg sync.WaitGroup
	wg.Go(func() {
		for batch := range sub.C {
			events += len(batch)
		}
	})
	r := burnDown(b, s.Client, func() { insertNoops(b, s.Client, report) })
	time.Sleep(200 * time.Millisecond) // the last events reach the subscriber
	sub.Close()
	wg.Wait()
	b.Logf("inboxq (progress reports: %v): %.0f jobs/s, %s CPU per job, %d events delivered to a subscriber", report, r.rate, r.cpuPerJob(), events)
	return r
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// BenchmarkNoopThroughput compares no-op jobs through inboxq with raw River
// on the same database, in the same run, inserts included: jobs per second
// (target with progress reported once per job: ratio ≥ 0.90) and CPU per
// job, process and PostgreSQL together (target ≤ 1.3 × River's).
func BenchmarkNoopThroughput(b *testing.B) {
	for range b.N {
		// Rounds alternate the three runs so that each ratio compares runs
		// made seconds apart; the median ratio discards the rounds the
		// machine's drift spoiled.
		var raw, iq, iqReport, ratio, reportRatio, rawCPU, reportCPU, cpuRatio []float64
		for round := range rounds {
			// The three runs take turns going first: a run inherits the WAL
			// and the checkpoint its predecessor left.
			var r, q, p run
			runs := []func(){func() { r = rawRiver(b) }, func() { q = inboxq(b, false) }, func() { p = inboxq(b, true) }}
			for k := range runs {
				runs[(k+round)%len(runs)]()
			}
			raw, iq, iqReport = append(raw, r.rate), append(iq, q.rate), append(iqReport, p.rate)
			ratio, reportRatio = append(ratio, q.rate/r.rate), append(reportRatio, p.rate/r.rate)
			rawCPU, reportCPU = append(rawCPU, us(r.cpuPerJob())), append(reportCPU, us(p.cpuPerJob()))
			cpuRatio = append(cpuRatio, float64(p.cpuPerJob())/float64(r.cpuPerJob()))
			b.Logf("round: River %.0f jobs/s %s/job (process %s, PostgreSQL %s); inboxq with progress %.0f jobs/s %s/job (process %s, PostgreSQL %s)",
				r.rate, r.cpuPerJob(), r.cpu.Process/benchJobs, r.cpu.Postgres/benchJobs,
				p.rate, p.cpuPerJob(), p.cpu.Process/benchJobs, p.cpu.Postgres/benchJobs)
		}
		b.Logf("raw River %v, inboxq %v, inboxq reporting progress once per job %v jobs/s", fmtRates(raw), fmtRates(iq), fmtRates(iqReport))
		b.ReportMetric(median(raw), "river_jobs/s")
		b.ReportMetric(median(iq), "inboxq_jobs/s")
		b.ReportMetric(median(ratio), "ratio")
		b.ReportMetric(median(iqReport), "inboxq_progress_jobs/s")
		b.ReportMetric(median(reportRatio), "progress_ratio")
		b.ReportMetric(median(rawCPU), "river_cpu_us/job")
		b.ReportMetric(median(reportCPU), "inboxq_progress_cpu_us/job")
		b.ReportMetric(median(cpuRatio), "cpu_ratio")
	}
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func fmtRates(xs []float64) string {
	out := ""
	for _, x := range xs {
		out += fmt.Sprintf(" %.0f", x)
	}
	return "[" + out[1:] + "]"
}

// BenchmarkProgressToSSE measures a progress report (from before its write)
// → the event read by an SSE client, with 1,000 clients connected to one
// process (target p99 < 25 ms). The clients run in a process of their own
// on the same machine (see sseClientsEnv); each stream's reader records
// when it read each report, and nothing else runs meanwhile.
func BenchmarkProgressToSSE(b *testing.B) {
	for range b.N {
		const clients, reports = 1000, 40
		// One user's thousand streams: the per-user cap is lifted to measure the hub.
		s := inboxqtest.NewStack(b, inboxqtest.StackOptions{Workers: map[string]int{}, StreamsPerUser: clients})
		srv := httptest.NewServer(s.Handler)
		b.Cleanup(srv.Close)
		alice, token := s.User(b, "alice", false)
		task, _, err := s.Tasks.Create(context.Background(), alice, tasks.CreateParams{Kind: "test_echo", Args: json.RawMessage(`{"message":"x"}`)})
		require.NoError(b, err)

		spec := sseClientsSpec{URL: fmt.Sprintf("%s/api/v1/tasks/%d/events", srv.URL, task.ID), Token: token, Clients: clients, Reports: reports}
		cs := startSSEClients(b, spec)

		owner := alice.UserID
		save := func(done int) {
			require.NoError(b, s.Store.ProgressSave(context.Background(), store.ProgressUpdate{JobID: task.ID, Owner: &owner, Kind: "test_echo",
				Progress: inbox.Progress{Done: int64(done)}}))
		}
		// A report the clients skip (done 0): the statement's first run on
		// its connection prepares it, once per connection, not per report.
		save(0)
		time.Sleep(50 * time.Millisecond)
		sent := make([]time.Time, reports)
		for r := range reports {
			sent[r] = time.Now()
			save(r + 1)
			time.Sleep(50 * time.Millisecond) // every client has read it, well before the next
		}
		// got[i][r] is when client i read report r.
		got := cs.readTimes(b, spec)
		lat := make([]time.Duration, 0, clients*reports)
		for _, ts := range got {
			for r, at := range ts {
				require.True(b, at.After(sent[r]), "a report is read after it is sent")
				lat = append(lat, at.Sub(sent[r]))
			}
		}
		slices.Sort(lat)
		b.ReportMetric(ms(lat[len(lat)/2]), "p50_ms")
		b.ReportMetric(ms(lat[len(lat)*99/100]), "p99_ms")
		b.ReportMetric(ms(lat[len(lat)-1]), "max_ms")
		b.Logf("progress → SSE with %d clients, %d reports: p50 %s p99 %s max %s", clients, reports, lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1])
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
