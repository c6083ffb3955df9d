package jobs

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/inboxq/inboxq/internal/gmail"
	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/progress"
	"github.com/inboxq/inboxq/internal/store"
)

// DefaultSlice is how long one attempt of a long mailbox job (sync, metadata
// refresh, bulk action) runs before it hands itself back (snooze, no attempt
// spent) to continue from its checkpoint; its timeout is twice the slice.
// Every job's run is bounded so (MaxJobTimeout), which lets River rescue a
// dead worker's jobs within RescueDelay rather than its default hour.
const DefaultSlice = 2 * time.Minute

// MaxJobTimeout is the longest any job may run in one attempt: twice the
// default slice. Exports (one archive, written whole) get it as well.
const MaxJobTimeout = 2 * DefaultSlice

// RescueDelay is how long after its attempt started River's rescuer hands a
// running job whose worker died to another worker: just above the longest
// timeout of a slice, so a live worker is never overtaken.
func RescueDelay(slice time.Duration) time.Duration {
	return max(2*cmp.Or(slice, DefaultSlice), MaxJobTimeout) + 30*time.Second
}

// RegisterSync adds the email sync family to reg. slice is DefaultSlice
// when zero.
func RegisterSync(reg *Registry, st *store.Store, g *gmail.Provider, logger *slog.Logger, slice time.Duration) {
	m := mailbox{store: st, gmail: g, logger: logger, slice: cmp.Or(slice, DefaultSlice)}
	check := func(ctx context.Context, st *store.Store, owner int64, args river.JobArgs) error {
		return checkAccount(ctx, st, owner, args.(interface{ Account() int64 }).Account())
	}
	Add(reg, &SyncUserEmailsWorker{mailbox: m}, Info{
		Title:       "Full mailbox sync",
		Description: "Full sync: lists the whole mailbox and stores every message's metadata; resumable, page by page.",
		Notify:      true, Check: check, Result: SyncResult{},
		Example: SyncUserEmailsArgs{AccountArgs: exampleAccount},
	})
	Add(reg, &IncrementalSyncWorker{mailbox: m}, Info{
		Title:       "Sync recent changes",
		Description: "Applies Gmail's history since the last sync (added, deleted, relabelled); starts a full sync when the history expired.",
		Check:       check, Result: IncrementalResult{},
		Example: IncrementalSyncArgs{AccountArgs: exampleAccount},
	})
}

// checkAccount refuses an account the owner does not have, or one that
// cannot be worked on until it is connected again (its tasks could only fail).
func checkAccount(ctx context.Context, st *store.Store, owner, account int64) error {
	acct, err := st.AccountGet(ctx, account, &owner)
	if err != nil {
		if errors.Is(err, inbox.ErrNotFound) {
			return inbox.Invalid("args.account_id", "account %d: you have no such account", account)
		}
		return err
	}
	if acct.Status != inbox.AccountConnected {
		return inbox.Invalid("args.account_id", "%s needs reconnecting (Accounts) before inboxq can work on it", acct.Email)
	}
	return nil
}

// unfinished are the states in which a second identical task is refused.
var unfinished = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
	rivertype.JobStateRunning, rivertype.JobStateRetryable, rivertype.JobStateScheduled}

// AccountArgs is embedded by the args of every mailbox task.
type AccountArgs struct {
	Owned
	AccountID int64 `json:"account_id" minimum:"1" river:"unique" title:"Gmail account" doc:"One of your connected Gmail accounts, by id"`
}

// exampleAccount is the account of the kinds' example args.
var exampleAccount = AccountArgs{AccountID: 1}

// Account returns the account the task works on.
func (a AccountArgs) Account() int64 { return a.AccountID }

// SyncUserEmailsArgs starts a full sync of one account.
type SyncUserEmailsArgs struct {
	AccountArgs
}

// Kind names the job.
func (SyncUserEmailsArgs) Kind() string { return "sync_user_emails" }

// InsertOpts: the sync queue, one full sync per account in flight.
func (SyncUserEmailsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: inbox.QueueSync, Priority: 2, MaxAttempts: 10,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: unfinished}}
}

// IncrementalSyncArgs applies one account's history.
type IncrementalSyncArgs struct {
	AccountArgs
}

// Kind names the job.
func (IncrementalSyncArgs) Kind() string { return "incremental_sync" }

// InsertOpts: the sync queue, one incremental sync per account in flight.
func (IncrementalSyncArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: inbox.QueueSync, Priority: 2, MaxAttempts: 10,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: unfinished}}
}

