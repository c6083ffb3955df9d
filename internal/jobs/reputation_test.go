package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/messages"
	"github.com/inboxq/inboxq/internal/reputation"
	"github.com/inboxq/inboxq/internal/store"
	"github.com/inboxq/inboxq/internal/tasks"
)

// reputationRun runs update_sender_reputation for the env's user and
// returns its result.
func (e *gmailEnv) reputationRun(t testing.TB) jobs.ReputationResult {
	t.Helper()
	// One started by classification may be waiting: let it finish first,
	// so this run is a run of its own.
	for _, id := range e.kindTasks(t, "update_sender_reputation") {
		e.WaitTask(t, id, 60*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	}
	task, _, err := e.Tasks.Create(context.Background(), e.user, tasks.CreateParams{Kind: "update_sender_reputation", Args: json.RawMessage(`{}`)})
	require.NoError(t, err)
	done := e.WaitTask(t, task.ID, 60*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	var res jobs.ReputationResult
	require.NoError(t, json.Unmarshal(done.Result, &res))
	return res
}

// senders returns the user's stored senders by kind and key.
func (e *gmailEnv) senders(t testing.TB) map[string]store.Sender {
	t.Helper()
	out := map[string]store.Sender{}
	for _, kind := range []string{"address", "domain"} {
		rows, err := e.Store.SenderList(context.Background(), store.SenderListParams{UserID: e.user.UserID, Kind: kind, Sort: "score",
			AfterKey: -1 << 30, MaxRows: 100000})
		require.NoError(t, err)
		for _, r := range rows {
			out[kind+":"+r.Key] = r
		}
	}
	return out
}

func factorsOf(t testing.TB, s store.Sender) map[string]reputation.Factor {
	t.Helper()
	var fs []reputation.Factor
	require.NoError(t, json.Unmarshal(s.Factors, &fs))
	out := map[string]reputation.Factor{}
	for _, f := range fs {
		out[f.Name] = f
	}
	return out
}

func TestReputationScoresExplainsAndUpdatesIncrementally(t *testing.T) {
	t.Parallel()
	env := newGmailEnv(t, 1500, 1_000_000)
	env.synced(t)
	ctx := context.Background()
	for _, id := range env.kindTasks(t, "classify_email_batch") {
		env.WaitTask(t, id, 60*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	}
	// Classifying the synced mail started the first run, which counts
	// every sender.
	started := env.kindTasks(t, "update_sender_reputation")
	require.Len(t, started, 1, "classification starts update_sender_reputation")
	first := env.WaitTask(t, started[0], 60*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	var res jobs.ReputationResult
	require.NoError(t, json.Unmarshal(first.Result, &res))
	require.True(t, res.Rescan)
	require.Positive(t, res.Addresses)
	require.Positive(t, res.Domains)
	require.EqualValues(t, res.Addresses+res.Domains, res.Changed)
	require.EqualValues(t, res.Addresses, first.Progress.Done)

	all := env.senders(t)
	require.Len(t, all, res.Addresses+res.Domains)
	_, own := all["address:"+mailboxAddr]
	require.False(t, own, "the owner's own sent mail is no sender")

	// Spam senders with failing authentication that Gmail let through
	// score below every colleague (same domain as the mailbox, read and
	// kept) and low enough for classification to lean on.
	var spam, colleagues []store.Sender
	for k, s := range all {
		switch {
		case strings.HasPrefix(k, "address:info@") && strings.HasSuffix(k, ".test") && s.AuthFail > 0:
			spam = append(spam, s)
		case strings.HasPrefix(k, "address:") && strings.HasSuffix(k, "@example.com") && s.Messages >= 5:
			colleagues = append(colleagues, s)
		}
	}
	require.NotEmpty(t, spam, "failing spam reached the mailbox")
	require.NotEmpty(t, colleagues)
	for _, s := range spam {
		for _, c := range colleagues {
			require.Less(t, s.Score, c.Score, "%s (%d) below %s (%d)", s.Key, s.Score, c.Key, c.Score)
		}
		if s.Messages >= reputation.MinMessages {
			require.LessOrEqual(t, int(s.Score), reputation.LowScore, s.Key)
		}
		f := factorsOf(t, s)
		require.Negative(t, f["authentication"].Points)
		require.Contains(t, f["authentication"].Says, "failed on")
		require.Contains(t, f["authentication"].Says, "DMARC")
		require.Equal(t, s.Messages, s.AuthFail, "every message of a failing spam sender fails")
		d := all["domain:"+s.Domain]
		require.Equal(t, s.Messages, d.Messages, "a spam domain has one address")
	}
	// A domain adds up its addresses.
	var sum int32
	for k, s := range all {
		if strings.HasPrefix(k, "address:") && s.Domain == "example.com" {
			sum += s.Messages
		}
	}
	require.Equal(t, sum, all["domain:example.com"].Messages)

	// Nothing new: the next run writes nothing.
	again := env.reputationRun(t)
	require.False(t, again.Rescan)
	require.Zero(t, again.Changed)
	require.Zero(t, again.Removed)
	require.Equal(t, all, env.senders(t), "nothing rewritten")

	// A correction is new evidence about one sender: the run after it
	// rewrites that sender and its domain only, and moves its score.
	var newsletter store.Sender
	for k, s := range all {
		if strings.HasPrefix(k, "address:") && s.ListUnsubscribe > 0 && s.Messages >= 5 && s.AuthPass == s.Messages &&
			(newsletter.Key == "" || s.Messages > newsletter.Messages) {
			newsletter = s
		}
	}
	require.NotEmpty(t, newsletter.Key)
	var ids []string
	rows, err := env.Schema.Pool.Query(ctx, "SELECT id FROM message WHERE account_id = $1 AND inboxq_sender_address(from_addr) = $2 ORDER BY id",
		env.account.ID, newsletter.Key)
	require.NoError(t, err)
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	keys := make([]messages.Key, 0, 3)
	for _, id := range ids[:3] {
		keys = append(keys, messages.Key{Account: env.account.ID, ID: id})
	}
	_, err = messages.Service{Store: env.Store, River: env.Client}.Correct(ctx, env.user.UserID, messages.Correction{Keys: keys, Category: "spam"})
	require.NoError(t, err)
	moved := env.reputationRun(t)
	require.False(t, moved.Rescan)
	require.EqualValues(t, 2, moved.Changed, "the sender and its domain")
	after := env.senders(t)
	for k, s := range after {
		if k == "address:"+newsletter.Key || k == "domain:"+newsletter.Domain {
			require.True(t, s.UpdatedAt.After(all[k].UpdatedAt), k)
			continue
		}
		require.Equal(t, all[k], s, "%s untouched", k)
	}
	corrected := after["address:"+newsletter.Key]
	require.EqualValues(t, 3, corrected.CorrectedSpam)
	require.Less(t, corrected.Score, newsletter.Score-10)
	require.Contains(t, factorsOf(t, corrected)["corrections"].Says, "You marked 3 of its messages as spam")

	// A bulk archive of the sender's mail leaves its unread messages
	// archived unread: the score drops again.
	task, err := env.bulk(t, "bulk_archive_emails", fmt.Sprintf(`"target":{"from":%q}`, newsletter.Key))
	require.NoError(t, err)
	env.WaitTask(t, task.ID, 60*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	env.reputationRun(t)
	archived := env.senders(t)["address:"+newsletter.Key]
	require.Greater(t, archived.DiscardedUnread, corrected.DiscardedUnread)
	require.Less(t, archived.Score, corrected.Score)

	// Deleting mail leaves no evidence time behind: the next run recounts
	// everything, and the sender whose mail is all gone is forgotten.
	var spamAddr string
	var spamIDs []string
	rows, err = env.Schema.Pool.Query(ctx, "SELECT id, inboxq_sender_address(from_addr) FROM message WHERE account_id = $1 AND inboxq_sender_address(from_addr) = $2",
		env.account.ID, spam[0].Key)
	require.NoError(t, err)
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id, &spamAddr))
		spamIDs = append(spamIDs, id)
	}
	require.NoError(t, rows.Err())
	_, err = env.Store.MessageDelete(ctx, env.account.ID, spamIDs)
	require.NoError(t, err)
	gone := env.reputationRun(t)
	require.True(t, gone.Rescan)
	require.EqualValues(t, 2, gone.Removed, "the address and its domain")
	final := env.senders(t)
	require.NotContains(t, final, "address:"+spamAddr)
	require.NotContains(t, final, "domain:"+spam[0].Domain)

	// Scoping: another person sees none of it.
	other, _ := env.User(t, "bob", false)
	_, err = env.Store.SenderGet(ctx, other.UserID, corrected.ID)
	require.ErrorIs(t, err, inbox.ErrNotFound)
}

// Classification leans on reputation: once a sender's reputation is poor,
// its borderline mail is called spam, and says why.
func TestReputationLeansClassification(t *testing.T) {
	t.Parallel()
	env := newGmailEnv(t, 1200, 1_000_000)
	env.synced(t)
	for _, id := range env.kindTasks(t, "classify_email_batch") {
		env.WaitTask(t, id, 60*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	}
	env.reputationRun(t)
	res := env.classify(t, `,"all":true`)
	var leaned, leanedSpam int
	require.NoError(t, env.Schema.Pool.QueryRow(context.Background(), `
		SELECT count(*), count(*) FILTER (WHERE category = 'spam') FROM message
		WHERE account_id = $1 AND category_rule LIKE 'sender-reputation:%'`, env.account.ID).Scan(&leaned, &leanedSpam))
	t.Logf("reclassified %d, changed %d; leaned on reputation: %d (%d to spam)", res.Scanned, res.Changed, leaned, leanedSpam)
	require.EqualValues(t, leaned, res.Changed, "what changed is what reputation tipped")
	// Every tipped message's category follows its sender's score.
	rows, err := env.Schema.Pool.Query(context.Background(), `
		SELECT m.category, s.score FROM message m
		JOIN sender_reputation s ON s.user_id = $2 AND s.key = substring(m.category_rule FROM 19)
		WHERE m.account_id = $1 AND m.category_rule LIKE 'sender-reputation:%'`, env.account.ID, env.user.UserID)
	require.NoError(t, err)
	for rows.Next() {
		var cat string
		var score int
		require.NoError(t, rows.Scan(&cat, &score))
		if cat == "spam" {
			require.LessOrEqual(t, score, reputation.LowScore)
		} else {
			require.GreaterOrEqual(t, score, reputation.HighScore)
		}
	}
	require.NoError(t, rows.Err())
}

// A mailbox whose senders' mail is more than one batch reads (a sender
// with more than the bound, one with less, hundreds of light ones) is
// scored in several batches, each sender once, with all of its mail.
func TestReputationCountsEverySenderAcrossBatches(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	schema := inboxqtest.TestSchema(t)
	st := store.New(schema.Pool)
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true, Schema: &schema, NoRiverUI: true,
		Kinds: func(r *jobs.Registry) { jobs.RegisterClassify(r, st, nil, nil, inboxqtest.Logger(t), 0) }})
	user, _ := s.User(t, "alice", false)
	acct, err := st.AccountUpsert(ctx, user.UserID, "alice@example.com", []string{})
	require.NoError(t, err)
	from := func(i int) string {
		switch {
		case i < 21_000:
			return "Alerts <m-heavy@alerts.example>"
		case i < 36_000:
			return "Digest <n-heavy@digest.example>"
		default:
			return fmt.Sprintf("Person %d <p%03d@people.example>", i%300, i%300)
		}
	}
	const total = 39_000
	mail := make([]inbox.Message, 0, 1000)
	for i := range total {
		m := inbox.Message{ID: fmt.Sprintf("%016x", i), ThreadID: fmt.Sprintf("%x", i), From: from(i),
			Date: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC).Add(-time.Duration(i) * time.Minute), Labels: []string{"INBOX"}}
		if i%3 == 0 {
			m.Labels = append(m.Labels, "UNREAD")
		}
		if mail = append(mail, m); len(mail) == cap(mail) {
			require.NoError(t, st.MessageUpsert(ctx, acct.ID, mail))
			mail = mail[:0]
		}
	}

	task, _, err := s.Tasks.Create(ctx, user, tasks.CreateParams{Kind: "update_sender_reputation", Args: json.RawMessage(`{}`)})
	require.NoError(t, err)
	done := s.WaitTask(t, task.ID, 120*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	var res jobs.ReputationResult
	require.NoError(t, json.Unmarshal(done.Result, &res))
	require.Equal(t, 302, res.Addresses)

	want := map[string]int{}
	rows, err := schema.Pool.Query(ctx, `SELECT inboxq_sender_address(from_addr), count(*) FROM message WHERE account_id = $1 GROUP BY 1`, acct.ID)
	require.NoError(t, err)
	for rows.Next() {
		var addr string
		var n int
		require.NoError(t, rows.Scan(&addr, &n))
		want[addr] = n
	}
	require.NoError(t, rows.Err())
	got := map[string]int{}
	var sum int
	for key, sender := range (&gmailEnv{Stack: s, user: user}).senders(t) {
		if addr, ok := strings.CutPrefix(key, "address:"); ok {
			got[addr] = int(sender.Messages)
			sum += int(sender.Messages)
		}
	}
	require.Equal(t, want, got)
	require.Equal(t, total, sum)
}
