//go:build chaos

package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"golang.org/x/oauth2"

	"github.com/inboxq/inboxq/internal/auth"
	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/tasks"
)

// Mailbox sizes and how the fake slows them down, so that a fault lands
// in the middle of the work: a sync fetches about 200 messages a second; a
// bulk batch of 1000 answers 3 s after Gmail applied it, so a fault during
// that wait leaves a batch applied in Gmail and not yet in the store.
const (
	syncMessages = 1800
	bulkMessages = 2200
	getDelay     = 30 * time.Millisecond
	batchDelay   = 3 * time.Second
	// A fault is mid-way once this many messages are stored by the sync
	// and the bulk action has committed its first batch.
	midSync = 300
	midBulk = 1000
)

// pair is one scenario's user with two mailboxes: one to sync, one
// (synced beforehand) to relabel in bulk. The fault hits while both run.
type pair struct {
	name  string
	user  inbox.Principal
	token string

	syncBox, bulkBox   string
	syncAcct, bulkAcct int64
	label              string   // the bulk action adds it and removes INBOX
	target             []string // the stored messages the bulk action selects

	sync, bulk leg
	fault      time.Time
	problems   []string
}

// leg is one task of a pair, seen from the fault on.
type leg struct {
	task     int64
	atFault  int64     // messages stored (sync) or done (bulk) just before the fault
	resumed  time.Time // work moved past atFault again
	finished time.Time
	state    inbox.TaskState
	attempts int
	errors   []string
}

func (p *pair) problem(format string, args ...any) {
	p.problems = append(p.problems, fmt.Sprintf(format, args...))
}

// newPair makes the scenario's user, its mailboxes in the fake (with their
// delays) and connects both accounts.
func (e *env) newPair(ctx context.Context, name string, seed int64) (*pair, error) {
	p := &pair{name: name, syncBox: name + "-sync@chaos.test", bulkBox: name + "-bulk@chaos.test", label: "chaos-" + name}
	tok, err := e.auth.CreateToken(ctx, auth.CreateTokenParams{User: "chaos-" + name, Name: "chaos"})
	if err != nil {
		return nil, err
	}
	p.user, p.token = tok.User, tok.Secret
	for _, step := range []error{
		e.fake.addMailbox(p.syncBox, seed, syncMessages),
		e.fake.addMailbox(p.bulkBox, seed+1, bulkMessages),
		e.fake.delay("messages.get", p.syncBox, getDelay, 0),
		e.fake.delay("messages.batchModify", p.bulkBox, 0, batchDelay),
	} {
		if step != nil {
			return nil, step
		}
	}
	if p.syncAcct, err = e.connect(ctx, p.user, p.syncBox); err != nil {
		return nil, err
	}
	if p.bulkAcct, err = e.connect(ctx, p.user, p.bulkBox); err != nil {
		return nil, err
	}
	return p, nil
}

// connect stores an account for the mailbox, as the OAuth callback would.
func (e *env) connect(ctx context.Context, user inbox.Principal, box string) (int64, error) {
	rt, err := e.fake.refreshToken(box)
	if err != nil {
		return 0, err
	}
	acct, err := e.provider.ConnectToken(ctx, user.UserID, &oauth2.Token{RefreshToken: rt})
	return acct.ID, err
}

// create starts a task as user, through the task service.
func (e *env) create(ctx context.Context, user inbox.Principal, kind string, args any) (int64, error) {
	raw, err := json.Marshal(args)
	if err != nil {
		return 0, err
	}
	t, dup, err := e.svc.Create(ctx, user, tasks.CreateParams{Kind: kind, Args: raw})
	if err != nil {
		return 0, fmt.Errorf("creating %s: %w", kind, err)
	}
	if dup {
		return 0, fmt.Errorf("creating %s: a duplicate of task %d", kind, t.ID)
	}
	return t.ID, nil
}

// presync starts the sync of the bulk mailbox, which the bulk action needs
// in the store.
func (e *env) presync(ctx context.Context, p *pair) (int64, error) {
	return e.create(ctx, p.user, "sync_user_emails", map[string]any{"account_id": p.bulkAcct})
}

