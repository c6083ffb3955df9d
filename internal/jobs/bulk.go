package jobs

import (
	"context"
	"errors"
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

// RegisterBulk adds the bulk family (archive, label, delete) to reg.
func RegisterBulk(reg *Registry, st *store.Store, g *gmail.Provider, logger *slog.Logger) {
	m := mailbox{store: st, gmail: g, logger: logger, slice: DefaultSlice}
	check := func(ctx context.Context, st *store.Store, owner int64, args river.JobArgs) error {
		b := args.(bulkArgs)
		if err := b.target().Check(); err != nil {
			return err
		}
		if l, ok := args.(BulkLabelEmailsArgs); ok && len(l.Add)+len(l.Remove) == 0 {
			return inbox.Invalid("args.add", "choose labels to add or to remove")
		}
		if d, ok := args.(BulkDeleteEmailsArgs); ok && d.Permanent && d.Confirm != "delete permanently" {
			return inbox.Invalid("args.confirm", `permanent deletion cannot be undone: set confirm to "delete permanently"`)
		}
		if err := checkAccount(ctx, st, owner, b.Account()); err != nil {
			return err
		}
		if err := b.target().CheckCluster(ctx, st, owner, b.Account()); errors.Is(err, inbox.ErrNotFound) {
			return inbox.Invalid("args.target.cluster_id", "cluster %s: you have no such cluster in account %d", b.target().ClusterID, b.Account())
		} else if err != nil {
			return err
		}
		// What the worker would refuse for good is refused now, before a
		// task exists: a permanent delete needs the full scope.
		if d, ok := args.(BulkDeleteEmailsArgs); ok && d.Permanent {
			acct, err := st.AccountGet(ctx, b.Account(), &owner)
			if err != nil {
				return err
			}
			if !acct.HasScope(gmail.ScopeFull) {
				return inbox.Invalid("args.permanent", "permanent deletion needs full access to the mailbox, which %s did not grant: "+
					"move the messages to the trash instead (recoverable for 30 days)", acct.Email)
			}
		}
		return nil
	}
	Add(reg, &bulkWorker[BulkArchiveEmailsArgs]{mailbox: m}, Info{
		Title:       "Archive messages",
		Description: "Archives messages (removes INBOX) chosen by ids, or by sender, label, age and cluster; 1000 per Gmail call.",
		Notify:      true, Check: check, Result: BulkResult{},
		Example: BulkArchiveEmailsArgs{AccountArgs: exampleAccount, Target: BulkTarget{From: "newsletter@example.com", OlderThanDays: 30}},
	})
	Add(reg, &bulkWorker[BulkLabelEmailsArgs]{mailbox: m}, Info{
		Title:       "Label messages",
		Description: "Adds and removes labels (creating missing ones) on messages chosen by ids or by sender, label and age.",
		Notify:      true, Check: check, Result: BulkResult{},
		Example: BulkLabelEmailsArgs{AccountArgs: exampleAccount, Target: BulkTarget{Label: "CATEGORY_PROMOTIONS", OlderThanDays: 90},
			Add: []string{"Old promotions"}, Remove: []string{"INBOX"}},
	})
	Add(reg, &bulkWorker[BulkDeleteEmailsArgs]{mailbox: m}, Info{
		Title:       "Delete messages",
		Description: "Moves messages to the trash (recoverable for 30 days); permanent deletion needs the full mail scope and an explicit confirmation.",
		Notify:      true, Check: check, Result: BulkResult{},
		Example: BulkDeleteEmailsArgs{AccountArgs: exampleAccount, Target: BulkTarget{IDs: []string{"18f3a2b4c5d6e7f8", "18f3a2b4c5d6e7f9"}}},
	})
}

// BulkTarget chooses messages: explicit ids, or every stored message that
// matches all the filters given.
type BulkTarget struct {
	IDs           []string `json:"ids,omitempty" maxItems:"1000" title:"Message ids" doc:"These messages (at most 1000, Gmail's batch size; for more, choose by sender, label or age); or leave out and filter"`
	From          string   `json:"from,omitempty" maxLength:"200" title:"From" doc:"Only messages whose sender contains this, e.g. newsletter@ or example.com (case-insensitive)"`
	Label         string   `json:"label,omitempty" maxLength:"200" title:"Label" doc:"Only messages with this Gmail label, by its id, e.g. CATEGORY_PROMOTIONS or INBOX"`
	OlderThanDays int      `json:"older_than_days,omitempty" minimum:"0" maximum:"36500" title:"Older than (days)" doc:"Only messages received more than this many days ago"`
	ClusterID     string   `json:"cluster_id,omitempty" maxLength:"40" title:"Cluster" doc:"Only the messages of this cluster of the account (GET /api/v1/clusters), by its id, e.g. 12.9f86d081884c7d65"`
}

// Check refuses a target that selects nothing in particular.
func (t BulkTarget) Check() error {
	if len(t.IDs) == 0 && t.From == "" && t.Label == "" && t.OlderThanDays == 0 && t.ClusterID == "" {
		return inbox.Invalid("args.target", "choose messages: ids, or at least one of from, label, older_than_days, cluster_id")
	}
	if t.ClusterID != "" {
		if _, err := ParseClusterID(t.ClusterID, "args.target.cluster_id"); err != nil {
			return err
		}
	}
	return nil
}

// CheckCluster refuses a target whose cluster is not one of owner's in
// account (inbox.ErrNotFound), after Check.
func (t BulkTarget) CheckCluster(ctx context.Context, st *store.Store, owner, account int64) error {
	if t.ClusterID == "" {
		return nil
	}
	c, _ := ParseClusterID(t.ClusterID, "args.target.cluster_id")
	if c.Account != account {
		return fmt.Errorf("cluster %s is not one of account %d: %w", t.ClusterID, account, inbox.ErrNotFound)
	}
	_, err := st.ClusterGet(ctx, owner, account, c.ID)
	return err
}

// StoreTarget is the target as a store selection, ages counted from now.
func (t BulkTarget) StoreTarget(now time.Time) store.MessageTarget {
	mt := store.MessageTarget{IDs: t.IDs, Sender: t.From, Label: t.Label}
	if c, err := ParseClusterID(t.ClusterID, ""); err == nil {
		mt.Cluster = c.ID
	} else if t.ClusterID != "" {
		mt.Cluster = "-" // no such cluster: selects nothing
	}
	if t.OlderThanDays > 0 {
		before := now.AddDate(0, 0, -t.OlderThanDays)
		mt.Before = &before
	}
	return mt
}

type bulkArgs interface {
	river.JobArgs
	Account() int64
	target() BulkTarget
	owned() AccountArgs
	// change says what one batch does to Gmail and to the local store.
	change(ctx context.Context, c *gmail.Client, acct inbox.Account) (bulkChange, error)
}

// bulkChange is what each batch applies.
type bulkChange struct {
	add, remove []string
	delete      bool
}

// BulkArchiveEmailsArgs archives messages.
type BulkArchiveEmailsArgs struct {
	AccountArgs
	Target BulkTarget `json:"target" title:"Which messages" doc:"Choose the messages by id, or by sender, label and age (all that match)"`
}

// Kind names the job.
func (BulkArchiveEmailsArgs) Kind() string { return "bulk_archive_emails" }

// InsertOpts: the bulk queue.
func (BulkArchiveEmailsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: inbox.QueueBulk, Priority: 3, MaxAttempts: 10}
}