// mailbox is what the sync workers share.
type mailbox struct {
	store  *store.Store
	gmail  *gmail.Provider
	logger *slog.Logger
	slice  time.Duration
}

// sliceOver reports whether this attempt has run its slice: the caller then
// returns river.JobSnooze(0) after its checkpoint, to continue in a fresh one.
func (m mailbox) sliceOver(started time.Time) bool { return time.Since(started) > m.slice }

// open loads the task's account (refusing another owner's) and its client.
func (m mailbox) open(ctx context.Context, a AccountArgs) (inbox.Account, *gmail.Client, error) {
	acct, err := m.store.AccountGet(ctx, a.AccountID, &a.OwnerID)
	if errors.Is(err, inbox.ErrNotFound) {
		return acct, nil, river.JobCancel(fmt.Errorf("account %d is gone", a.AccountID))
	}
	if err != nil {
		return acct, nil, err
	}
	c, err := m.gmail.Client(ctx, acct)
	if err != nil {
		return acct, nil, m.outcome(ctx, acct, err)
	}
	return acct, c, nil
}

// outcome turns a Gmail error into what River should do: a rate limit
// snoozes (no attempt spent), a revoked grant stops for good (the account
// needs a new consent; its owner is told once), other errors retry.
func (m mailbox) outcome(ctx context.Context, acct inbox.Account, err error) error {
	var rl *gmail.RateLimitedError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &rl):
		wait := time.Until(rl.RetryAt) + time.Duration(rand.Int64N(int64(500*time.Millisecond)))
		return river.JobSnooze(max(wait, time.Second))
	case errors.Is(err, gmail.ErrRevoked):
		bg := context.WithoutCancel(ctx)
		if serr := m.store.AccountSetStatus(bg, acct.ID, inbox.AccountNeedsReauth); serr != nil {
			return serr
		}
		owner := acct.OwnerID
		if _, _, aerr := m.store.AlertRaise(bg, inbox.Alert{UserID: &owner, Key: "account:" + strconv.FormatInt(acct.ID, 10) + ":reauth",
			Severity: inbox.SeverityCritical, Title: "Reconnect " + acct.Email,
			Message: "Google no longer accepts inboxq's access to this mailbox; connect it again to resume syncing."}); aerr != nil {
			return aerr
		}
		return river.JobCancel(err)
	case errors.Is(err, gmail.ErrForbidden):
		return river.JobCancel(err)
	}
	return err
}

// syncCursor is a full sync's checkpoint, stored with each page's messages.
type syncCursor struct {
	HistoryID uint64 `json:"history_id"`
	Total     int64  `json:"total"`
	PageToken string `json:"page_token"`
	Done      int64  `json:"done"`
	Pages     int    `json:"pages"`
}

// SyncUserEmailsWorker runs full syncs.
type SyncUserEmailsWorker struct {
	WorkerDefaults[SyncUserEmailsArgs]
	mailbox
}

// WorkerDefaults is river.WorkerDefaults, named for embedding beside mailbox.
type WorkerDefaults[T river.JobArgs] = river.WorkerDefaults[T]

// syncPage is how many messages a full sync lists and stores per
// checkpoint: a killed worker redoes at most one page.
const syncPage = 100

// Timeout: each attempt runs one slice (a large mailbox takes many).
func (w *SyncUserEmailsWorker) Timeout(*river.Job[SyncUserEmailsArgs]) time.Duration {
	return 2 * w.slice
}

// SyncResult is a full sync's recorded output.
type SyncResult struct {
	Messages  int64   `json:"messages" doc:"Messages listed and stored (spam and trash are skipped)"`
	Pages     int     `json:"pages" doc:"Pages of up to 100 messages fetched from Gmail"`
	HistoryID uint64  `json:"history_id" doc:"Gmail's history id when the sync began; the next incremental sync starts from it"`
	Units     float64 `json:"quota_units" doc:"Gmail API quota units spent by the last run slice (a long sync runs in several slices; earlier ones are not counted)"`
}

