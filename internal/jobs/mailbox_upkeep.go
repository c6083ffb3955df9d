package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/inboxq/inboxq/internal/gmail"
	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/progress"
	"github.com/inboxq/inboxq/internal/store"
)

// RegisterUpkeep adds the local-copy upkeep kinds of the sync family.
func RegisterUpkeep(reg *Registry, st *store.Store, g *gmail.Provider, logger *slog.Logger) {
	m := mailbox{store: st, gmail: g, logger: logger, slice: DefaultSlice}
	check := func(ctx context.Context, st *store.Store, owner int64, args river.JobArgs) error {
		return checkAccount(ctx, st, owner, args.(interface{ Account() int64 }).Account())
	}
	Add(reg, &SyncEmailMetadataWorker{mailbox: m}, Info{
		Title:       "Refresh stored messages",
		Description: "Refreshes the labels and metadata of every stored message, 100 per batch; forgets the ones Gmail no longer has.",
		Check:       check, Result: UpkeepResult{},
		Example: SyncEmailMetadataArgs{AccountArgs: exampleAccount},
	})
	Add(reg, &CleanupOldEmailsWorker{mailbox: m}, Info{
		Title:       "Forget old messages",
		Description: "Forgets local copies of messages older than the retention period; touches Gmail only when asked, and then only to trash.",
		Check:       check, Result: UpkeepResult{},
		Example: CleanupOldEmailsArgs{AccountArgs: exampleAccount, OlderThanDays: 365},
	})
}

// SyncEmailMetadataArgs refreshes an account's stored metadata.
type SyncEmailMetadataArgs struct {
	AccountArgs
}

// Kind names the job.
func (SyncEmailMetadataArgs) Kind() string { return "sync_email_metadata" }

// InsertOpts: the sync queue, one per account in flight.
func (SyncEmailMetadataArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: inbox.QueueSync, Priority: 3, MaxAttempts: 10,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: unfinished}}
}

// SyncEmailMetadataWorker re-reads stored messages from Gmail.
type SyncEmailMetadataWorker struct {
	WorkerDefaults[SyncEmailMetadataArgs]
	mailbox
}

// Timeout: each attempt runs one slice.
func (w *SyncEmailMetadataWorker) Timeout(*river.Job[SyncEmailMetadataArgs]) time.Duration {
	return 2 * w.slice
}

// upkeepCursor is a keyset checkpoint over stored message ids.
type upkeepCursor struct {
	AfterID string `json:"after_id"`
	Done    int64  `json:"done"`
	Gone    int64  `json:"gone"`
}

// UpkeepResult is the recorded output of the upkeep kinds.
type UpkeepResult struct {
	Messages int64 `json:"messages" doc:"Stored messages looked at (sync_email_metadata: re-read from Gmail; cleanup_old_emails: forgotten)"`
	Removed  int64 `json:"removed" doc:"Local copies forgotten (sync_email_metadata: gone from Gmail; cleanup_old_emails: past the retention)"`
	Trashed  int64 `json:"trashed_in_gmail,omitempty" doc:"Messages moved to Gmail's trash (cleanup_old_emails with trash_in_gmail); absent when none"`
}

