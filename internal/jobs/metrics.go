package jobs

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/riverqueue/river"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store"
)

// Metrics exposes inboxq in Prometheus form: task and queue gauges read from
// the database at scrape time (so they cover every process), and durations
// and outcomes of the jobs this process works, from River's events.
type Metrics struct {
	Registry *prometheus.Registry

	queueWait *prometheus.HistogramVec
	run       *prometheus.HistogramVec
	outcomes  *prometheus.CounterVec
}

// NewMetrics builds the collectors on a fresh registry.
func NewMetrics(st *store.Store, logger *slog.Logger) *Metrics {
	buckets := []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600}
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		queueWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "inboxq_task_queue_wait_seconds", Help: "Time a job waited in its queue before this process started it.", Buckets: buckets,
		}, []string{"kind", "queue"}),
		run: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "inboxq_task_run_seconds", Help: "Run time of attempts worked by this process.", Buckets: buckets,
		}, []string{"kind", "queue"}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "inboxq_task_attempts_total", Help: "Attempts ended in this process, by outcome (completed, failed, cancelled, snoozed, interrupted).",
		}, []string{"kind", "queue", "outcome"}),
	}
	m.Registry.MustRegister(m.queueWait, m.run, m.outcomes, &dbCollector{store: st, logger: logger},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Observe records River's events of client until ctx ends; it blocks.
// Only working clients emit them.
func (m *Metrics) Observe(ctx context.Context, client *Client) error {
	events, cancel := client.Subscribe(river.EventKindJobCompleted, river.EventKindJobFailed,
		river.EventKindJobCancelled, river.EventKindJobSnoozed, river.EventKindJobInterrupted)
	defer cancel()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-events:
			if !ok {
				return nil
			}
			m.observe(ev)
		}
	}
}

func (m *Metrics) observe(ev *river.Event) {
	kind, queue := ev.Job.Kind, ev.Job.Queue
	outcome := map[river.EventKind]string{
		river.EventKindJobCompleted: "completed", river.EventKindJobFailed: "failed",
		river.EventKindJobCancelled: "cancelled", river.EventKindJobSnoozed: "snoozed",
		river.EventKindJobInterrupted: "interrupted",
	}[ev.Kind]
	m.outcomes.WithLabelValues(kind, queue, outcome).Inc()
	if ev.JobStats != nil {
		m.queueWait.WithLabelValues(kind, queue).Observe(ev.JobStats.QueueWaitDuration.Seconds())
		m.run.WithLabelValues(kind, queue).Observe(ev.JobStats.RunDuration.Seconds())
	}
}

// dbCollector reads task and queue gauges from the database at scrape time.
type dbCollector struct {
	store  *store.Store
	logger *slog.Logger
}

var (
	descTasks     = prometheus.NewDesc("inboxq_tasks", "Tasks retained, by kind, queue and state.", []string{"kind", "queue", "state"}, nil)
	descQueueJobs = prometheus.NewDesc("inboxq_queue_jobs", "Unfinished jobs per queue and River state.", []string{"queue", "state"}, nil)
	descQueueWait = prometheus.NewDesc("inboxq_queue_oldest_wait_seconds", "Age of the oldest job waiting in the queue.", []string{"queue"}, nil)
	descPaused    = prometheus.NewDesc("inboxq_queue_paused", "1 when the queue is paused.", []string{"queue"}, nil)
	descUp        = prometheus.NewDesc("inboxq_database_up", "1 when the last scrape could read the database.", nil, nil)
)

// Describe implements prometheus.Collector.
func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descTasks, descQueueJobs, descQueueWait, descPaused, descUp} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.store.TaskCounts(ctx, nil)
	var queues []inbox.Queue
	if err == nil {
		queues, err = c.store.QueueOverview(ctx, inbox.Queues(), nil)
	}
	if err != nil {
		c.logger.WarnContext(ctx, "metrics_collect_failed", slog.Any("err", err))
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, 1)
	for _, tc := range counts {
		ch <- prometheus.MustNewConstMetric(descTasks, prometheus.GaugeValue, float64(tc.Tasks), tc.Kind, tc.Queue, string(tc.State))
	}
	for _, q := range queues {
		for state, n := range map[string]int64{"available": q.Available, "running": q.Running, "scheduled": q.Scheduled, "retryable": q.Retryable, "pending": q.Pending} {
			ch <- prometheus.MustNewConstMetric(descQueueJobs, prometheus.GaugeValue, float64(n), q.Name, state)
		}
		ch <- prometheus.MustNewConstMetric(descQueueWait, prometheus.GaugeValue, q.OldestWait.Seconds(), q.Name)
		paused := 0.0
		if q.Paused {
			paused = 1
		}
		ch <- prometheus.MustNewConstMetric(descPaused, prometheus.GaugeValue, paused, q.Name)
	}
}