func (a BulkArchiveEmailsArgs) target() BulkTarget { return a.Target }
func (a BulkArchiveEmailsArgs) owned() AccountArgs { return a.AccountArgs }
func (BulkArchiveEmailsArgs) change(context.Context, *gmail.Client, inbox.Account) (bulkChange, error) {
	return bulkChange{remove: []string{"INBOX"}}, nil
}

// BulkLabelEmailsArgs adds and removes labels.
type BulkLabelEmailsArgs struct {
	AccountArgs
	Target BulkTarget `json:"target" title:"Which messages" doc:"Choose the messages by id, or by sender, label and age (all that match)"`
	Add    []string   `json:"add,omitempty" maxItems:"100" title:"Labels to add" doc:"Label names to add; missing user labels are created"`
	Remove []string   `json:"remove,omitempty" maxItems:"100" title:"Labels to remove" doc:"Label names or ids to remove"`
}

// Kind names the job.
func (BulkLabelEmailsArgs) Kind() string { return "bulk_label_emails" }

// InsertOpts: the bulk queue.
func (BulkLabelEmailsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: inbox.QueueBulk, Priority: 3, MaxAttempts: 10}
}

func (a BulkLabelEmailsArgs) target() BulkTarget { return a.Target }
func (a BulkLabelEmailsArgs) owned() AccountArgs { return a.AccountArgs }
func (a BulkLabelEmailsArgs) change(ctx context.Context, c *gmail.Client, _ inbox.Account) (bulkChange, error) {
	if len(a.Add)+len(a.Remove) == 0 {
		return bulkChange{}, river.JobCancel(errors.New("nothing to add or remove"))
	}
	add, err := c.LabelIDs(ctx, a.Add)
	if err != nil {
		return bulkChange{}, err
	}
	remove, err := c.LabelIDs(ctx, a.Remove)
	if err != nil {
		return bulkChange{}, err
	}
	return bulkChange{add: add, remove: remove}, nil
}

// BulkDeleteEmailsArgs trashes (or, confirmed, deletes) messages.
type BulkDeleteEmailsArgs struct {
	AccountArgs
	Target    BulkTarget `json:"target" title:"Which messages" doc:"Choose the messages by id, or by sender, label and age (all that match)"`
	Permanent bool       `json:"permanent,omitempty" title:"Delete permanently" doc:"Delete for good instead of moving to the trash; needs full access to the mailbox"`
	Confirm   string     `json:"confirm,omitempty" title:"Confirmation" doc:"Type \"delete permanently\" when deleting permanently"`
}