// start starts the pair's sync and bulk action.
func (e *env) start(ctx context.Context, p *pair) error {
	var err error
	if p.target, err = e.st.MessageIDs(ctx, p.bulkAcct); err != nil {
		return err
	}
	if len(p.target) <= midBulk {
		return fmt.Errorf("%s: the bulk mailbox has %d messages stored, want more than %d", p.name, len(p.target), midBulk)
	}
	if p.sync.task, err = e.create(ctx, p.user, "sync_user_emails", map[string]any{"account_id": p.syncAcct}); err != nil {
		return err
	}
	p.bulk.task, err = e.create(ctx, p.user, "bulk_label_emails", map[string]any{"account_id": p.bulkAcct,
		"target": map[string]any{"older_than_days": 1}, "add": []string{p.label}, "remove": []string{"INBOX"}})
	return err
}

// progress reads how far the pair got: messages stored by the sync, and
// messages done by the bulk action (its committed batches).
func (e *env) progress(ctx context.Context, p *pair) (stored, done int64, err error) {
	if stored, err = e.st.MessageCount(ctx, p.syncAcct); err != nil {
		return 0, 0, err
	}
	t, err := e.st.TaskGet(ctx, p.bulk.task, nil)
	if err != nil {
		return 0, 0, err
	}
	if t.Progress != nil {
		done = t.Progress.Done
	}
	return stored, done, nil
}

// waitMidway waits until both tasks are well under way, then records where
// they are and the moment of the fault (the caller strikes next).
func (e *env) waitMidway(ctx context.Context, p *pair) error {
	err := waitUntil(ctx, 3*time.Minute, 20*time.Millisecond, func() (bool, error) {
		stored, done, err := e.progress(ctx, p)
		return stored >= midSync && done >= midBulk, err
	})
	if err != nil {
		return fmt.Errorf("%s: the work did not get under way: %w", p.name, err)
	}
	stored, done, err := e.progress(ctx, p)
	if err != nil {
		return err
	}
	p.sync.atFault, p.bulk.atFault, p.fault = stored, done, time.Now()
	if done >= int64(len(p.target)) {
		p.problem("the fault came after the bulk action's last batch (%d of %d done): not mid-bulk", done, len(p.target))
	}
	return nil
}

