package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/store"
	"github.com/inboxq/inboxq/internal/tasks"
)

// synced runs a full sync to its end. Under -race on two loaded cores a
// sync of a few thousand messages has taken over a minute (CI, 2026-12-05):
// the wait is long because it ends as soon as the sync does.
func (e *gmailEnv) synced(t testing.TB) {
	t.Helper()
	task := e.start(t, "sync_user_emails")
	e.WaitTask(t, task.ID, 5*time.Minute, inboxqtest.InState(inbox.TaskCompleted))
}

func (e *gmailEnv) bulk(t testing.TB, kind string, args string) (inbox.Task, error) {
	t.Helper()
	task, _, err := e.Tasks.Create(context.Background(), e.user, tasks.CreateParams{Kind: kind,
		Args: json.RawMessage(fmt.Sprintf(`{"account_id":%d,%s}`, e.account.ID, args))})
	return task, err
}

// inInbox counts the fake's messages carrying INBOX.
func (e *gmailEnv) inInbox(t testing.TB) int {
	t.Helper()
	return e.fake.Mailbox(mailboxAddr).CountLabel("INBOX")
}

func TestBulkArchiveMakesOneBatchCallPerThousand(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newGmailEnv(t, 2600, 1_000_000)
	env.synced(t)
	n := env.inInbox(t)
	require.Greater(t, n, 1000)
	env.fake.ResetLog()

	task, err := env.bulk(t, "bulk_archive_emails", `"target":{"label":"INBOX"}`)
	require.NoError(t, err)
	done := env.WaitTask(t, task.ID, 3*time.Minute, inboxqtest.InState(inbox.TaskCompleted))
	var res jobs.BulkResult
	require.NoError(t, json.Unmarshal(done.Result, &res))
	require.EqualValues(t, n, res.Messages)
	require.Equal(t, (n+999)/1000, res.BatchCalls)
	require.Zero(t, env.inInbox(t), "archived in Gmail")

	calls, maxIDs := 0, 0
	for _, r := range env.fake.Requests() {
		if strings.HasSuffix(r.Path, "/messages/batchModify") {
			calls++
			maxIDs = max(maxIDs, r.BatchIDs)
		}
	}
	require.Equal(t, (n+999)/1000, calls)
	require.LessOrEqual(t, maxIDs, 1000)
	// The local store mirrors it.
	left, err := env.Store.MessageSelectCount(ctx, env.account.ID, jobsTarget("INBOX"), "")
	require.NoError(t, err)
	require.Zero(t, left)
	require.EqualValues(t, n, *done.Progress.Total)
}

func TestBulkTrashLabelAndPermanentDeleteRules(t *testing.T) {
	t.Parallel()
	env := newGmailEnv(t, 120, 1_000_000)
	env.synced(t)
	ids := listable(t, env.fake)[:5]
	quoted := `"` + strings.Join(ids, `","`) + `"`

	// Label, creating the missing label.
	task, err := env.bulk(t, "bulk_label_emails", `"target":{"ids":[`+quoted+`]},"add":["AI/Newsletter"]`)
	require.NoError(t, err)
	env.WaitTask(t, task.ID, 30*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	id, ok := env.fake.Mailbox(mailboxAddr).LabelID("AI/Newsletter")
	require.True(t, ok)
	labels, err := env.fake.Mailbox(mailboxAddr).MessageLabels(ids[0])
	require.NoError(t, err)
	require.Contains(t, labels, id)

	// Trash by default: recoverable.
	task, err = env.bulk(t, "bulk_delete_emails", `"target":{"ids":[`+quoted+`]}`)
	require.NoError(t, err)
	env.WaitTask(t, task.ID, 30*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	labels, err = env.fake.Mailbox(mailboxAddr).MessageLabels(ids[1])
	require.NoError(t, err)
	require.True(t, slices.Contains(labels, "TRASH"))

	// Permanent deletion: refused without the confirmation…
	_, err = env.bulk(t, "bulk_delete_emails", `"target":{"ids":[`+quoted+`]},"permanent":true`)
	require.ErrorIs(t, err, inbox.ErrInvalid)
	// …and, without the full scope (the account granted modify), refused
	// before it starts, on the permanent field: no task that can only fail.
	_, err = env.bulk(t, "bulk_delete_emails", `"target":{"ids":[`+quoted+`]},"permanent":true,"confirm":"delete permanently"`)
	var fe *inbox.FieldError
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "args.permanent", fe.Field)
	require.Contains(t, fe.Msg, "permanent deletion needs full access to the mailbox")
	require.Equal(t, 5, len(ids))
	_, err = env.fake.Mailbox(mailboxAddr).MessageLabels(ids[2])
	require.NoError(t, err, "nothing deleted")

	// No target is a bad request.
	_, err = env.bulk(t, "bulk_archive_emails", `"target":{}`)
	require.ErrorIs(t, err, inbox.ErrInvalid)

	// Labelling with nothing to add or remove could only fail: refused.
	_, err = env.bulk(t, "bulk_label_emails", `"target":{"ids":[`+quoted+`]}`)
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "args.add", fe.Field)

	// An account that needs reconnecting takes no new work.
	require.NoError(t, env.Store.AccountSetStatus(context.Background(), env.account.ID, inbox.AccountNeedsReauth))
	_, err = env.bulk(t, "bulk_archive_emails", `"target":{"ids":[`+quoted+`]}`)
	require.ErrorAs(t, err, &fe)
	require.Equal(t, "args.account_id", fe.Field)
	require.Contains(t, fe.Msg, "needs reconnecting")
}