// Kind names the job.
func (BulkDeleteEmailsArgs) Kind() string { return "bulk_delete_emails" }

// InsertOpts: the bulk queue.
func (BulkDeleteEmailsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: inbox.QueueBulk, Priority: 3, MaxAttempts: 10}
}

func (a BulkDeleteEmailsArgs) target() BulkTarget { return a.Target }
func (a BulkDeleteEmailsArgs) owned() AccountArgs { return a.AccountArgs }
func (a BulkDeleteEmailsArgs) change(_ context.Context, _ *gmail.Client, acct inbox.Account) (bulkChange, error) {
	if !a.Permanent {
		return bulkChange{add: []string{"TRASH"}, remove: []string{"INBOX"}}, nil
	}
	if !acct.HasScope(gmail.ScopeFull) {
		return bulkChange{}, river.JobCancel(fmt.Errorf("permanent deletion needs the full mail scope (%s), which %s did not grant; trash instead, or connect again granting it", gmail.ScopeFull, acct.Email))
	}
	return bulkChange{delete: true}, nil
}

// bulkBatch is Gmail's limit on ids per batch call.
const bulkBatch = 1000

// bulkCursor is a bulk action's checkpoint, committed with each batch.
type bulkCursor struct {
	AfterID string `json:"after_id"`
	Done    int64  `json:"done"`
	Calls   int    `json:"calls"`
}

// BulkResult is a bulk action's recorded output.
type BulkResult struct {
	Messages   int64 `json:"messages" doc:"Messages changed (archived, relabelled or deleted)"`
	BatchCalls int   `json:"batch_calls" doc:"Gmail batch calls made, up to 1000 messages each"`
}

type bulkWorker[T bulkArgs] struct {
	WorkerDefaults[T]
	mailbox
}

// Timeout: each attempt runs one slice (a large mailbox takes many), so a
// dead worker's bulk job is rescued within RescueDelay like every other.
func (w *bulkWorker[T]) Timeout(*river.Job[T]) time.Duration { return 2 * w.slice }

// Work applies the change in batches of 1000 ids, in id order. Each batch's
// Gmail call is followed by one transaction that mirrors it in the local
// store, records the progress and moves the checkpoint: a retry resumes
// after the last committed batch, and at worst repeats the one batch whose
// commit was lost, which Gmail applies idempotently. Cancellation is
// honoured between batches.
func (w *bulkWorker[T]) Work(ctx context.Context, job *river.Job[T]) error {
	acct, c, err := w.open(ctx, job.Args.owned())
	if err != nil {
		return err
	}
	target := job.Args.target().StoreTarget(job.CreatedAt)
	rep := progress.From(ctx)
	started := time.Now()
	river.ResumableStepCursor(ctx, "batches", nil, CursorStep(job.JobRow, w.logger, func(ctx context.Context, cur bulkCursor) error {
		ch, err := job.Args.change(ctx, c, acct)
		if err != nil {
			return w.outcome(ctx, acct, err)
		}
		left, err := w.store.MessageSelectCount(ctx, acct.ID, target, cur.AfterID)
		if err != nil {
			return err
		}
		rep.SetTotal(cur.Done + left)
		rep.Set(cur.Done)
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			ids, err := w.store.MessageSelect(ctx, acct.ID, target, cur.AfterID, bulkBatch)
			if err != nil {
				return err
			}
			if len(ids) == 0 {
				break
			}
			rep.Stage("applying", fmt.Sprintf("batch %d", cur.Calls+1))
			if ch.delete {
				err = c.BatchDelete(ctx, ids)
			} else {
				err = c.BatchModify(ctx, ids, ch.add, ch.remove)
			}
			if err != nil {
				return w.outcome(ctx, acct, err)
			}
			next := bulkCursor{AfterID: ids[len(ids)-1], Done: cur.Done + int64(len(ids)), Calls: cur.Calls + 1}
			err = w.store.InTx(ctx, func(tx pgx.Tx, st *store.Store) error {
				if ch.delete {
					if _, err := st.MessageDelete(ctx, acct.ID, ids); err != nil {
						return err
					}
				} else if err := st.MessageRelabel(ctx, acct.ID, ids, ch.add, ch.remove); err != nil {
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
				return river.JobSnooze(0) // continue after the committed batch in a new slice
			}
		}
		rep.SetTotal(cur.Done)
		rep.Stage("done", countOf(int64(cur.Done), "message")+" in "+countOf(int64(cur.Calls), "call"))
		return RecordOutput(ctx, BulkResult{Messages: cur.Done, BatchCalls: cur.Calls})
	}))
	return nil
}
