package jobs_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/inboxq/inboxq/internal/classify"
	"github.com/inboxq/inboxq/internal/gmail"
	"github.com/inboxq/inboxq/internal/gmail/fakegmail"
	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/secret"
	"github.com/inboxq/inboxq/internal/store"
	"github.com/inboxq/inboxq/internal/tasks"
)

const mailboxAddr = "user@example.com"

// gmailEnv is inboxq (stack) with a connected account on a fake Gmail that
// is reached through the real gmail/v1 client and OAuth refresh.
type gmailEnv struct {
	*inboxqtest.Stack
	fake    *fakegmail.Server
	user    inbox.Principal
	account inbox.Account
	refresh string
}

func newGmailEnv(t testing.TB, messages int, quota float64) *gmailEnv {
	t.Helper()
	return newGmailEnvWith(t, messages, quota, nil)
}

// newGmailEnvWith is newGmailEnv with classification's LLM stage made by
// ask (nil: none).
func newGmailEnvWith(t testing.TB, messages int, quota float64, ask func(*store.Store) jobs.Asker) *gmailEnv {
	t.Helper()
	fake := fakegmail.New(fakegmail.Options{RequireAuth: true, ClientID: "cid", ClientSecret: "csec", UserUnitsPerMinute: int(quota)})
	fake.AddMailbox(fakegmail.Generate(7, messages, fakegmail.GenerateOptions{Address: mailboxAddr}))
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)

	schema := inboxqtest.TestSchema(t)
	st := store.New(schema.Pool)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	box, err := secret.NewBox(key)
	require.NoError(t, err)
	provider := gmail.NewProvider(gmail.Config{ClientID: "cid", ClientSecret: "csec", TokenURL: srv.URL + "/token",
		APIBase: srv.URL, UserQuota: quota}, st, box, inboxqtest.Logger(t))
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true, Schema: &schema, NoRiverUI: true,
		Kinds: func(r *jobs.Registry) {
			jobs.RegisterSync(r, st, provider, inboxqtest.Logger(t), 0)
			var asker jobs.Asker
			if ask != nil {
				asker = ask(st)
			}
			jobs.RegisterClassify(r, st, classify.MustBase(), asker, inboxqtest.Logger(t), 0)
			jobs.RegisterBulk(r, st, provider, inboxqtest.Logger(t))
			jobs.RegisterCluster(r, st, inboxqtest.Logger(t))
			jobs.RegisterUpkeep(r, st, provider, inboxqtest.Logger(t))
			jobs.RegisterRefresh(r, st)
		}})
	user, _ := s.User(t, "alice", false)
	rt := fake.IssueRefreshToken(mailboxAddr, fakegmail.ScopeModify)
	acct, err := provider.ConnectToken(context.Background(), user.UserID, &oauth2.Token{RefreshToken: rt})
	require.NoError(t, err)

	// The refresh token is stored sealed, never in the clear.
	var sealed []byte
	require.NoError(t, schema.Pool.QueryRow(context.Background(), "SELECT refresh_token FROM account WHERE id = $1", acct.ID).Scan(&sealed))
	require.NotContains(t, string(sealed), rt)
	return &gmailEnv{Stack: s, fake: fake, user: user, account: acct, refresh: rt}
}

func (e *gmailEnv) start(t testing.TB, kind string) inbox.Task {
	t.Helper()
	task, _, err := e.Tasks.Create(context.Background(), e.user, tasks.CreateParams{Kind: kind, Args: json.RawMessage(fmt.Sprintf(`{"account_id":%d}`, e.account.ID))})
	require.NoError(t, err)
	return task
}

