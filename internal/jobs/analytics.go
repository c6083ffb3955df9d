package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store"
)

// RegisterAnalytics adds update_analytics (a person's rollups) and
// update_system_analytics (the operators' rollups, then every person's) to
// reg.
func RegisterAnalytics(reg *Registry, st *store.Store) {
	Add(reg, &UpdateAnalyticsWorker{Store: st}, Info{
		Title: "Update analytics",
		Description: "Rolls up your mail per day and category (received, unread, classified), your top senders and what your bulk actions changed, " +
			"recounting only the days that changed since the last run. The hourly system rollup does the same for everyone with an account.",
		Result: store.AnalyticsUserRollup{}, Example: UpdateAnalyticsArgs{},
	})
	Add(reg, &UpdateSystemAnalyticsWorker{Store: st}, Info{
		Title: "Update system analytics",
		Description: "Rolls up finished tasks per kind and day (outcomes, run time and queue wait percentiles, Gmail quota units) before River's cleaner removes them, " +
			"then every user's mail, senders and bulk actions as update_analytics does. Scheduled hourly.",
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
	if err := RecordOutput(ctx, res); err != nil {
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
	Users    int   `json:"users" doc:"Users with an account whose rollups were brought up to date"`
	UserDays int64 `json:"user_days" doc:"Account days recounted over all those users"`
	UserRows int64 `json:"user_rows" doc:"Rows of users' rollups written (mail days, top senders, bulk days)"`
}

// UpdateSystemAnalyticsWorker rolls up finished tasks and every person's
// changed days.
type UpdateSystemAnalyticsWorker struct {
	river.WorkerDefaults[UpdateSystemAnalyticsArgs]
	Store *store.Store
}

// Timeout: a first run over many large mailboxes takes a while (about a
// second per 100,000 messages).
func (w *UpdateSystemAnalyticsWorker) Timeout(*river.Job[UpdateSystemAnalyticsArgs]) time.Duration {
	return 30 * time.Minute
}

// Work rolls up the system, then each user with an account in turn, each
// in a transaction of its own (an interrupted run keeps the users done).
// The users' rollups run here rather than as tasks of their own so that an
// hourly schedule does not put a task in every person's list; a run with
// nothing new costs about a millisecond per user.
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
	for _, u := range users {
		if err := ctx.Err(); err != nil {
			return err
		}
		r, err := w.Store.AnalyticsUpdateUser(ctx, u, BulkKinds)
		if err != nil {
			return fmt.Errorf("user %d: %w", u, err)
		}
		res.Users++
		res.UserDays += r.Days
		res.UserRows += r.MailRows + r.SenderRows + r.BulkRows
	}
	if err := RecordOutput(ctx, res); err != nil {
		return fmt.Errorf("recording output: %w", err)
	}
	return nil
}
