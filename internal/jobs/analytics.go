package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store"
)

// RegisterAnalytics adds update_analytics (a person's rollups) and
// update_system_analytics (the operators' rollups, which also start every
// person's) to reg.
func RegisterAnalytics(reg *Registry, st *store.Store) {
	Add(reg, &UpdateAnalyticsWorker{Store: st}, Info{
		Title: "Update analytics",
		Description: "Rolls up your mail per day and category (received, unread, classified), your top senders and what your bulk actions changed, " +
			"recounting only the days that changed since the last run. Runs hourly for everyone with an account.",
		Result: store.AnalyticsUserRollup{}, Example: UpdateAnalyticsArgs{},
	})
	Add(reg, &UpdateSystemAnalyticsWorker{Store: st}, Info{
		Title: "Update system analytics",
		Description: "Rolls up finished tasks per kind and day (outcomes, run time and queue wait percentiles, Gmail quota units) before River's cleaner removes them, " +
			"and starts update_analytics for every user with an account. Scheduled hourly.",
		AdminOnly: true, Result: SystemAnalyticsResult{}, Example: UpdateSystemAnalyticsArgs{},
	})
}

// BulkKinds are the kinds whose recorded output counts messages a person
// removed or relabelled in bulk (BulkResult.Messages).
var BulkKinds = []string{"bulk_archive_emails", "bulk_delete_emails", "bulk_label_emails"}

// UpdateAnalyticsArgs rolls up one person's analytics.
type UpdateAnalyticsArgs struct {
	Owned
}

// Kind names the job.
func (UpdateAnalyticsArgs) Kind() string { return "update_analytics" }

// InsertOpts: the maintenance queue, one per person in flight (a second
// request while one waits or runs would find nothing left to do).
func (UpdateAnalyticsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: inbox.QueueMaintenance, Priority: 3, MaxAttempts: 5,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: unfinished}}
}

// UpdateAnalyticsWorker rolls up a person's changed days.
type UpdateAnalyticsWorker struct {
	river.WorkerDefaults[UpdateAnalyticsArgs]
	Store *store.Store
}

// Work runs one incremental rollup and records what it wrote.
func (w *UpdateAnalyticsWorker) Work(ctx context.Context, job *river.Job[UpdateAnalyticsArgs]) error {
	res, err := w.Store.AnalyticsUpdateUser(ctx, job.Args.OwnerID, BulkKinds)
	if err != nil {
		return err
	}
	if err := river.RecordOutput(ctx, res); err != nil {
		return fmt.Errorf("recording output: %w", err)
	}
	return nil
}

// UpdateSystemAnalyticsArgs rolls up the system's analytics.
type UpdateSystemAnalyticsArgs struct{}

// Kind names the job.
func (UpdateSystemAnalyticsArgs) Kind() string { return "update_system_analytics" }

// InsertOpts: the maintenance queue, at most one per minute.
func (UpdateSystemAnalyticsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: inbox.QueueMaintenance, Priority: 3, MaxAttempts: 5,
		UniqueOpts: river.UniqueOpts{ByPeriod: time.Minute}}
}

// SystemAnalyticsResult is what update_system_analytics records.
type SystemAnalyticsResult struct {
	store.AnalyticsSystemRollup
	UsersStarted int `json:"users_started" doc:"update_analytics tasks started, one per user with an account (those already waiting are not repeated)"`
}

// UpdateSystemAnalyticsWorker rolls up finished tasks and starts each
// person's rollup.
type UpdateSystemAnalyticsWorker struct {
	river.WorkerDefaults[UpdateSystemAnalyticsArgs]
	Store *store.Store
}

// Work rolls up the system, then inserts update_analytics for every user
// with an account (unique per user, so a user whose rollup still waits gets
// no second one).
func (w *UpdateSystemAnalyticsWorker) Work(ctx context.Context, job *river.Job[UpdateSystemAnalyticsArgs]) error {
	roll, err := w.Store.AnalyticsUpdateSystem(ctx)
	if err != nil {
		return err
	}
	res := SystemAnalyticsResult{AnalyticsSystemRollup: roll}
	users, err := w.Store.AnalyticsUsers(ctx)
	if err != nil {
		return err
	}
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return fmt.Errorf("starting user rollups: %w", err)
	}
	for start := 0; start < len(users); start += 1000 {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch := users[start:min(start+1000, len(users))]
		params := make([]river.InsertManyParams, len(batch))
		for i, u := range batch {
			params[i] = river.InsertManyParams{Args: UpdateAnalyticsArgs{Owned: Owned{OwnerID: u}}}
		}
		inserted, err := client.InsertMany(ctx, params)
		if err != nil {
			return fmt.Errorf("starting user rollups: %w", err)
		}
		for _, r := range inserted {
			if !r.UniqueSkippedAsDuplicate {
				res.UsersStarted++
			}
		}
	}
	if err := river.RecordOutput(ctx, res); err != nil {
		return fmt.Errorf("recording output: %w", err)
	}
	return nil
}
