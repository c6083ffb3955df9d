package jobs_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/tasks"
)

func TestSyncEmailMetadataRefreshesAndForgets(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newGmailEnv(t, 250, 1_000_000)
	env.synced(t)
	ids := listable(t, env.fake)
	mb := env.fake.Mailbox(mailboxAddr)
	require.NoError(t, mb.ModifyLabels(ids[3], []string{"STARRED"}, nil))
	require.NoError(t, mb.DeleteMessage(ids[4]))

	_, err := env.bulk(t, "sync_email_metadata", `"colour":"red"`)
	require.Error(t, err, "unknown fields are refused")
	task, _, err := env.Tasks.Create(ctx, env.user, createArgs("sync_email_metadata", env.account.ID, ""))
	require.NoError(t, err)
	done := env.WaitTask(t, task.ID, 60*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	var res jobs.UpkeepResult
	require.NoError(t, json.Unmarshal(done.Result, &res))
	require.EqualValues(t, len(ids), res.Messages)
	require.EqualValues(t, 1, res.Removed)

	starred, err := env.Store.MessageSelect(ctx, env.account.ID, jobsTarget("STARRED"), "", 1000)
	require.NoError(t, err)
	require.Contains(t, starred, ids[3])
	stored, err := env.Store.MessageIDs(ctx, env.account.ID)
	require.NoError(t, err)
	require.NotContains(t, stored, ids[4])
}

func TestCleanupOldEmailsForgetsLocallyAndTrashesOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newGmailEnv(t, 300, 1_000_000)
	env.synced(t)
	before, err := env.Store.MessageCount(ctx, env.account.ID)
	require.NoError(t, err)
	inGmail := env.fake.Mailbox(mailboxAddr).MessageCount()
	env.fake.ResetLog()

	task, _, err := env.Tasks.Create(ctx, env.user, createArgs("cleanup_old_emails", env.account.ID, `,"older_than_days":365`))
	require.NoError(t, err)
	done := env.WaitTask(t, task.ID, 30*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	var res jobs.UpkeepResult
	require.NoError(t, json.Unmarshal(done.Result, &res))
	require.Positive(t, res.Removed)
	after, err := env.Store.MessageCount(ctx, env.account.ID)
	require.NoError(t, err)
	require.Equal(t, before-res.Removed, after)
	require.Empty(t, env.fake.Requests(), "Gmail untouched")
	require.Equal(t, inGmail, env.fake.Mailbox(mailboxAddr).MessageCount())

	// With the rule, old messages are also trashed (never deleted) in Gmail.
	trashBefore := env.fake.Mailbox(mailboxAddr).CountLabel("TRASH")
	env.synced(t)
	task, _, err = env.Tasks.Create(ctx, env.user, createArgs("cleanup_old_emails", env.account.ID, `,"older_than_days":365,"trash_in_gmail":true`))
	require.NoError(t, err)
	done = env.WaitTask(t, task.ID, 30*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	res = jobs.UpkeepResult{}
	require.NoError(t, json.Unmarshal(done.Result, &res))
	require.Positive(t, res.Trashed)
	require.Equal(t, inGmail, env.fake.Mailbox(mailboxAddr).MessageCount(), "nothing deleted for good")
	require.Greater(t, env.fake.Mailbox(mailboxAddr).CountLabel("TRASH"), trashBefore)
}

func createArgs(kind string, account int64, extra string) tasks.CreateParams {
	return tasks.CreateParams{Kind: kind, Args: json.RawMessage(fmt.Sprintf(`{"account_id":%d%s}`, account, extra))}
}
