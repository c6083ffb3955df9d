package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/llm"
	"github.com/inboxq/inboxq/internal/llm/fakellm"
	"github.com/inboxq/inboxq/internal/messages"
	"github.com/inboxq/inboxq/internal/store"
	"github.com/inboxq/inboxq/internal/tasks"
)

// classifyTasks returns the ids of the classify_email_batch tasks, oldest first.
func (e *gmailEnv) kindTasks(t testing.TB, kind string) []int64 {
	t.Helper()
	rows, err := e.Schema.Pool.Query(context.Background(), "SELECT id FROM river_job WHERE kind = $1 ORDER BY id", kind)
	require.NoError(t, err)
	var ids []int64
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	return ids
}

// categories counts the account's messages per machine category ("" for none).
func (e *gmailEnv) categories(t testing.TB) map[string]int {
	t.Helper()
	rows, err := e.Schema.Pool.Query(context.Background(),
		"SELECT coalesce(category, ''), count(*) FROM message WHERE account_id = $1 GROUP BY 1", e.account.ID)
	require.NoError(t, err)
	out := map[string]int{}
	for rows.Next() {
		var c string
		var n int
		require.NoError(t, rows.Scan(&c, &n))
		out[c] = n
	}
	require.NoError(t, rows.Err())
	return out
}