func TestBulkActionCancelsBetweenBatches(t *testing.T) {
	t.Parallel()
	env := newGmailEnv(t, 2500, 1_000_000)
	env.synced(t)
	env.fake.SetLatency(300 * time.Millisecond)
	task, err := env.bulk(t, "bulk_archive_emails", `"target":{"label":"INBOX"}`)
	require.NoError(t, err)
	env.WaitTask(t, task.ID, 30*time.Second, inboxqtest.InState(inbox.TaskRunning))
	_, err = env.Tasks.Cancel(context.Background(), env.user, task.ID)
	require.NoError(t, err)
	env.WaitTask(t, task.ID, 30*time.Second, inboxqtest.InState(inbox.TaskCancelled))
	require.Positive(t, env.inInbox(t), "stopped before archiving everything")
}

func jobsTarget(label string) store.MessageTarget { return store.MessageTarget{Label: label} }

// BenchmarkBulkBatchCalls archives N messages and reports the Gmail batch
// calls made (target ⌈N/1000⌉).
func BenchmarkBulkBatchCalls(b *testing.B) {
	for range b.N {
		env := newGmailEnv(b, 5200, 1_000_000)
		env.synced(b)
		n := env.inInbox(b)
		env.fake.ResetLog()
		task, err := env.bulk(b, "bulk_archive_emails", `"target":{"label":"INBOX"}`)
		require.NoError(b, err)
		env.WaitTask(b, task.ID, 60*time.Second, inboxqtest.InState(inbox.TaskCompleted))
		calls := 0
		for _, r := range env.fake.Requests() {
			if strings.HasSuffix(r.Path, "/messages/batchModify") {
				calls++
			}
		}
		b.ReportMetric(float64(n), "messages")
		b.ReportMetric(float64(calls), "batch_calls")
		b.ReportMetric(float64((n+999)/1000), "target_calls")
		b.Logf("archived %d messages in %d batchModify calls (⌈N/1000⌉ = %d)", n, calls, (n+999)/1000)
	}
}

// A bulk target names at most 1,000 messages (Gmail's batch size; the
// count-messages preview takes the same type): a 90,000-id request once
// took 27 s.
func TestBulkTargetsNameAtMostAThousandIDs(t *testing.T) {
	t.Parallel()
	env := newGmailEnv(t, 10, 1_000_000)
	ids := make([]string, 1001)
	for i := range ids {
		ids[i] = fmt.Sprintf("%q", fmt.Sprint("m", i))
	}
	_, tok := env.User(t, "bulky", false)
	body := fmt.Sprintf(`{"kind":"bulk_archive_emails","args":{"account_id":%d,"target":{"ids":[%s]}}}`, env.account.ID, strings.Join(ids, ","))
	r := env.Do(t, "POST", "/api/v1/tasks", tok, body)
	require.Equal(t, 422, r.Code, "%s", r.Body)
	require.Contains(t, string(r.Body), "body.args.target.ids")
	var n int
	require.NoError(t, env.Schema.Pool.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE kind = 'bulk_archive_emails'`).Scan(&n))
	require.Zero(t, n)
}
