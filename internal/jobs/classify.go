package jobs

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/inboxq/inboxq/internal/classify"
	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/progress"
	"github.com/inboxq/inboxq/internal/reputation"
	"github.com/inboxq/inboxq/internal/store"
)

// RegisterClassify adds classify_email_batch, reclassify_with_feedback and
// update_sender_reputation (whose scores classification reads) to reg. ask
// is the LLM stage (nil: off). slice is DefaultSlice when zero.
func RegisterClassify(reg *Registry, st *store.Store, base *classify.Classifier, ask Asker, logger *slog.Logger, slice time.Duration) {
	c := classifier{store: st, base: base, ask: ask, logger: logger, slice: cmp.Or(slice, DefaultSlice)}
	stages := "the person's sender rules, Gmail's labels, their own model, the spam model and header evidence, " +
		"and (when one is configured) an LLM for what the spam model is unsure of"
	Add(reg, &ClassifyEmailBatchWorker{classifier: c}, Info{
		Title: "Classify mail",
		Description: "Decides the category of an account's stored messages (those without one, the given ids, or all): " + stages +
			". Resumable in batches of 1,000; a re-run changes nothing that did not change. A sync starts it for new mail.",
		Check: func(ctx context.Context, st *store.Store, owner int64, args river.JobArgs) error {
			a := args.(ClassifyEmailBatchArgs)
			if len(a.MessageIDs) > 0 && a.All {
				return inbox.Invalid("args.all", "give message_ids or all, not both")
			}
			return checkAccount(ctx, st, owner, a.AccountID)
		},
		Result: ClassifyResult{}, Example: ClassifyEmailBatchArgs{AccountArgs: exampleAccount},
	})
	Add(reg, &ReclassifyWithFeedbackWorker{classifier: c}, Info{
		Title: "Learn from corrections",
		Description: "Retrains your own model from your corrections, then re-scores your stored mail with it and your sender rules, " +
			"and reports how many messages changed category. Corrections start it (one per person, a few seconds after the last).",
		Result: ReclassifyResult{}, Example: ReclassifyWithFeedbackArgs{},
	})
	Add(reg, &UpdateSenderReputationWorker{store: st, logger: logger, slice: c.slice}, Info{
		Title: "Score senders",
		Description: "Scores each sender address and domain of yours from 0 to 100 from what your mail says: how much you open and keep, " +
			"what you archived or deleted unread, your spam corrections, authentication results and List-Unsubscribe. " +
			"Only senders with new evidence are recounted. Classifying new mail starts it; classification leans on the scores.",
		Result: ReputationResult{}, Example: UpdateSenderReputationArgs{},
	})
}

// Asker is the LLM stage: it answers for messages the local model is
// unsure of (internal/llm).
type Asker interface {
	Ask(ctx context.Context, owner int64, msgs []AskItem) ([]AskAnswer, AskUsage, error)
}

// AskItem is what may leave the server of one message.
type AskItem struct {
	ID, From, Subject, Snippet string
}

// AskAnswer is the LLM's category for one message.
type AskAnswer struct {
	ID         string
	Category   classify.Category
	Confidence float64
}

// AskUsage is what the LLM stage spent.
type AskUsage struct {
	Requests int `json:"requests" doc:"Requests sent to the LLM, failed attempts included"`
	Tokens   int `json:"tokens" doc:"Tokens the LLM reported (prompt and completion)"`
}

// RateLimited is what an Asker returns when its budget is spent until a
// time: the task snoozes until then, spending no attempt.
type RateLimited struct{ RetryAt time.Time }

func (e *RateLimited) Error() string {
	return "the LLM's rate limit is reached until " + e.RetryAt.UTC().Format(time.RFC3339)
}

// classifyBatch is how many messages one checkpoint classifies and stores.
const classifyBatch = 1000

// unsureBelow is the confidence under which the local model asks the LLM.
const unsureBelow = 0.75

// ClassifyEmailBatchArgs classifies an account's messages.
type ClassifyEmailBatchArgs struct {
	AccountArgs
	MessageIDs []string `json:"message_ids,omitempty" maxItems:"1000" title:"Messages" doc:"Gmail message ids to classify again; empty: every message without a category yet"`
	All        bool     `json:"all,omitempty" title:"All messages" doc:"Classify every stored message again (corrections are kept); for after a model change"`
	AfterID    string   `json:"after_id,omitempty" maxLength:"64" title:"After message" doc:"Only messages without a category whose id sorts after this one (a batch of classify_mailbox)"`
	UpTo       string   `json:"up_to,omitempty" maxLength:"64" title:"Up to message" doc:"Only messages without a category whose id sorts at or before this one (a batch of classify_mailbox)"`
}