// Work lists the mailbox page by page from its checkpoint; each page's
// messages and the next checkpoint commit together, so a retry after any
// crash repeats at most the page in flight (the upsert makes that harmless).
func (w *SyncUserEmailsWorker) Work(ctx context.Context, job *river.Job[SyncUserEmailsArgs]) error {
	acct, c, err := w.open(ctx, job.Args.AccountArgs)
	if err != nil {
		return err
	}
	rep := progress.From(ctx)
	started := time.Now()
	river.ResumableStepCursor(ctx, "pages", nil, CursorStep(job.JobRow, w.logger, func(ctx context.Context, cur syncCursor) error {
		if cur.HistoryID == 0 {
			// The history id is read before listing: changes made while the
			// listing runs are picked up by the next incremental sync.
			prof, err := c.Profile(ctx)
			if err != nil {
				return w.outcome(ctx, acct, err)
			}
			// The profile counts spam and trash, which the listing skips:
			// without them the total is what the sync will store, from the
			// first report on (not 3,000 that becomes 2,809 at the end).
			cur.HistoryID, cur.Total = prof.HistoryId, prof.MessagesTotal
			for _, skipped := range []string{"SPAM", "TRASH"} {
				n, err := c.LabelTotal(ctx, skipped)
				if err != nil {
					return w.outcome(ctx, acct, err)
				}
				cur.Total = max(cur.Total-n, 0)
			}
		}
		rep.SetTotal(max(cur.Total, cur.Done))
		rep.Set(cur.Done)
		for {
			rep.Stage("fetching", fmt.Sprintf("page %d", cur.Pages+1))
			page, err := c.ListPage(ctx, "", nil, cur.PageToken, syncPage)
			if err != nil {
				return w.outcome(ctx, acct, err)
			}
			ids := make([]string, len(page.Messages))
			for i, m := range page.Messages {
				ids[i] = m.Id
			}
			msgs, _, err := c.Metadata(ctx, ids)
			if err != nil {
				return w.outcome(ctx, acct, err)
			}
			next := cur
			next.PageToken, next.Done, next.Pages = page.NextPageToken, cur.Done+int64(len(msgs)), cur.Pages+1
			err = w.store.InTx(ctx, func(tx pgx.Tx, st *store.Store) error {
				if err := st.MessageUpsert(ctx, acct.ID, msgs); err != nil {
					return err
				}
				if next.PageToken == "" {
					// The last page: the new mail is classified next.
					if err := classifyNewMail(ctx, tx, job.JobRow, job.Args.AccountArgs); err != nil {
						return err
					}
				}
				_, err := river.ResumableSetStepCursorTx[*riverpgxv5.Driver](ctx, tx, job, next)
				return err
			})
			if err != nil {
				return err
			}
			cur = next
			rep.SetTotal(max(cur.Total, cur.Done))
			rep.Set(cur.Done)
			if cur.PageToken == "" {
				break
			}
			if w.sliceOver(started) {
				return river.JobSnooze(0) // continue from the checkpoint in a new slice
			}
		}
		if err := w.store.AccountFullSynced(ctx, acct.ID, cur.HistoryID, cur.Done); err != nil {
			return err
		}
		// The profile's total counts spam and trash, which the listing skips.
		rep.SetTotal(cur.Done)
		rep.Stage("done", fmt.Sprintf("%d messages", cur.Done))
		return RecordOutput(ctx, SyncResult{Messages: cur.Done, Pages: cur.Pages, HistoryID: cur.HistoryID, Units: c.UnitsSpent()})
	}))
	return nil
}

// IncrementalSyncWorker applies history.
type IncrementalSyncWorker struct {
	WorkerDefaults[IncrementalSyncArgs]
	mailbox
}

// maxHistoryChanges caps an incremental sync; a larger gap is cheaper as a
// full sync.
const maxHistoryChanges = 5000

// IncrementalResult is an incremental sync's recorded output.
type IncrementalResult struct {
	Updated       int    `json:"updated" doc:"Messages added or relabelled, re-read and stored; 0 when a full sync was started instead"`
	Deleted       int    `json:"deleted" doc:"Messages deleted in Gmail and removed here; 0 when a full sync was started instead"`
	HistoryID     uint64 `json:"history_id" doc:"Gmail's history id the account is now synced to; 0 when a full sync was started instead"`
	FullSyncStart *int64 `json:"full_sync_task_id,omitempty" doc:"The full sync (sync_user_emails) task started instead, or already in flight; absent when the history was applied"`
	Reason        string `json:"reason,omitempty" doc:"Why a full sync was started instead, e.g. gmail's history expired; absent when the history was applied"`
}

