package jobs

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/progress"
	"github.com/inboxq/inboxq/internal/store"
)

// The refresh-mailbox workflow: a sync, the new mail classified in
// parallel batches, then sender reputation and analytics once every batch
// is done.
//
//	sync ─► classify ─┬─► classify-1 ─┬─► reputation
//	                  ├─► classify-2 ─┤
//	                  └─► …          ─┴─► analytics
//
// classify (classify_mailbox) splits what is left to classify when it runs
// and grows the workflow by one classify_email_batch step per range; the
// reputation and analytics steps wait for those too (jobs.CompleteGrowing).

// RegisterRefresh adds classify_mailbox and refresh_mailbox. Call it after
// the sync, classify and analytics families: a refresh is made of them.
func RegisterRefresh(reg *Registry, st *store.Store) {
	check := func(ctx context.Context, st *store.Store, owner int64, args river.JobArgs) error {
		return checkAccount(ctx, st, owner, args.(interface{ Account() int64 }).Account())
	}
	Add(reg, &ClassifyMailboxWorker{store: st, reg: reg}, Info{
		Title: "Classify a mailbox in parallel",
		Description: "Splits an account's messages without a category into ranges and classifies them as a group of classify_email_batch tasks " +
			"(in a workflow, the group joins it: what waited for this step waits for the group).",
		Check: check, Result: ClassifyMailboxResult{}, Example: ClassifyMailboxArgs{AccountArgs: exampleAccount},
	})
	Add(reg, &RefreshMailboxWorker{store: st, reg: reg}, Info{
		Title: "Refresh a mailbox",
		Description: "Starts the refresh-mailbox workflow for an account: sync (incremental, or full the first time or when asked), " +
			"the new mail classified in parallel batches, then sender reputation and analytics. One per account while unfinished; " +
			"each connected account has a schedule that starts it.",
		Check: check, Result: RefreshMailboxResult{}, Example: RefreshMailboxArgs{AccountArgs: exampleAccount},
	})
}

// ClassifyMailboxArgs fans an account's classification out.
type ClassifyMailboxArgs struct {
	AccountArgs
}

// Kind names the job.
func (ClassifyMailboxArgs) Kind() string { return "classify_mailbox" }

// InsertOpts: the classify queue.
func (ClassifyMailboxArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: inbox.QueueClassify, Priority: 2, MaxAttempts: 5}
}

// ClassifyMailboxResult is what classify_mailbox records.
type ClassifyMailboxResult struct {
	Messages int64 `json:"messages" doc:"Messages without a category when it ran"`
	Batches  int   `json:"batches" doc:"classify_email_batch tasks it started"`
}

// ClassifyMailboxWorker runs classify_mailbox.
type ClassifyMailboxWorker struct {
	WorkerDefaults[ClassifyMailboxArgs]
	store *store.Store
	reg   *Registry
}

// fanOutBatches is how many classify batches a mailbox is split into at
// most, and fanOutMin how few messages a batch has at least.
const (
	fanOutBatches = 16
	fanOutMin     = 1000
)

// Work splits and completes in one transaction with the batches it adds.
func (w *ClassifyMailboxWorker) Work(ctx context.Context, job *river.Job[ClassifyMailboxArgs]) error {
	a := job.Args.AccountArgs
	n, err := w.store.MessageClassifyCount(ctx, a.AccountID, nil, false)
	if err != nil {
		return err
	}
	size := max(fanOutMin, int((n+fanOutBatches-1)/fanOutBatches))
	bounds, err := w.store.MessageUnclassifiedBounds(ctx, a.AccountID, size)
	if err != nil {
		return err
	}
	add := make([]GrowStep, len(bounds))
	after := ""
	for i, upTo := range bounds {
		add[i] = GrowStep{Name: fmt.Sprintf("classify-%d", i+1), Args: ClassifyEmailBatchArgs{AccountArgs: a, AfterID: after, UpTo: upTo}}
		after = upTo
	}
	if err := RecordOutput(ctx, ClassifyMailboxResult{Messages: n, Batches: len(add)}); err != nil {
		return err
	}
	return CompleteGrowing(ctx, w.store, w.reg, job.JobRow, add)
}