// Kind names the job.
func (ClassifyEmailBatchArgs) Kind() string { return "classify_email_batch" }

// InsertOpts: the classify queue. Not unique: a second task for the same
// account finds little or nothing left, and the save writes only changes.
func (ClassifyEmailBatchArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: inbox.QueueClassify, Priority: 2, MaxAttempts: 5}
}

// ReclassifyWithFeedbackArgs retrains a person's model.
type ReclassifyWithFeedbackArgs struct {
	Owned
}

// Kind names the job.
func (ReclassifyWithFeedbackArgs) Kind() string { return "reclassify_with_feedback" }

// ReclassifyDebounce is how long after a correction the retraining starts,
// so a burst of corrections is learned in one run.
const ReclassifyDebounce = 3 * time.Second

// InsertOpts: one per person in flight (running included: a correction made
// while it runs makes it start over, see Work).
func (ReclassifyWithFeedbackArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: inbox.QueueClassify, Priority: 2, MaxAttempts: 5,
		UniqueOpts: river.UniqueOpts{ByArgs: true, ByState: unfinished}}
}

// ClassifyResult is what a classify task records.
type ClassifyResult struct {
	Scanned    int64            `json:"scanned" doc:"Messages read"`
	Changed    int64            `json:"changed" doc:"Messages whose decision was new or different, and written"`
	Moved      int64            `json:"moved" doc:"Messages that had a category and now show another"`
	Categories map[string]int64 `json:"categories" doc:"Messages read per category decided"`
	LLM        AskUsage         `json:"llm" doc:"LLM requests and tokens spent (zero when the LLM stage is off)"`
}

// ReclassifyResult is what reclassify_with_feedback records.
type ReclassifyResult struct {
	Corrections  int   `json:"corrections" doc:"Corrections the model learned from"`
	ModelVersion int   `json:"model_version" doc:"Your model's version now (0: none, you have no corrections)"`
	Rules        int   `json:"rules" doc:"Your sender rules applied"`
	Scanned      int64 `json:"scanned" doc:"Messages re-scored"`
	Moved        int64 `json:"moved" doc:"Messages that now show another category"`
}

// classifier is what the classify workers share.
type classifier struct {
	store  *store.Store
	base   *classify.Classifier
	ask    Asker
	logger *slog.Logger
	slice  time.Duration
}

// personal loads what the owner taught: sender rules and their model.
func (c classifier) personal(ctx context.Context, owner int64) (*classify.Personal, error) {
	rules, err := c.store.ClassifyRules(ctx, owner)
	if err != nil {
		return nil, err
	}
	p := &classify.Personal{Rules: make(map[string]classify.Category, len(rules))}
	for _, r := range rules {
		p.Rules[r.Sender] = classify.Category(r.Category)
	}
	scores, err := c.store.SenderLeaning(ctx, owner, reputation.MinMessages, reputation.LowScore, reputation.HighScore)
	if err != nil {
		return nil, err
	}
	p.Reputation = make(map[string]float64, len(scores))
	for k, s := range scores {
		p.Reputation[k] = reputation.Lean(s)
	}
	m, ok, err := c.store.UserModelGet(ctx, owner)
	if err != nil || !ok {
		return p, err
	}
	if p.Model, err = classify.DecodeUserModel(m.Model); err != nil {
		c.logger.WarnContext(ctx, "user_model_unreadable", slog.Int64("user_id", owner), slog.Any("err", err))
		p.Model = nil // re-learned by the next correction; the base pipeline decides meanwhile
	}
	return p, nil
}

// Message returns what the classifier reads of a stored message.
func Message(r store.ClassifyRow) *classify.Message {
	name, addr := classify.SplitFrom(r.From)
	return &classify.Message{Subject: r.Subject, From: addr, FromName: name, Body: r.Snippet,
		ListUnsubscribe: r.ListUnsubscribe, ListID: r.ListID, ListPost: r.ListPost,
		Precedence: r.Precedence, Labels: r.Labels}
}

// tally counts what a run did.
type tally struct {
	AfterID    string           `json:"after_id"`
	Account    int              `json:"account,omitempty"` // reclassify: index into the owner's accounts
	Total      int64            `json:"total"`
	Scanned    int64            `json:"scanned"`
	Changed    int64            `json:"changed"`
	Moved      int64            `json:"moved"`
	Categories map[string]int64 `json:"categories,omitempty"`
	LLM        AskUsage         `json:"llm"`
}