// Work reads the history since the account's cursor, re-fetches what was
// added or relabelled, deletes what was deleted, then moves the cursor
// forward. An expired cursor (404) or a never-synced account starts a full
// sync instead.
func (w *IncrementalSyncWorker) Work(ctx context.Context, job *river.Job[IncrementalSyncArgs]) error {
	acct, c, err := w.open(ctx, job.Args.AccountArgs)
	if err != nil {
		return err
	}
	if acct.HistoryID == nil || acct.FullSyncedAt == nil {
		return w.startFullSync(ctx, job, "the account was never fully synced")
	}
	rep := progress.From(ctx)
	rep.Stage("reading history", "")
	changed, deleted := map[string]bool{}, map[string]bool{}
	latest, pageToken := uint64(*acct.HistoryID), ""
	for {
		h, err := c.History(ctx, uint64(*acct.HistoryID), pageToken)
		if errors.Is(err, gmail.ErrNotFound) {
			return w.startFullSync(ctx, job, "gmail's history expired")
		}
		if err != nil {
			return w.outcome(ctx, acct, err)
		}
		for _, rec := range h.History {
			for _, m := range rec.MessagesAdded {
				changed[m.Message.Id], deleted[m.Message.Id] = true, false
			}
			for _, m := range rec.LabelsAdded {
				changed[m.Message.Id] = true
			}
			for _, m := range rec.LabelsRemoved {
				changed[m.Message.Id] = true
			}
			for _, m := range rec.MessagesDeleted {
				deleted[m.Message.Id], changed[m.Message.Id] = true, false
			}
		}
		latest = max(latest, h.HistoryId)
		if len(changed)+len(deleted) > maxHistoryChanges {
			return w.startFullSync(ctx, job, "more than 5000 changes")
		}
		if pageToken = h.NextPageToken; pageToken == "" {
			break
		}
	}
	var fetch, gone []string
	for id, ok := range changed {
		if ok {
			fetch = append(fetch, id)
		}
	}
	for id, ok := range deleted {
		if ok {
			gone = append(gone, id)
		}
	}
	slices.Sort(fetch)
	rep.SetTotal(int64(len(fetch) + len(gone)))
	rep.Stage("fetching changes", "")
	var msgs []inbox.Message
	for chunk := range slices.Chunk(fetch, syncPage) {
		got, missing, err := c.Metadata(ctx, chunk)
		if err != nil {
			return w.outcome(ctx, acct, err)
		}
		msgs, gone = append(msgs, got...), append(gone, missing...)
		rep.Add(int64(len(chunk)))
	}
	err = w.store.InTx(ctx, func(tx pgx.Tx, st *store.Store) error {
		if err := st.MessageUpsert(ctx, acct.ID, msgs); err != nil {
			return err
		}
		if len(msgs) > 0 {
			if err := classifyNewMail(ctx, tx, job.JobRow, job.Args.AccountArgs); err != nil {
				return err
			}
		}
		if _, err := st.MessageDelete(ctx, acct.ID, gone); err != nil {
			return err
		}
		return st.AccountAdvanceHistory(ctx, acct.ID, latest)
	})
	if err != nil {
		return err
	}
	rep.Add(int64(len(gone)))
	return RecordOutput(ctx, IncrementalResult{Updated: len(msgs), Deleted: len(gone), HistoryID: latest})
}

// startFullSync enqueues a full sync of the account (or finds the one in
// flight) and records why.
func (w *IncrementalSyncWorker) startFullSync(ctx context.Context, job *river.Job[IncrementalSyncArgs], reason string) error {
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return err
	}
	res, err := client.Insert(ctx, SyncUserEmailsArgs{AccountArgs: job.Args.AccountArgs}, nil)
	if err != nil {
		return fmt.Errorf("starting full sync: %w", err)
	}
	w.logger.InfoContext(ctx, "full_sync_instead", slog.Int64("account_id", job.Args.AccountID), slog.String("reason", reason))
	return RecordOutput(ctx, IncrementalResult{FullSyncStart: &res.Job.ID, Reason: reason})
}

// classifyNewMail starts classify_email_batch for the account's messages
// without a category, in the transaction that stores them: no new mail is
// left unclassified by a crash between the two. A sync that is a
// workflow's step leaves that to the workflow (refresh_mailbox classifies
// in parallel batches after it).
func classifyNewMail(ctx context.Context, tx pgx.Tx, job *rivertype.JobRow, a AccountArgs) error {
	if WorkflowOf(job) != 0 {
		return nil
	}
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return err
	}
	if _, err := client.InsertTx(ctx, tx, ClassifyEmailBatchArgs{AccountArgs: a}, nil); err != nil {
		return fmt.Errorf("starting classification: %w", err)
	}
	return nil
}