// RefreshMailboxArgs starts a refresh-mailbox workflow.
type RefreshMailboxArgs struct {
	AccountArgs
	Full bool `json:"full,omitempty" title:"Full sync" doc:"Sync the whole mailbox again instead of what changed since the last sync"`
}

// Kind names the job.
func (RefreshMailboxArgs) Kind() string { return "refresh_mailbox" }

// InsertOpts: the sync queue; the workflow is unique per account, not this
// task.
func (RefreshMailboxArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: inbox.QueueSync, Priority: 2, MaxAttempts: 5}
}

// RefreshMailboxResult is what refresh_mailbox records.
type RefreshMailboxResult struct {
	WorkflowID int64 `json:"workflow_id" doc:"The workflow it started (get-workflow), or the unfinished one it found"`
	Duplicate  bool  `json:"duplicate" doc:"A refresh of the account was already unfinished; that one is the workflow"`
}

// RefreshMailboxWorker runs refresh_mailbox: it creates the workflow and
// completes in the same transaction, so a crash cannot start it twice.
type RefreshMailboxWorker struct {
	WorkerDefaults[RefreshMailboxArgs]
	store *store.Store
	reg   *Registry
}

// Work creates the workflow.
func (w *RefreshMailboxWorker) Work(ctx context.Context, job *river.Job[RefreshMailboxArgs]) error {
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return err
	}
	var md struct {
		ScheduleID *int64 `json:"schedule_id"`
	}
	_ = json.Unmarshal(job.Metadata, &md)
	return w.store.InTx(ctx, func(tx pgx.Tx, st *store.Store) error {
		g, err := RefreshGraph(ctx, st, w.reg, job.Args.OwnerID, job.Args.AccountID, job.Args.Full)
		if err != nil {
			return err
		}
		g.ScheduleID = md.ScheduleID
		id, dup, err := InsertWorkflow(ctx, tx, st, client, g)
		if err != nil {
			return err
		}
		if err := RecordOutput(ctx, RefreshMailboxResult{WorkflowID: id, Duplicate: dup}); err != nil {
			return err
		}
		// The last progress report rides on the completion (see progress.Reporter).
		progress.From(ctx).Flush(ctx)
		_, err = river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job)
		return err
	})
}

// RefreshKey is the unique key of an account's refresh workflow.
func RefreshKey(account int64) string { return fmt.Sprintf("refresh-mailbox:%d", account) }

// RefreshGraph is the refresh-mailbox workflow of an account: a full sync
// when asked or never synced, else an incremental one.
func RefreshGraph(ctx context.Context, st *store.Store, reg *Registry, owner, account int64, full bool) (Graph, error) {
	acct, err := st.AccountGet(ctx, account, &owner)
	if err != nil {
		return Graph{}, err
	}
	aa := AccountArgs{Owned: Owned{OwnerID: owner}, AccountID: account}
	var sync river.JobArgs = IncrementalSyncArgs{AccountArgs: aa}
	if full || acct.HistoryID == nil || *acct.HistoryID == 0 {
		sync = SyncUserEmailsArgs{AccountArgs: aa}
	}
	g := Graph{Owner: owner, Name: "Refresh " + acct.Email, Policy: "stop", UniqueKey: RefreshKey(account)}
	add := func(name string, args river.JobArgs, when string, deps ...int) error {
		k, ok := reg.Kind(args.Kind())
		if !ok {
			return fmt.Errorf("refresh mailbox: kind %s is not registered", args.Kind())
		}
		g.Steps = append(g.Steps, GraphStep{NewStep: NewStep{Name: name, Kind: k, Args: args}, Deps: deps, When: when})
		return nil
	}
	for _, err := range []error{
		add("sync", sync, ""),
		add("classify", ClassifyMailboxArgs{AccountArgs: aa}, "", 0),
		add("reputation", UpdateSenderReputationArgs{Owned: aa.Owned}, "", 1),
		add("analytics", UpdateAnalyticsArgs{Owned: aa.Owned}, "", 1),
	} {
		if err != nil {
			return Graph{}, err
		}
	}
	return g, nil
}