// decide classifies rows for owner, asks the LLM about what the local
// stages are unsure of, and stores the decisions that changed, with the
// checkpoint next, in one transaction.
func (c classifier) decide(ctx context.Context, owner, account int64, rows []store.ClassifyRow, p *classify.Personal, t *tally,
	checkpoint func(context.Context, pgx.Tx, tally) error) error {
	ds := make([]store.ClassifyDecision, len(rows))
	var unsure []AskItem
	var keep []int // rows whose stored LLM decision stands
	for i, r := range rows {
		d := c.base.ClassifyFor(Message(r), p)
		ds[i] = store.ClassifyDecision{ID: r.ID, Category: string(d.Category), Confidence: float32(d.Confidence),
			Source: string(d.Source), Rule: d.Rule, SpamProbability: float32(d.SpamProbability), ModelVersion: d.ModelVersion}
		switch {
		case !isUnsure(ds[i]):
		case r.Source == string(classify.SourceLLM):
			// Asked before: keep the LLM's answer rather than pay for it
			// again (nothing the answer depends on has changed).
			ds[i].Category, ds[i].Source, ds[i].Rule = r.Category, r.Source, r.Rule
			keep = append(keep, i)
		case c.ask != nil:
			// Only the base model's unsure calls: a rule, a label or the
			// person's own model knows better than a general LLM.
			unsure = append(unsure, AskItem{ID: r.ID, From: r.From, Subject: r.Subject, Snippet: r.Snippet})
		}
	}
	var snooze error
	if len(unsure) > 0 {
		answers, used, err := c.ask.Ask(ctx, owner, unsure)
		t.LLM.Requests += used.Requests
		t.LLM.Tokens += used.Tokens
		var rl *RateLimited
		switch {
		case errors.As(err, &rl):
			// Keep what was answered: store the batch up to the first
			// unsure message left unanswered, and continue from there
			// when the budget allows.
			snooze = river.JobSnooze(max(time.Until(rl.RetryAt), time.Second))
		case err != nil:
			return err
		}
		byID := make(map[string]AskAnswer, len(answers))
		for _, a := range answers {
			byID[a.ID] = a
		}
		cut := len(ds)
		for i := range ds {
			if a, ok := byID[ds[i].ID]; ok {
				ds[i].Category, ds[i].Confidence, ds[i].Source, ds[i].Rule = string(a.Category), float32(a.Confidence), string(classify.SourceLLM), ""
			} else if snooze != nil && cut == len(ds) && isUnsure(ds[i]) {
				cut = i
			}
		}
		rows, ds = rows[:cut], ds[:cut]
		if len(rows) == 0 {
			return snooze
		}
	}
	if t.Categories == nil {
		t.Categories = map[string]int64{}
	}
	for i, r := range rows {
		t.Categories[ds[i].Category]++
		if r.Corrected == "" && r.Category != "" && r.Category != ds[i].Category {
			t.Moved++
		}
	}
	t.Scanned += int64(len(rows))
	t.AfterID = rows[len(rows)-1].ID
	save := ds
	if len(keep) > 0 {
		save = make([]store.ClassifyDecision, 0, len(ds))
		for i, d := range ds {
			if _, kept := slices.BinarySearch(keep, i); !kept {
				save = append(save, d)
			}
		}
	}
	err := c.store.InTx(ctx, func(tx pgx.Tx, st *store.Store) error {
		n, err := st.MessageClassifySave(ctx, account, save)
		if err != nil {
			return err
		}
		t.Changed += n
		return checkpoint(ctx, tx, *t)
	})
	if err != nil {
		return err
	}
	return snooze
}

// isUnsure reports whether the base model decided d without a rule and
// with little confidence: the LLM stage is asked about such messages.
func isUnsure(d store.ClassifyDecision) bool {
	return d.Source == string(classify.SourceModel) && d.Rule == "" && float64(d.Confidence) < unsureBelow
}

// checkpointOf stores a step's cursor in the transaction of its batch.
func checkpointOf[T river.JobArgs](job *river.Job[T]) func(context.Context, pgx.Tx, tally) error {
	return func(ctx context.Context, tx pgx.Tx, t tally) error {
		_, err := river.ResumableSetStepCursorTx[*riverpgxv5.Driver](ctx, tx, job, t)
		return err
	}
}

// ClassifyEmailBatchWorker runs classify_email_batch.
type ClassifyEmailBatchWorker struct {
	WorkerDefaults[ClassifyEmailBatchArgs]
	classifier
}