// scoresIn waits for the sender scores classification started, then
// classifies everything once with them, so that a re-run after it has
// nothing new to lean on.
func (e *gmailEnv) scoresIn(t testing.TB) {
	t.Helper()
	for _, id := range e.kindTasks(t, "update_sender_reputation") {
		e.WaitTask(t, id, 60*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	}
	e.classify(t, `,"all":true`)
	// That classification starts another scoring, which finds nothing new.
	for _, id := range e.kindTasks(t, "update_sender_reputation") {
		e.WaitTask(t, id, 60*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	}
}

func (e *gmailEnv) classify(t testing.TB, args string) jobs.ClassifyResult {
	t.Helper()
	task, _, err := e.Tasks.Create(context.Background(), e.user, tasks.CreateParams{Kind: "classify_email_batch",
		Args: json.RawMessage(fmt.Sprintf(`{"account_id":%d%s}`, e.account.ID, args))})
	require.NoError(t, err)
	done := e.WaitTask(t, task.ID, 60*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	var res jobs.ClassifyResult
	require.NoError(t, json.Unmarshal(done.Result, &res))
	return res
}

func TestSyncClassifiesNewMailAndARerunChangesNothing(t *testing.T) {
	t.Parallel()
	env := newGmailEnv(t, 1500, 1_000_000)
	env.synced(t)

	// The sync's last page started the classification.
	ids := env.kindTasks(t, "classify_email_batch")
	require.Len(t, ids, 1, "one classify task, started by the sync")
	done := env.WaitTask(t, ids[0], 60*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	var res jobs.ClassifyResult
	require.NoError(t, json.Unmarshal(done.Result, &res))
	stored, err := env.Store.MessageCount(context.Background(), env.account.ID)
	require.NoError(t, err)
	require.EqualValues(t, stored, res.Scanned)
	require.EqualValues(t, stored, res.Changed)
	require.EqualValues(t, stored, *done.Progress.Total)
	require.EqualValues(t, stored, done.Progress.Done)

	cats := env.categories(t)
	require.Zero(t, cats[""], "every message classified")
	for _, c := range []string{"primary", "social", "promotions", "updates", "forums", "newsletters", "spam"} {
		require.Positive(t, cats[c], "category %s in %v", c, cats)
	}

	// Gmail's category labels decide; the spam Gmail missed (in the Primary
	// tab) is caught by the model more often than not, and no labelled
	// social or forum mail is called spam.
	var socialOK, socialAll, missedCaught, missedAll int
	require.NoError(t, env.Schema.Pool.QueryRow(context.Background(), `
		SELECT count(*) FILTER (WHERE 'CATEGORY_SOCIAL' = ANY (label_ids) AND category = 'social'),
		       count(*) FILTER (WHERE 'CATEGORY_SOCIAL' = ANY (label_ids)),
		       count(*) FILTER (WHERE from_addr LIKE '%<info@%.test>' AND category = 'spam'),
		       count(*) FILTER (WHERE from_addr LIKE '%<info@%.test>')
		FROM message WHERE account_id = $1`, env.account.ID).Scan(&socialOK, &socialAll, &missedCaught, &missedAll))
	require.Positive(t, socialAll)
	require.Equal(t, socialAll, socialOK)
	require.Positive(t, missedAll, "the fake lets some spam into the inbox")
	require.Greater(t, missedCaught*2, missedAll, "most of the spam Gmail missed is caught: %d of %d", missedCaught, missedAll)

	// A re-run of everything reads all and writes nothing (once the sender
	// scores the classification started are in: they may tip a few
	// borderline calls, see TestReputationLeansClassification).
	env.scoresIn(t)
	again := env.classify(t, `,"all":true`)
	require.EqualValues(t, stored, again.Scanned)
	require.Zero(t, again.Changed)
	require.Zero(t, again.Moved)

	// Nothing left unclassified: the default run has nothing to do.
	empty := env.classify(t, "")
	require.Zero(t, empty.Scanned)

	// An incremental sync that relabels a message has it classified again:
	// Gmail now says it is social.
	var id string
	require.NoError(t, env.Schema.Pool.QueryRow(context.Background(),
		"SELECT id FROM message WHERE account_id = $1 AND category = 'primary' AND category_rule = '' LIMIT 1", env.account.ID).Scan(&id))
	require.NoError(t, env.fake.Mailbox(mailboxAddr).ModifyLabels(id, []string{"CATEGORY_SOCIAL"}, nil))
	inc := env.start(t, "incremental_sync")
	env.WaitTask(t, inc.ID, 60*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	require.Eventually(t, func() bool {
		var cat string
		err := env.Schema.Pool.QueryRow(context.Background(), "SELECT coalesce(category, '') FROM message WHERE account_id = $1 AND id = $2",
			env.account.ID, id).Scan(&cat)
		return err == nil && cat == "social"
	}, 60*time.Second, 50*time.Millisecond)
}

func TestCorrectionsTeachTheUsersModelAndRules(t *testing.T) {
	t.Parallel()
	env := newGmailEnv(t, 1200, 1_000_000)
	env.synced(t)
	ids := env.kindTasks(t, "classify_email_batch")
	env.WaitTask(t, ids[0], 60*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	ctx := context.Background()
	svc := messages.Service{Store: env.Store, River: env.Client}

	// The newsletter sender with the most messages (Gmail's Promotions or
	// Updates tab, or bulk headers, put them outside Primary).
	var from string
	require.NoError(t, env.Schema.Pool.QueryRow(ctx, `
		SELECT from_addr FROM message
		WHERE account_id = $1 AND (from_addr LIKE '%<news@%' OR from_addr LIKE '%<newsletter@%')
		GROUP BY 1 HAVING count(*) >= 6 AND count(*) FILTER (WHERE category = 'primary') = 0
		ORDER BY count(*) DESC, 1 LIMIT 1`, env.account.ID).Scan(&from))
	var keys []messages.Key
	rows, err := env.Schema.Pool.Query(ctx, "SELECT id FROM message WHERE account_id = $1 AND from_addr = $2 ORDER BY id", env.account.ID, from)
	require.NoError(t, err)
	for rows.Next() {
		var id string
		require.NoError(t, rows.Scan(&id))
		keys = append(keys, messages.Key{Account: env.account.ID, ID: id})
	}
	require.NoError(t, rows.Err())
	var was string
	require.NoError(t, env.Schema.Pool.QueryRow(ctx, "SELECT category FROM message WHERE account_id = $1 AND id = $2",
		env.account.ID, keys[0].ID).Scan(&was))

	// Two corrections: shown at once, the machine's decision kept beside.
	res, err := svc.Correct(ctx, env.user.UserID, messages.Correction{Keys: keys[:2], Category: "primary"})
	require.NoError(t, err)
	require.Len(t, res.Updated, 2)
	var shown, machine string
	require.NoError(t, env.Schema.Pool.QueryRow(ctx, "SELECT shown_category, category FROM message WHERE account_id = $1 AND id = $2",
		env.account.ID, keys[0].ID).Scan(&shown, &machine))
	require.Equal(t, "primary", shown)
	require.Equal(t, was, machine)

	// A second correction soon after joins the same task.
	res2, err := svc.Correct(ctx, env.user.UserID, messages.Correction{Keys: keys[2:3], Category: "primary"})
	require.NoError(t, err)
	require.Equal(t, res.TaskID, res2.TaskID, "debounced: one learning task per person")

	done := env.WaitTask(t, res.TaskID, 90*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	var rr jobs.ReclassifyResult
	require.NoError(t, json.Unmarshal(done.Result, &rr))
	require.Equal(t, 3, rr.Corrections)
	require.Equal(t, 1, rr.ModelVersion)
	require.Positive(t, rr.Moved, "the sender's other mail follows the corrections")

	// The sender's uncorrected mail now shows primary, decided by the
	// person's own model.
	var moved int
	require.NoError(t, env.Schema.Pool.QueryRow(ctx, `SELECT count(*) FROM message WHERE account_id = $1 AND from_addr = $2
		AND corrected_category IS NULL AND category = 'primary' AND category_rule = 'user-model'`, env.account.ID, from).Scan(&moved))
	require.Positive(t, moved)

	// Re-running learns nothing new: same model version, nothing moves.
	again, err := svc.Correct(ctx, env.user.UserID, messages.Correction{Keys: keys[:1], Category: "primary"})
	require.NoError(t, err)
	done = env.WaitTask(t, again.TaskID, 90*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	require.NoError(t, json.Unmarshal(done.Result, &rr))
	require.Equal(t, 1, rr.ModelVersion)
	require.Zero(t, rr.Moved)

	// "Always for this sender's domain" becomes a rule that decides first.
	ruled, err := svc.Correct(ctx, env.user.UserID, messages.Correction{Keys: keys[3:4], Category: "forums", Always: messages.AlwaysDomain})
	require.NoError(t, err)
	require.NotNil(t, ruled.Rule)
	env.WaitTask(t, ruled.TaskID, 90*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	var forums, all int
	require.NoError(t, env.Schema.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE shown_category = 'forums'), count(*)
		FROM message WHERE account_id = $1 AND from_addr = $2 AND corrected_category IS DISTINCT FROM 'primary'`, env.account.ID, from).Scan(&forums, &all))
	require.Equal(t, all, forums)

	// Someone else's ids are not theirs to correct.
	bob, _ := env.User(t, "bob", false)
	_, err = svc.Correct(ctx, bob.UserID, messages.Correction{Keys: keys[:1], Category: "spam"})
	require.ErrorIs(t, err, inbox.ErrNotFound)
	require.NoError(t, env.Schema.Pool.QueryRow(ctx, "SELECT shown_category FROM message WHERE account_id = $1 AND id = $2",
		env.account.ID, keys[0].ID).Scan(&shown))
	require.Equal(t, "primary", shown)
}

// newLLMEnv is a gmailEnv whose classification asks a fake LLM about what
// the spam model is unsure of.
func newLLMEnv(t *testing.T, messages int) (*gmailEnv, *fakellm.Server) {
	t.Helper()
	fake := fakellm.New("sk-test")
	srv := httptest.NewServer(fake)
	t.Cleanup(srv.Close)
	env := newGmailEnvWith(t, messages, 1_000_000, func(s *store.Store) jobs.Asker {
		return llm.Asker{Client: llm.New(llm.Config{BaseURL: srv.URL + "/v1", Model: "fake", APIKey: "sk-test", MaxWait: time.Second}, s, nil)}
	})
	return env, fake
}

func TestTheLLMDecidesWhatTheModelIsUnsureOfAndRateLimitsSnooze(t *testing.T) {
	t.Parallel()
	env, fake := newLLMEnv(t, 800)
	// Gmail answers 429 with a long Retry-After: the task snoozes (no
	// attempt spent), then finishes.
	fake.FailNext(1, 429, 3*time.Second)
	env.synced(t)
	ids := env.kindTasks(t, "classify_email_batch")
	require.Len(t, ids, 1)
	done := env.WaitTask(t, ids[0], 90*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	require.Equal(t, 1, done.Attempt, "a rate limit spends no attempt")
	var snoozes int
	require.NoError(t, env.Schema.Pool.QueryRow(context.Background(),
		"SELECT coalesce((metadata->>'snoozes')::int, 0) FROM river_job WHERE id = $1", ids[0]).Scan(&snoozes))
	require.Positive(t, snoozes, "it snoozed for the rate limit")
	var res jobs.ClassifyResult
	require.NoError(t, json.Unmarshal(done.Result, &res))
	require.Positive(t, res.LLM.Requests)
	require.Positive(t, res.LLM.Tokens)

	var byLLM, unsure int
	require.NoError(t, env.Schema.Pool.QueryRow(context.Background(), `
		SELECT count(*) FILTER (WHERE category_source = 'llm'),
		       count(*) FILTER (WHERE category_source = 'model' AND category_rule = '' AND confidence < 0.75)
		FROM message WHERE account_id = $1`, env.account.ID).Scan(&byLLM, &unsure))
	require.Positive(t, byLLM, "the LLM decided some")
	require.Zero(t, unsure, "no unsure decision is left to the spam model")
	require.GreaterOrEqual(t, fake.Requests(), res.LLM.Requests)

	// A re-run asks the LLM nothing again and changes nothing (once the
	// sender scores are in).
	env.scoresIn(t)
	before := fake.Requests()
	again := env.classify(t, `,"all":true`)
	require.Zero(t, again.Changed)
	require.Zero(t, again.LLM.Requests)
	require.Equal(t, before, fake.Requests())

	// The tokens are on the user's account for the day.
	u, err := env.Store.LLMUsageGet(context.Background(), env.user.UserID, time.Now().UTC())
	require.NoError(t, err)
	require.Positive(t, u.PromptTokens)
}

func TestClassifyIsCancelledBetweenBatchesAndKeepsWhatItStored(t *testing.T) {
	t.Parallel()
	env, fake := newLLMEnv(t, 3500)
	fake.Delay(400 * time.Millisecond) // every LLM request is slow: batches take seconds
	env.synced(t)
	ids := env.kindTasks(t, "classify_email_batch")
	env.WaitTask(t, ids[0], 60*time.Second, func(t inbox.Task) bool { return t.Progress != nil && t.Progress.Done >= 1000 })
	_, err := env.Tasks.Cancel(context.Background(), env.user, ids[0])
	require.NoError(t, err)
	done := env.WaitTask(t, ids[0], 60*time.Second, inboxqtest.InState(inbox.TaskCancelled))
	cats := env.categories(t)
	require.Positive(t, cats[""], "cancelled before the end")
	require.GreaterOrEqual(t, done.Progress.Done, int64(1000))
	stored, err := env.Store.MessageCount(context.Background(), env.account.ID)
	require.NoError(t, err)
	require.EqualValues(t, stored-int64(cats[""]), done.Progress.Done, "whole batches stored, as reported")
}