// listable is what a full sync must store: every message outside spam and trash.
func listable(t testing.TB, fake *fakegmail.Server) []string {
	t.Helper()
	mb := fake.Mailbox(mailboxAddr)
	var ids []string
	for _, id := range mb.MessageIDs() {
		labels, err := mb.MessageLabels(id)
		require.NoError(t, err)
		if !slices.Contains(labels, "SPAM") && !slices.Contains(labels, "TRASH") {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

func TestFullSyncStoresEveryMessageOnceAndReportsProgress(t *testing.T) {
	t.Parallel()
	env := newGmailEnv(t, 1234, 1_000_000)
	want := listable(t, env.fake)
	env.fake.SetLatency(20 * time.Millisecond) // long enough to be seen mid-way
	task := env.start(t, "sync_user_emails")
	// The total is what the sync will store from the first report on
	// (spam and trash left out), not the profile's count.
	mid := env.WaitTask(t, task.ID, 60*time.Second, func(t inbox.Task) bool {
		return t.Progress != nil && t.Progress.Total != nil && t.Progress.Done > 0
	})
	require.EqualValues(t, len(want), *mid.Progress.Total)
	require.Less(t, len(want), 1234, "the generated mailbox has spam or trash")
	env.fake.SetLatency(0)
	done := env.WaitTask(t, task.ID, 60*time.Second, inboxqtest.InState(inbox.TaskCompleted))

	got, err := env.Store.MessageIDs(context.Background(), env.account.ID)
	require.NoError(t, err)
	require.Equal(t, want, got, "every listable message, once")

	var res jobs.SyncResult
	require.NoError(t, json.Unmarshal(done.Result, &res))
	require.EqualValues(t, len(want), res.Messages)
	require.Equal(t, (len(want)+99)/100, res.Pages)
	require.NotNil(t, done.Progress)
	require.EqualValues(t, len(want), done.Progress.Done)
	require.EqualValues(t, len(want), *done.Progress.Total)

	// Quota: 1 for the profile, 1 each for the spam and trash counts, 5 per
	// page listed, 5 per message fetched.
	require.InDelta(t, 1+2+5*res.Pages+5*len(want), res.Units, 0.5)
	require.EqualValues(t, 1+1+2+5*res.Pages+5*len(want), env.fake.UnitsUsed(mailboxAddr), "and 1 for connecting")

	acct, err := env.Store.AccountGet(context.Background(), env.account.ID, nil)
	require.NoError(t, err)
	require.NotNil(t, acct.FullSyncedAt)
	require.NotNil(t, acct.HistoryID)

	// A second request while none is in flight is a new sync; a duplicate
	// of one in flight is not (unique by account).
	first := env.start(t, "sync_user_emails")
	_, dup, err := env.Tasks.Create(context.Background(), env.user, tasks.CreateParams{Kind: "sync_user_emails", Args: json.RawMessage(fmt.Sprintf(`{"account_id":%d}`, env.account.ID))})
	require.NoError(t, err)
	require.True(t, dup || first.ID != task.ID)
}

func TestIncrementalSyncAppliesHistoryAndRecoversFromExpiry(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newGmailEnv(t, 300, 1_000_000)
	// Without a full sync, an incremental sync starts one.
	inc := env.start(t, "incremental_sync")
	done := env.WaitTask(t, inc.ID, 30*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	var res jobs.IncrementalResult
	require.NoError(t, json.Unmarshal(done.Result, &res))
	require.NotNil(t, res.FullSyncStart)
	env.WaitTask(t, *res.FullSyncStart, 60*time.Second, inboxqtest.InState(inbox.TaskCompleted))

	// New mail, a deletion and a relabel on the server side.
	mb := env.fake.Mailbox(mailboxAddr)
	newID, err := mb.AddMessage(fakegmail.NewMessage{LabelIDs: []string{"INBOX", "UNREAD"}, From: "Ann <ann@example.com>", To: mailboxAddr, Subject: "fresh", Text: "hello", Date: time.Now()})
	require.NoError(t, err)
	ids := listable(t, env.fake)
	gone, relabel := ids[0], ids[1]
	require.NoError(t, mb.DeleteMessage(gone))
	require.NoError(t, mb.ModifyLabels(relabel, []string{"STARRED"}, nil))

	inc = env.start(t, "incremental_sync")
	done = env.WaitTask(t, inc.ID, 30*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	res = jobs.IncrementalResult{}
	require.NoError(t, json.Unmarshal(done.Result, &res))
	require.Nil(t, res.FullSyncStart, res.Reason)
	require.Equal(t, 1, res.Deleted)
	require.Equal(t, 2, res.Updated)
	got, err := env.Store.MessageIDs(ctx, env.account.ID)
	require.NoError(t, err)
	require.Equal(t, listable(t, env.fake), got)
	require.Contains(t, got, newID)
	require.NotContains(t, got, gone)

	// An expired history id starts a full sync, which brings the store back.
	require.NoError(t, env.fake.ExpireHistoryBefore(mailboxAddr, mb.HistoryID()+1))
	_, err = mb.AddMessage(fakegmail.NewMessage{LabelIDs: []string{"INBOX"}, From: "b@example.com", To: mailboxAddr, Subject: "after expiry", Text: "x", Date: time.Now()})
	require.NoError(t, err)
	inc = env.start(t, "incremental_sync")
	done = env.WaitTask(t, inc.ID, 30*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	res = jobs.IncrementalResult{}
	require.NoError(t, json.Unmarshal(done.Result, &res))
	require.NotNil(t, res.FullSyncStart)
	require.Equal(t, "gmail's history expired", res.Reason)
	env.WaitTask(t, *res.FullSyncStart, 60*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	got, err = env.Store.MessageIDs(ctx, env.account.ID)
	require.NoError(t, err)
	require.Equal(t, listable(t, env.fake), got)
}

func TestRateLimitStormEndsInSuccessWithoutSpendingAttempts(t *testing.T) {
	t.Parallel()
	env := newGmailEnv(t, 250, 1_000_000)
	// The next 8 calls of the mailbox answer 429 with Retry-After: 1, which
	// the client waits out in place (blocking the bucket for every worker).
	env.fake.ThrottleUser(mailboxAddr, 8, time.Second)
	began := time.Now()
	task := env.start(t, "sync_user_emails")
	done := env.WaitTask(t, task.ID, 90*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	t.Logf("storm phase took %s", time.Since(began))
	require.Empty(t, done.Errors, "snoozes are not failures")
	require.LessOrEqual(t, done.Attempt, 1, "no attempt spent on rate limits")
	got, err := env.Store.MessageIDs(context.Background(), env.account.ID)
	require.NoError(t, err)
	require.Equal(t, listable(t, env.fake), got)
	throttled := 0
	for _, r := range env.fake.Requests() {
		if r.Status == 429 {
			throttled++
		}
	}
	require.Positive(t, throttled)

	// A longer Retry-After (4 s) snoozes the task instead: no attempt spent.
	env.fake.ThrottleUser(mailboxAddr, 1, 4*time.Second)
	inc := env.start(t, "incremental_sync")
	done = env.WaitTask(t, inc.ID, 60*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	require.Empty(t, done.Errors)
	var snoozes int
	require.NoError(t, env.Schema.Pool.QueryRow(context.Background(),
		"SELECT coalesce((metadata->>'snoozes')::int, 0) FROM river_job WHERE id = $1", inc.ID).Scan(&snoozes))
	require.Positive(t, snoozes, "snoozed, not failed")
	require.LessOrEqual(t, done.Attempt, 1)
}

func TestRevokedGrantStopsCleanlyAndTellsTheOwner(t *testing.T) {
	t.Parallel()
	env := newGmailEnv(t, 50, 1_000_000)
	require.True(t, env.fake.RevokeRefreshToken(env.refresh))
	task := env.start(t, "sync_user_emails")
	done := env.WaitTask(t, task.ID, 30*time.Second, inboxqtest.InState(inbox.TaskFailed))
	require.Equal(t, 1, done.Attempt, "no retry storm")
	require.Contains(t, done.Errors[0].Error, "revoked")

	acct, err := env.Store.AccountGet(context.Background(), env.account.ID, nil)
	require.NoError(t, err)
	require.Equal(t, inbox.AccountNeedsReauth, acct.Status)
	require.Empty(t, acct.SealedToken, "the dead token is forgotten")
	alerts, err := env.Store.AlertList(context.Background(), env.user, false, 0, 10)
	require.NoError(t, err)
	var titles []string
	for _, a := range alerts {
		titles = append(titles, a.Title)
	}
	require.Contains(t, strings.Join(titles, "|"), "Reconnect "+mailboxAddr)

	// Further tasks for the account are refused before they exist (they
	// could only fail), without calling Google.
	before := len(env.fake.Requests())
	_, _, err = env.Tasks.Create(context.Background(), env.user, tasks.CreateParams{Kind: "incremental_sync",
		Args: json.RawMessage(fmt.Sprintf(`{"account_id":%d}`, env.account.ID))})
	var fe *inbox.FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "args.account_id", fe.Field)
	require.Contains(t, fe.Msg, mailboxAddr+" needs reconnecting")
	require.Equal(t, before, len(env.fake.Requests()))
}

func TestAnotherUsersAccountIsRefused(t *testing.T) {
	t.Parallel()
	env := newGmailEnv(t, 10, 1_000_000)
	bob, _ := env.User(t, "bob", false)
	_, _, err := env.Tasks.Create(context.Background(), bob, tasks.CreateParams{Kind: "sync_user_emails", Args: json.RawMessage(fmt.Sprintf(`{"account_id":%d}`, env.account.ID))})
	require.ErrorIs(t, err, inbox.ErrInvalid)
	require.ErrorContains(t, err, "no such account")
}