// Timeout: one slice per attempt.
func (w *ClassifyEmailBatchWorker) Timeout(*river.Job[ClassifyEmailBatchArgs]) time.Duration {
	return 2 * w.slice
}

// Work classifies batch after batch from the checkpoint; each batch's
// decisions and the next checkpoint commit together. Cancelling stops it
// between batches: what was stored stays.
func (w *ClassifyEmailBatchWorker) Work(ctx context.Context, job *river.Job[ClassifyEmailBatchArgs]) error {
	a := job.Args
	if _, err := w.store.AccountGet(ctx, a.AccountID, &a.OwnerID); errors.Is(err, inbox.ErrNotFound) {
		return river.JobCancel(fmt.Errorf("account %d is gone", a.AccountID))
	} else if err != nil {
		return err
	}
	p, err := w.personal(ctx, a.OwnerID)
	if err != nil {
		return err
	}
	rep := progress.From(ctx)
	started := time.Now()
	river.ResumableStepCursor(ctx, "batches", nil, CursorStep(job.JobRow, w.logger, func(ctx context.Context, t tally) error {
		ranged := a.UpTo != "" && len(a.MessageIDs) == 0 && !a.All
		if t.Total == 0 && t.Scanned == 0 {
			var n int64
			var err error
			if ranged {
				t.AfterID = a.AfterID
				n, err = w.store.MessageUnclassifiedCountRange(ctx, a.AccountID, a.AfterID, a.UpTo)
			} else {
				n, err = w.store.MessageClassifyCount(ctx, a.AccountID, a.MessageIDs, a.All)
			}
			if err != nil {
				return err
			}
			t.Total = n
		}
		rep.Stage("classifying", "")
		for {
			rep.SetTotal(max(t.Total, t.Scanned))
			rep.Set(t.Scanned)
			var rows []store.ClassifyRow
			var err error
			if len(a.MessageIDs) == 0 && !a.All {
				rows, err = w.store.MessageUnclassified(ctx, a.AccountID, t.AfterID, classifyBatch)
			} else {
				rows, err = w.store.MessageForClassify(ctx, a.AccountID, a.MessageIDs, t.AfterID, classifyBatch)
			}
			if err != nil {
				return err
			}
			last := len(rows) < classifyBatch
			if ranged {
				// Only the batch's range: rows are in id order.
				end := sort.Search(len(rows), func(i int) bool { return rows[i].ID > a.UpTo })
				last = last || end < len(rows)
				rows = rows[:end]
			}
			if len(rows) == 0 {
				break
			}
			if err := w.decide(ctx, a.OwnerID, a.AccountID, rows, p, &t, checkpointOf(job)); err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err // cancelled: the batches stored stay
			}
			if ranged && last {
				break
			}
			if w.sliceOver(started) {
				return river.JobSnooze(0)
			}
		}
		rep.SetTotal(t.Scanned)
		rep.Set(t.Scanned)
		rep.Stage("done", fmt.Sprintf("%d messages, %d changed", t.Scanned, t.Changed))
		if t.Categories == nil {
			t.Categories = map[string]int64{}
		}
		if t.Scanned > 0 && WorkflowOf(job.JobRow) == 0 {
			// New mail is new evidence about its senders (in a workflow,
			// the workflow updates reputation once every batch is done).
			if err := w.store.InTx(ctx, func(tx pgx.Tx, _ *store.Store) error {
				return startReputation(ctx, tx, a.OwnerID)
			}); err != nil {
				return err
			}
		}
		return RecordOutput(ctx, ClassifyResult{Scanned: t.Scanned, Changed: t.Changed, Moved: t.Moved,
			Categories: t.Categories, LLM: t.LLM})
	}))
	return nil
}

func (c classifier) sliceOver(started time.Time) bool { return time.Since(started) > c.slice }

// ReclassifyWithFeedbackWorker runs reclassify_with_feedback.
type ReclassifyWithFeedbackWorker struct {
	WorkerDefaults[ReclassifyWithFeedbackArgs]
	classifier
}

// Timeout: one slice per attempt.
func (w *ReclassifyWithFeedbackWorker) Timeout(*river.Job[ReclassifyWithFeedbackArgs]) time.Duration {
	return 2 * w.slice
}

// Training bounds: the newest corrections, and a sample of mail nobody
// corrected as the background they are weighed against.
const (
	maxCorrections = 5000
	maxBackground  = 2000
)

