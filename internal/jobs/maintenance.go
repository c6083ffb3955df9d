package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/inboxq/inboxq/internal/exportdir"
	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store"
)

// RegisterMaintenance adds the maintenance family to reg, analytics
// included (its hourly schedule is built in, like health's). exportDir is
// where export archives live ("" when this process keeps none).
func RegisterMaintenance(reg *Registry, st *store.Store, th HealthThresholds, exportDir string) {
	Add(reg, &MonitorSystemHealthWorker{Store: st, Thresholds: th}, Info{
		Title:       "Check system health",
		Description: "Measures database latency, queue depths and ages, stuck jobs and failure rates; raises and resolves alerts.",
		AdminOnly:   true, Result: HealthReport{}, Example: MonitorSystemHealthArgs{},
	})
	Add(reg, &CleanupExpiredTokensWorker{Store: st, ExportDir: exportDir}, Info{
		Title:       "Clean up expired tokens",
		Description: "Deletes API tokens that have expired, revoked tokens after 30 days, and expired export archives.",
		AdminOnly:   true, Result: CleanupTokensResult{}, Example: CleanupExpiredTokensArgs{},
	})
	RegisterAnalytics(reg, st)
}

// healthRetention is how long health checks are kept.
const healthRetention = 7 * 24 * time.Hour

// HealthThresholds are the limits past which the health monitor alerts.
type HealthThresholds struct {
	DBLatency   time.Duration // one round trip
	QueueWait   time.Duration // age of the oldest job waiting in a queue
	StuckAfter  time.Duration // a running attempt older than this is stuck
	FailureRate float64       // failed ÷ finished over the window
	MinFinished int64         // finished tasks needed before the rate counts
	Window      time.Duration // the failure-rate window
}

// DefaultHealthThresholds are inboxq's defaults.
func DefaultHealthThresholds() HealthThresholds {
	return HealthThresholds{
		DBLatency:   250 * time.Millisecond,
		QueueWait:   5 * time.Minute,
		StuckAfter:  30 * time.Minute,
		FailureRate: 0.25,
		MinFinished: 20,
		Window:      15 * time.Minute,
	}
}

// MonitorSystemHealthArgs starts one health check.
type MonitorSystemHealthArgs struct{}

// Kind names the job.
func (MonitorSystemHealthArgs) Kind() string { return "monitor_system_health" }

// InsertOpts puts health checks on the maintenance queue, at most one per
// minute however many processes or people ask.
func (MonitorSystemHealthArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       inbox.QueueMaintenance,
		Priority:    1,
		MaxAttempts: 3,
		UniqueOpts:  river.UniqueOpts{ByPeriod: time.Minute},
	}
}

// MonitorSystemHealthWorker measures the system, records a health check and
// raises or resolves alerts for admins.
type MonitorSystemHealthWorker struct {
	river.WorkerDefaults[MonitorSystemHealthArgs]
	Store      *store.Store
	Thresholds HealthThresholds
}

// HealthReport is the recorded output of a health check.
type HealthReport struct {
	CheckID        int64              `json:"check_id" doc:"Id of the recorded health check"`
	DBLatencyUS    int64              `json:"db_latency_us" doc:"One database round trip, in microseconds (µs)"`
	Queues         []store.QueueDepth `json:"queues" doc:"Unfinished jobs per queue and state"`
	StuckJobs      int64              `json:"stuck_jobs" doc:"Running attempts started more than 30 minutes ago"`
	Completed      int64              `json:"completed" doc:"Tasks completed in the last 15 minutes"`
	Failed         int64              `json:"failed" doc:"Tasks that failed for good in the last 15 minutes"`
	FailureRate    float64            `json:"failure_rate" minimum:"0" maximum:"1" doc:"failed ÷ (completed + failed), 0 to 1; 0 when none finished"`
	AlertsRaised   []string           `json:"alerts_raised" doc:"Alert keys this check raised, e.g. health:db_latency or health:queue_wait:sync; empty when none"`
	AlertsResolved []string           `json:"alerts_resolved" doc:"Alert keys this check resolved (their condition cleared); empty when none"`
	PrunedChecks   int64              `json:"pruned_checks" doc:"Health checks older than 7 days deleted"`
}

// condition is one thing the monitor checks.
type condition struct {
	key      string
	bad      bool
	severity string
	title    string
	message  string
}

