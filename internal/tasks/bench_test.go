package tasks_test

import (
	"context"
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/tasks"
)

// probeArgs is a job that tells the benchmark when it starts and when its
// context is cancelled.
type probeArgs struct {
	jobs.Owned
	Block bool `json:"block"`
}

func (probeArgs) Kind() string { return "bench_probe" }

func (probeArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: inbox.QueueDefault} }

type probe struct {
	mu        sync.Mutex
	started   map[int64]chan time.Time
	cancelled map[int64]chan time.Time
}

func newProbe() *probe {
	return &probe{started: map[int64]chan time.Time{}, cancelled: map[int64]chan time.Time{}}
}

func (p *probe) chans(id int64) (chan time.Time, chan time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.started[id] == nil {
		p.started[id], p.cancelled[id] = make(chan time.Time, 1), make(chan time.Time, 1)
	}
	return p.started[id], p.cancelled[id]
}

type probeWorker struct {
	river.WorkerDefaults[probeArgs]
	p *probe
}

func (w probeWorker) Work(ctx context.Context, job *river.Job[probeArgs]) error {
	started, cancelled := w.p.chans(job.ID)
	started <- time.Now()
	if !job.Args.Block {
		return nil
	}
	<-ctx.Done()
	cancelled <- time.Now()
	return ctx.Err()
}

func (probeWorker) Timeout(*river.Job[probeArgs]) time.Duration { return -1 }

func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, len(s)*p/100)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkCancelLatency measures a cancel request (through the task
// service of one process) → the running job's context cancelled in another
// (target p99 < 50 ms).
func BenchmarkCancelLatency(b *testing.B) {
	for range b.N {
		p := newProbe()
		kinds := func(r *jobs.Registry) { jobs.Add(r, probeWorker{p: p}, jobs.Info{Description: "bench"}) }
		worker := inboxqtest.NewStack(b, inboxqtest.StackOptions{Start: true, Kinds: kinds, NoRiverUI: true})
		api := inboxqtest.NewStack(b, inboxqtest.StackOptions{Workers: map[string]int{}, Schema: &worker.Schema, Kinds: kinds, NoRiverUI: true})
		alice, _ := api.User(b, "alice", false)
		ctx := context.Background()
		var lat []time.Duration
		for range 40 {
			task, _, err := api.Tasks.Create(ctx, alice, tasks.CreateParams{Kind: "bench_probe", Args: json.RawMessage(`{"block":true}`)})
			require.NoError(b, err)
			started, cancelled := p.chans(task.ID)
			inboxqtest.WaitOrTimeout(b, started, 10*time.Second)
			t0 := time.Now()
			_, err = api.Tasks.Cancel(ctx, alice, task.ID)
			require.NoError(b, err)
			lat = append(lat, inboxqtest.WaitOrTimeout(b, cancelled, 10*time.Second).Sub(t0))
		}
		b.ReportMetric(ms(percentile(lat, 50)), "p50_ms")
		b.ReportMetric(ms(percentile(lat, 99)), "p99_ms")
		b.Logf("cancel → worker context cancelled, %d runs: p50 %s p99 %s", len(lat), percentile(lat, 50), percentile(lat, 99))
	}
}

// pickup measures task created → worker started on an idle queue, and the
// database transactions the process makes while a trickle of tasks arrives.
func pickup(b *testing.B, cooldown time.Duration) (p50, p99, e2e99 time.Duration, xactPerTask float64) {
	b.Helper()
	p := newProbe()
	s := inboxqtest.NewStack(b, inboxqtest.StackOptions{
		Start: true, NoRiverUI: true, FetchCooldown: cooldown, FetchPollInterval: time.Second, // River's default
		Workers: map[string]int{inbox.QueueDefault: 10},
		Kinds:   func(r *jobs.Registry) { jobs.Add(r, probeWorker{p: p}, jobs.Info{Description: "bench"}) },
	})
	alice, _ := s.User(b, "alice", false)
	ctx := context.Background()
	xacts := func() int64 {
		var n int64
		require.NoError(b, s.Schema.Pool.QueryRow(ctx, "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()").Scan(&n))
		return n
	}
	time.Sleep(500 * time.Millisecond) // let the producers settle
	// Latency from the create transaction's commit (the task exists) and,
	// end to end, from before the create call.
	var lat, e2e []time.Duration
	for range 100 {
		t0 := time.Now()
		task, _, err := s.Tasks.Create(ctx, alice, tasks.CreateParams{Kind: "bench_probe", Args: json.RawMessage(`{}`)})
		require.NoError(b, err)
		committed := time.Now()
		started, _ := p.chans(task.ID)
		at := inboxqtest.WaitOrTimeout(b, started, 10*time.Second)
		lat, e2e = append(lat, max(0, at.Sub(committed))), append(e2e, at.Sub(t0))
		time.Sleep(20 * time.Millisecond) // idle again
	}

	// The cost: a steady trickle (one task every 2 ms for 1 s), counted in
	// database transactions per task, inserts included.
	const trickle = 500
	before := xacts()
	var ids []int64
	for range trickle {
		task, _, err := s.Tasks.Create(ctx, alice, tasks.CreateParams{Kind: "bench_probe", Args: json.RawMessage(`{}`)})
		require.NoError(b, err)
		ids = append(ids, task.ID)
		time.Sleep(2 * time.Millisecond)
	}
	for _, id := range ids {
		started, _ := p.chans(id)
		inboxqtest.WaitOrTimeout(b, started, 10*time.Second)
	}
	return percentile(lat, 50), percentile(lat, 99), percentile(e2e, 99), float64(xacts()-before) / trickle
}

// BenchmarkPickupLatency measures task created → its worker starts, on an
// idle queue, with River's default fetch cooldown (100 ms) and inboxq's
// (2 ms), and the cost: database transactions per task while tasks trickle
// in (targets: p50 ≤ 5 ms, p99 ≤ 10 ms).
func BenchmarkPickupLatency(b *testing.B) {
	for range b.N {
		d50, d99, _, dx := pickup(b, 100*time.Millisecond)
		t50, t99, te99, tx := pickup(b, jobs.DefaultFetchCooldown)
		b.Logf("River default (100 ms): p50 %s p99 %s, %.2f xact/task; inboxq (%s): p50 %s p99 %s (from before the create call: p99 %s), %.2f xact/task",
			d50, d99, dx, jobs.DefaultFetchCooldown, t50, t99, te99, tx)
		b.ReportMetric(ms(te99), "create_call_p99_ms")
		b.ReportMetric(ms(t50), "p50_ms")
		b.ReportMetric(ms(t99), "p99_ms")
		b.ReportMetric(ms(d50), "default_p50_ms")
		b.ReportMetric(ms(d99), "default_p99_ms")
		b.ReportMetric(tx/dx, "xact_cost_ratio")
	}
}