// train rebuilds the owner's model from their corrections; a model equal
// to the stored one keeps its version. It returns nil when the owner has
// no corrections (and forgets any model).
func (w *ReclassifyWithFeedbackWorker) train(ctx context.Context, owner int64) (*classify.UserModel, int, error) {
	corrections, err := w.store.MessageCorrections(ctx, owner, maxCorrections)
	if err != nil || len(corrections) == 0 {
		if err == nil {
			err = w.store.UserModelDelete(ctx, owner)
		}
		return nil, 0, err
	}
	background, err := w.store.MessageBackground(ctx, owner, maxBackground)
	if err != nil {
		return nil, 0, err
	}
	old, had, err := w.store.UserModelGet(ctx, owner)
	if err != nil {
		return nil, 0, err
	}
	build := func(version int) (*classify.UserModel, []byte) {
		m := classify.NewUserModel(version)
		for _, r := range corrections {
			m.Add(Message(r.ClassifyRow), classify.Category(r.Learn), true)
		}
		for _, r := range background {
			msg := Message(r.ClassifyRow)
			m.Add(msg, w.base.Classify(msg).Category, false)
		}
		b, _ := m.MarshalBinary()
		return m, b
	}
	version := 1
	if had {
		version = int(old.Version)
	}
	m, data := build(version)
	if had && bytes.Equal(data, old.Model) {
		return m, len(corrections), nil
	}
	if had {
		m, data = build(version + 1)
	}
	return m, len(corrections), w.store.UserModelSave(ctx, owner, m.Version, len(corrections)+len(background), data)
}

// Work retrains the owner's model, then re-scores their mail account by
// account from a checkpoint. A correction or a rule change made while it
// runs starts it over a moment later, so the last one is always learned.
func (w *ReclassifyWithFeedbackWorker) Work(ctx context.Context, job *river.Job[ReclassifyWithFeedbackArgs]) error {
	owner := job.Args.OwnerID
	since := time.Now().Add(-time.Second)
	if job.AttemptedAt != nil {
		since = job.AttemptedAt.Add(-time.Second)
	}
	rep := progress.From(ctx)
	rep.Stage("learning", "")
	model, corrections, err := w.train(ctx, owner)
	if err != nil {
		return err
	}
	p, err := w.personal(ctx, owner)
	if err != nil {
		return err
	}
	p.Model = model
	accounts, err := w.store.AccountList(ctx, &owner)
	if err != nil {
		return err
	}
	started := time.Now()
	river.ResumableStepCursor(ctx, "rescore", nil, CursorStep(job.JobRow, w.logger, func(ctx context.Context, t tally) error {
		if t.Total == 0 && t.Scanned == 0 {
			for _, acct := range accounts {
				n, err := w.store.MessageClassifyCount(ctx, acct.ID, nil, true)
				if err != nil {
					return err
				}
				t.Total += n
			}
		}
		rep.Stage("re-scoring", "")
		for ; t.Account < len(accounts); t.Account, t.AfterID = t.Account+1, "" {
			acct := accounts[t.Account]
			for {
				rep.SetTotal(max(t.Total, t.Scanned))
				rep.Set(t.Scanned)
				rows, err := w.store.MessageForClassify(ctx, acct.ID, nil, t.AfterID, classifyBatch)
				if err != nil {
					return err
				}
				if len(rows) == 0 {
					break
				}
				if err := w.decide(ctx, owner, acct.ID, rows, p, &t, checkpointOf(job)); err != nil {
					return err
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				if w.sliceOver(started) {
					return river.JobSnooze(0)
				}
			}
		}
		again, err := w.store.CorrectionsSince(ctx, owner, since)
		if err != nil {
			return err
		}
		if !again {
			// A rule deleted meanwhile leaves no trace to compare times
			// with: compare the rules themselves.
			rules, err := w.store.ClassifyRules(ctx, owner)
			if err != nil {
				return err
			}
			again = len(rules) != len(p.Rules)
			for _, r := range rules {
				again = again || p.Rules[r.Sender] != classify.Category(r.Category)
			}
		}
		if again {
			// Start over from the first account with what was corrected
			// meanwhile: retrain on the next attempt.
			if err := river.ResumableSetCursor(ctx, tally{}); err != nil {
				return err
			}
			return river.JobSnooze(ReclassifyDebounce)
		}
		rep.SetTotal(t.Scanned)
		rep.Set(t.Scanned)
		version := 0
		if model != nil {
			version = model.Version
		}
		rep.Stage("done", fmt.Sprintf("%d moved", t.Moved))
		return RecordOutput(ctx, ReclassifyResult{Corrections: corrections, ModelVersion: version, Rules: len(p.Rules),
			Scanned: t.Scanned, Moved: t.Moved})
	}))
	return nil
}