// await follows the pair's tasks from the fault until both finish or bound
// passes, recording when work moved again and when each finished. It
// reports problems in p and touches nothing else, so it may run in its own
// goroutine.
func (e *env) await(ctx context.Context, p *pair, bound time.Duration) {
	deadline := p.fault.Add(bound)
	for {
		stored, done, perr := e.progress(ctx, p)
		now := time.Now()
		finished := true
		for _, l := range []*leg{&p.sync, &p.bulk} {
			t, err := e.st.TaskGet(ctx, l.task, nil)
			switch {
			case errors.Is(err, inbox.ErrNotFound):
				l.state = "lost"
				continue
			case err != nil:
				finished = false // the database may be down: ask again
				continue
			}
			l.state, l.attempts = t.State, t.Attempt
			l.errors = l.errors[:0]
			for _, ae := range t.Errors {
				l.errors = append(l.errors, ae.Error)
			}
			if t.State.Finished() {
				if l.finished.IsZero() {
					l.finished = now
					if t.FinishedAt != nil {
						l.finished = *t.FinishedAt
					}
				}
			} else {
				finished = false
			}
		}
		if perr == nil {
			if p.sync.resumed.IsZero() && (stored > p.sync.atFault || !p.sync.finished.IsZero()) {
				p.sync.resumed = now
			}
			if p.bulk.resumed.IsZero() && (done > p.bulk.atFault || !p.bulk.finished.IsZero()) {
				p.bulk.resumed = now
			}
		}
		if finished {
			return
		}
		if now.After(deadline) || ctx.Err() != nil {
			p.problem("stuck: sync %s, bulk %s %s after the fault", p.sync.state, p.bulk.state, bound)
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// workFigures are what a pair's work came to, checked against Gmail.
type workFigures struct {
	syncExpected, syncStored, syncMissing, syncExtra, syncDuplicates int
	getRepeats                                                       int // messages fetched more than once
	bulkTarget, bulkGmail, bulkStore, bulkLabelled                   int
	batchCalls, batchRepeatIDs                                       int
}

// verify checks the pair's outcome: both tasks completed; every message of
// the sync mailbox (but spam and trash) stored once and nothing else; the
// bulk action's label on every targeted message and INBOX on none, in
// Gmail and in the store, and on no other message. Gmail calls made twice
// are counted, not judged: a batch applied just before a crash is sent
// again, harmlessly.
func (e *env) verify(ctx context.Context, p *pair) workFigures {
	var f workFigures
	for _, l := range []struct {
		name string
		leg  *leg
	}{{"sync", &p.sync}, {"bulk", &p.bulk}} {
		if l.leg.state != inbox.TaskCompleted {
			p.problem("%s task %d ended %s, not completed (errors: %q)", l.name, l.leg.task, l.leg.state, l.leg.errors)
		}
	}

	gm, err := e.fake.mailbox(p.syncBox)
	if err != nil {
		p.problem("reading the sync mailbox: %v", err)
		return f
	}
	var want []string
	for id, labels := range gm.MessageLabels {
		if !slices.Contains(labels, "SPAM") && !slices.Contains(labels, "TRASH") {
			want = append(want, id)
		}
	}
	got, err := e.st.MessageIDs(ctx, p.syncAcct)
	if err != nil {
		p.problem("reading stored messages: %v", err)
		return f
	}
	f.syncExpected, f.syncStored = len(want), len(got)
	f.syncMissing, f.syncExtra = len(minus(want, got)), len(minus(got, want))
	if err := e.st.Pool().QueryRow(ctx, `SELECT count(*) - count(DISTINCT id) FROM message WHERE account_id = $1`, p.syncAcct).Scan(&f.syncDuplicates); err != nil {
		p.problem("counting duplicates: %v", err)
	}
	if p.sync.atFault >= int64(f.syncExpected) {
		p.problem("the fault came after the sync stored every message (%d of %d): not mid-sync", p.sync.atFault, f.syncExpected)
	}
	if f.syncMissing+f.syncExtra+f.syncDuplicates > 0 {
		p.problem("sync: %d messages missing, %d stored that Gmail does not have, %d stored twice", f.syncMissing, f.syncExtra, f.syncDuplicates)
	}
	if calls, err := e.fake.calls(p.syncBox); err != nil {
		p.problem("reading the request log: %v", err)
	} else {
		f.getRepeats = calls["messages.get"].RepeatedIDs
	}

	gb, err := e.fake.mailbox(p.bulkBox)
	if err != nil {
		p.problem("reading the bulk mailbox: %v", err)
		return f
	}
	f.bulkTarget = len(p.target)
	label := gb.labelID(p.label)
	if label == "" {
		p.problem("bulk: Gmail has no label %s", p.label)
		return f
	}
	for _, id := range p.target {
		if labels := gb.MessageLabels[id]; slices.Contains(labels, label) && !slices.Contains(labels, "INBOX") {
			f.bulkGmail++
		}
	}
	f.bulkLabelled = gb.LabelCounts[label]
	err = e.st.Pool().QueryRow(ctx, `SELECT count(*) FROM message
		WHERE account_id = $1 AND id = ANY($2) AND $3 = ANY(label_ids) AND NOT 'INBOX' = ANY(label_ids)`,
		p.bulkAcct, p.target, label).Scan(&f.bulkStore)
	if err != nil {
		p.problem("reading stored labels: %v", err)
	}
	if f.bulkGmail != f.bulkTarget || f.bulkStore != f.bulkTarget || f.bulkLabelled != f.bulkTarget {
		p.problem("bulk: of %d targeted messages %d are relabelled in Gmail and %d in the store; Gmail has %d with the label",
			f.bulkTarget, f.bulkGmail, f.bulkStore, f.bulkLabelled)
	}
	if calls, err := e.fake.calls(p.bulkBox); err != nil {
		p.problem("reading the request log: %v", err)
	} else {
		f.batchCalls, f.batchRepeatIDs = calls["messages.batchModify"].Calls, calls["messages.batchModify"].RepeatedIDs
	}
	return f
}

// minus returns the elements of a that b lacks.
func minus(a, b []string) []string {
	in := make(map[string]bool, len(b))
	for _, s := range b {
		in[s] = true
	}
	var out []string
	for _, s := range a {
		if !in[s] {
			out = append(out, s)
		}
	}
	return out
}
