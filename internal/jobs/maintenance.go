package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store"
)

// healthRetention is how long health checks are kept.
const healthRetention = 7 * 24 * time.Hour

// MonitorSystemHealthArgs starts one health check.
type MonitorSystemHealthArgs struct{}

// Kind names the job.
func (MonitorSystemHealthArgs) Kind() string { return "monitor_system_health" }

// InsertOpts puts health checks on the maintenance queue, at most one per
// minute however many processes ask.
func (MonitorSystemHealthArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       inbox.QueueMaintenance,
		MaxAttempts: 3,
		UniqueOpts:  river.UniqueOpts{ByPeriod: time.Minute},
	}
}

// MonitorSystemHealthWorker measures database latency and queue depths and
// records them.
type MonitorSystemHealthWorker struct {
	river.WorkerDefaults[MonitorSystemHealthArgs]
	Store *store.Store
}

// HealthReport is the recorded output of a health check.
type HealthReport struct {
	CheckID      int64              `json:"check_id"`
	DBLatencyUS  int64              `json:"db_latency_us"`
	Queues       []store.QueueDepth `json:"queues"`
	PrunedChecks int64              `json:"pruned_checks"`
}

// Work runs one health check.
func (w *MonitorSystemHealthWorker) Work(ctx context.Context, job *river.Job[MonitorSystemHealthArgs]) error {
	latency, err := w.Store.Ping(ctx)
	if err != nil {
		return err
	}
	depths, err := w.Store.QueueDepths(ctx)
	if err != nil {
		return err
	}
	check, err := w.Store.HealthCheckRecord(ctx, latency, depths)
	if err != nil {
		return err
	}
	pruned, err := w.Store.HealthCheckPrune(ctx, time.Now().Add(-healthRetention))
	if err != nil {
		return err
	}
	report := HealthReport{CheckID: check.ID, DBLatencyUS: latency.Microseconds(), Queues: depths, PrunedChecks: pruned}
	if err := river.RecordOutput(ctx, report); err != nil {
		return fmt.Errorf("recording output: %w", err)
	}
	return nil
}