// Work runs one health check.
func (w *MonitorSystemHealthWorker) Work(ctx context.Context, job *river.Job[MonitorSystemHealthArgs]) error {
	th := w.Thresholds
	now := time.Now()
	latency, err := w.Store.Ping(ctx)
	if err != nil {
		return err
	}
	depths, err := w.Store.QueueDepths(ctx)
	if err != nil {
		return err
	}
	stuck, err := w.Store.TaskStuckCount(ctx, now.Add(-th.StuckAfter))
	if err != nil {
		return err
	}
	outcomes, err := w.Store.TaskOutcomesSince(ctx, now.Add(-th.Window))
	if err != nil {
		return err
	}
	report := HealthReport{
		DBLatencyUS: latency.Microseconds(), Queues: depths, StuckJobs: stuck,
		Completed: outcomes.Completed, Failed: outcomes.Failed,
		AlertsRaised: []string{}, AlertsResolved: []string{},
	}
	finished := outcomes.Completed + outcomes.Failed
	if finished > 0 {
		report.FailureRate = float64(outcomes.Failed) / float64(finished)
	}

	conds := []condition{
		{key: "health:db_latency", bad: latency > th.DBLatency, severity: inbox.SeverityWarning,
			title:   "Database is slow",
			message: fmt.Sprintf("a round trip took %s (threshold %s)", latency.Round(time.Millisecond), th.DBLatency)},
		{key: "health:stuck_jobs", bad: stuck > 0, severity: inbox.SeverityCritical,
			title:   "Jobs appear stuck",
			message: fmt.Sprintf("%d running job(s) started more than %s ago", stuck, th.StuckAfter)},
		{key: "health:failure_rate", bad: finished >= th.MinFinished && report.FailureRate > th.FailureRate, severity: inbox.SeverityWarning,
			title:   "Many tasks are failing",
			message: fmt.Sprintf("%d of %d tasks finished in the last %s failed (threshold %.0f%%)", outcomes.Failed, finished, th.Window, th.FailureRate*100)},
	}
	waits := map[string]float64{}
	for _, d := range depths {
		if d.State == "available" {
			waits[d.Queue] = d.OldestWaitSeconds
		}
	}
	for _, q := range inbox.Queues() {
		wait := time.Duration(waits[q] * float64(time.Second))
		conds = append(conds, condition{key: "health:queue_wait:" + q, bad: wait > th.QueueWait, severity: inbox.SeverityWarning,
			title:   "Queue " + q + " is backed up",
			message: fmt.Sprintf("the oldest waiting job has waited %s (threshold %s)", wait.Round(time.Second), th.QueueWait)})
	}
	for _, c := range conds {
		if c.bad {
			_, raised, err := w.Store.AlertRaise(ctx, inbox.Alert{Key: c.key, Severity: c.severity, Title: c.title, Message: c.message})
			if err != nil {
				return err
			}
			if raised {
				report.AlertsRaised = append(report.AlertsRaised, c.key)
			}
			continue
		}
		resolved, err := w.Store.AlertResolve(ctx, c.key)
		if err != nil {
			return err
		}
		if resolved {
			report.AlertsResolved = append(report.AlertsResolved, c.key)
		}
	}

	check, err := w.Store.HealthCheckRecord(ctx, latency, depths, report)
	if err != nil {
		return err
	}
	report.CheckID = check.ID
	if report.PrunedChecks, err = w.Store.HealthCheckPrune(ctx, now.Add(-healthRetention)); err != nil {
		return err
	}
	if err := RecordOutput(ctx, report); err != nil {
		return fmt.Errorf("recording output: %w", err)
	}
	return nil
}

// revokedTokenRetention is how long revoked tokens stay for the record.
const revokedTokenRetention = 30 * 24 * time.Hour

// CleanupExpiredTokensArgs starts one token cleanup.
type CleanupExpiredTokensArgs struct{}

// Kind names the job.
func (CleanupExpiredTokensArgs) Kind() string { return "cleanup_expired_tokens" }

// InsertOpts puts the cleanup on the maintenance queue, once per hour at most.
func (CleanupExpiredTokensArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{
		Queue:       inbox.QueueMaintenance,
		Priority:    3,
		MaxAttempts: 5,
		UniqueOpts:  river.UniqueOpts{ByPeriod: time.Hour},
	}
}

// CleanupExpiredTokensWorker deletes dead API tokens, and expired export
// archives (the other credential-like thing that outlives its use: a link
// to a person's data).
type CleanupExpiredTokensWorker struct {
	river.WorkerDefaults[CleanupExpiredTokensArgs]
	Store     *store.Store
	ExportDir string
}

// CleanupTokensResult is the recorded output of a token cleanup.
type CleanupTokensResult struct {
	Deleted        int64 `json:"deleted" doc:"API tokens deleted: expired ones, and revoked ones after 30 days"`
	ExportsDeleted int64 `json:"exports_deleted" doc:"Expired export archives deleted; 0 on processes that keep no archives"`
	// IdempotencyKeysDeleted counts kept Idempotency-Key responses pruned.
	IdempotencyKeysDeleted int64 `json:"idempotency_keys_deleted" doc:"Saved Idempotency-Key responses older than 24 hours deleted"`
	WorkflowsDeleted       int64 `json:"workflows_deleted" doc:"Workflows finished more than 7 days ago deleted (their tasks go with River's retention)"`
}

// idempotencyKeyRetention is how long an Idempotency-Key's response is kept.
const idempotencyKeyRetention = 24 * time.Hour

// Work deletes expired tokens, and revoked ones past their retention.
func (w *CleanupExpiredTokensWorker) Work(ctx context.Context, job *river.Job[CleanupExpiredTokensArgs]) error {
	now := time.Now()
	n, err := w.Store.TokenDeleteDead(ctx, now, now.Add(-revokedTokenRetention))
	if err != nil {
		return err
	}
	res := CleanupTokensResult{Deleted: n}
	// Idempotency-Key responses are replayed for 24 hours (internal/api/idempotency.go).
	if res.IdempotencyKeysDeleted, err = w.Store.IdempotencyKeyPrune(ctx, now.Add(-idempotencyKeyRetention)); err != nil {
		return err
	}
	if res.WorkflowsDeleted, err = w.Store.WorkflowPrune(ctx, now.Add(-DefaultRetention)); err != nil {
		return err
	}
	if w.ExportDir != "" {
		dir := exportdir.Dir{Store: w.Store, Path: w.ExportDir}
		if res.ExportsDeleted, err = dir.Prune(ctx); err != nil {
			return err
		}
	}
	if err := RecordOutput(ctx, res); err != nil {
		return fmt.Errorf("recording output: %w", err)
	}
	return nil
}