// Work walks the stored ids in order, 100 per batch, and commits each
// batch's refreshed rows with the checkpoint.
func (w *SyncEmailMetadataWorker) Work(ctx context.Context, job *river.Job[SyncEmailMetadataArgs]) error {
	acct, c, err := w.open(ctx, job.Args.AccountArgs)
	if err != nil {
		return err
	}
	rep := progress.From(ctx)
	started := time.Now()
	river.ResumableStepCursor(ctx, "refresh", nil, CursorStep(job.JobRow, w.logger, func(ctx context.Context, cur upkeepCursor) error {
		total, err := w.store.MessageCount(ctx, acct.ID)
		if err != nil {
			return err
		}
		rep.SetTotal(total)
		rep.Set(cur.Done)
		for {
			ids, err := w.store.MessageIDsAfter(ctx, acct.ID, cur.AfterID, syncPage)
			if err != nil {
				return err
			}
			if len(ids) == 0 {
				break
			}
			msgs, gone, err := c.Metadata(ctx, ids)
			if err != nil {
				return w.outcome(ctx, acct, err)
			}
			next := upkeepCursor{AfterID: ids[len(ids)-1], Done: cur.Done + int64(len(ids)), Gone: cur.Gone + int64(len(gone))}
			err = w.store.InTx(ctx, func(tx pgx.Tx, st *store.Store) error {
				if err := st.MessageUpsert(ctx, acct.ID, msgs); err != nil {
					return err
				}
				if _, err := st.MessageDelete(ctx, acct.ID, gone); err != nil {
					return err
				}
				_, err := river.ResumableSetStepCursorTx[*riverpgxv5.Driver](ctx, tx, job, next)
				return err
			})
			if err != nil {
				return err
			}
			cur = next
			rep.Set(cur.Done)
			if w.sliceOver(started) {
				return river.JobSnooze(0)
			}
		}
		return RecordOutput(ctx, UpkeepResult{Messages: cur.Done, Removed: cur.Gone})
	}))
	return nil
}

// CleanupOldEmailsArgs forgets old local copies of an account's messages.
type CleanupOldEmailsArgs struct {
	AccountArgs
	OlderThanDays int  `json:"older_than_days" minimum:"1" maximum:"36500" title:"Older than (days)" doc:"Retention: forget messages received more than this many days ago"`
	TrashInGmail  bool `json:"trash_in_gmail,omitempty" title:"Also trash them in Gmail" doc:"Also move them to Gmail's trash (recoverable for 30 days); never deletes for good"`
}

// Kind names the job.
func (CleanupOldEmailsArgs) Kind() string { return "cleanup_old_emails" }

// InsertOpts: the maintenance queue, one per account in flight.
func (CleanupOldEmailsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: inbox.QueueMaintenance, Priority: 4, MaxAttempts: 10,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: unfinished}}
}

// CleanupOldEmailsWorker forgets old local copies.
type CleanupOldEmailsWorker struct {
	WorkerDefaults[CleanupOldEmailsArgs]
	mailbox
}

// Work deletes local copies older than the retention, 1000 per batch; with
// TrashInGmail each batch is first trashed in Gmail (one batchModify).
func (w *CleanupOldEmailsWorker) Work(ctx context.Context, job *river.Job[CleanupOldEmailsArgs]) error {
	a := job.Args
	acct, err := w.store.AccountGet(ctx, a.AccountID, &a.OwnerID)
	if err != nil {
		return river.JobCancel(fmt.Errorf("account %d: %w", a.AccountID, err))
	}
	var c *gmail.Client
	if a.TrashInGmail {
		if _, c, err = w.open(ctx, a.AccountArgs); err != nil {
			return err
		}
	}
	before := job.CreatedAt.AddDate(0, 0, -a.OlderThanDays)
	target := store.MessageTarget{Before: &before}
	rep := progress.From(ctx)
	res := UpkeepResult{}
	left, err := w.store.MessageSelectCount(ctx, acct.ID, target, "")
	if err != nil {
		return err
	}
	rep.SetTotal(left)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		ids, err := w.store.MessageSelect(ctx, acct.ID, target, "", bulkBatch)
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			break
		}
		if c != nil {
			if err := c.BatchModify(ctx, ids, []string{"TRASH"}, []string{"INBOX"}); err != nil {
				return w.outcome(ctx, acct, err)
			}
			res.Trashed += int64(len(ids))
		}
		n, err := w.store.MessageDelete(ctx, acct.ID, ids)
		if err != nil {
			return err
		}
		res.Removed += n
		rep.Add(int64(len(ids)))
	}
	res.Messages = res.Removed
	return RecordOutput(ctx, res)
}
