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
	"github.com/inboxq/inboxq/internal/tasks"
)

func waitWorkflowDone(t *testing.T, env *gmailEnv, id int64) inbox.Workflow {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		w, err := env.Tasks.Workflow(context.Background(), env.user, id)
		require.NoError(t, err)
		if w.State.Finished() {
			return w
		}
		require.False(t, time.Now().After(deadline), "workflow %d did not finish: %+v", id, w.Progress)
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRefreshMailboxFansClassificationOutAndInOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newGmailEnv(t, 3500, 1_000_000)
	want := listable(t, env.fake)

	w, dup, err := env.Tasks.RefreshMailbox(ctx, env.user, env.account.ID, false)
	require.NoError(t, err)
	require.False(t, dup)
	require.Equal(t, []string{"sync", "classify", "reputation", "analytics"}, stepNames(w))
	require.Equal(t, "sync_user_emails", w.Steps[0].Kind, "never synced: a full sync")
	again, dup, err := env.Tasks.RefreshMailbox(ctx, env.user, env.account.ID, false)
	require.NoError(t, err)
	require.True(t, dup, "one refresh per account while unfinished")
	require.Equal(t, w.ID, again.ID)

	w = waitWorkflowDone(t, env, w.ID)
	require.Equal(t, inbox.TaskCompleted, w.State)

	// The classification fanned out into batches that joined the workflow.
	var batches []inbox.WorkflowStep
	for _, s := range w.Steps {
		if strings.HasPrefix(s.Name, "classify-") {
			batches = append(batches, s)
		}
	}
	require.Len(t, batches, (len(want)+999)/1000, "ranges of 1,000 for a small mailbox")
	for _, name := range []string{"reputation", "analytics"} {
		fanIn := step(t, w, name)
		require.Len(t, fanIn.Deps, 1+len(batches), "%s waits for classify and every batch", name)
		for _, b := range batches {
			require.Contains(t, fanIn.Deps, b.Name)
			require.False(t, fanIn.StartedAt.Before(*b.FinishedAt), "%s started after %s finished", name, b.Name)
		}
	}
	var classified int64
	for _, b := range batches {
		task, err := env.Tasks.Get(ctx, env.user, b.TaskID)
		require.NoError(t, err)
		var res jobs.ClassifyResult
		require.NoError(t, json.Unmarshal(task.Result, &res))
		classified += res.Scanned
	}
	require.EqualValues(t, len(want), classified, "every message classified once, by one batch")
	left, err := env.Store.MessageClassifyCount(ctx, env.account.ID, nil, false)
	require.NoError(t, err)
	require.Zero(t, left)

	// Nothing ran outside the workflow: the sync started no classification
	// of its own, the batches no reputation update of their own.
	var stray int
	require.NoError(t, env.Schema.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job
		WHERE kind IN ('classify_email_batch', 'update_sender_reputation', 'update_analytics') AND NOT metadata ? 'workflow_id'`).Scan(&stray))
	require.Zero(t, stray)

	// The next refresh is incremental; the task kind starts one too (as the
	// default schedule does) and records the workflow it started.
	task, _, err := env.Tasks.Create(ctx, env.user, tasks.CreateParams{Kind: "refresh_mailbox", Args: json.RawMessage(fmt.Sprintf(`{"account_id":%d}`, env.account.ID))})
	require.NoError(t, err)
	task = env.WaitTask(t, task.ID, 30*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	var res jobs.RefreshMailboxResult
	require.NoError(t, json.Unmarshal(task.Result, &res))
	require.False(t, res.Duplicate)
	w2 := waitWorkflowDone(t, env, res.WorkflowID)
	require.Equal(t, inbox.TaskCompleted, w2.State)
	require.Equal(t, "incremental_sync", w2.Steps[0].Kind)
}

func stepNames(w inbox.Workflow) []string {
	var out []string
	for _, s := range w.Steps {
		out = append(out, s.Name)
	}
	return out
}

func step(t *testing.T, w inbox.Workflow, name string) inbox.WorkflowStep {
	t.Helper()
	for _, s := range w.Steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no step %s", name)
	return inbox.WorkflowStep{}
}

func TestEachConnectedAccountIsRefreshedOnASchedule(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	env := newGmailEnv(t, 50, 1_000_000)
	ss, err := env.Tasks.Schedules(ctx, env.user)
	require.NoError(t, err)
	var refresh *inbox.Schedule
	for i, s := range ss {
		if s.Kind == "refresh_mailbox" {
			refresh = &ss[i]
		}
	}
	require.NotNil(t, refresh, "connecting made the schedule")
	require.JSONEq(t, fmt.Sprintf(`{"account_id":%d}`, env.account.ID), string(refresh.Args))
	require.True(t, refresh.NextRunAt.After(time.Now().Add(25*time.Minute)), "connecting starts nothing by itself")

	// Due now: the scheduler starts refresh_mailbox, which starts the workflow.
	_, err = env.Schema.Pool.Exec(ctx, "UPDATE schedule SET next_run_at = now() WHERE id = $1", refresh.ID)
	require.NoError(t, err)
	n, err := tasks.NewScheduler(env.Tasks, func() string { return "test" }, time.Second, inboxqtest.Logger(t)).Tick(ctx)
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, 1, "ours, and built-in schedules due in a new database")
	var taskID int64
	require.NoError(t, env.Schema.Pool.QueryRow(ctx, "SELECT last_task_id FROM schedule WHERE id = $1", refresh.ID).Scan(&taskID))
	task := env.WaitTask(t, taskID, 30*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	var res jobs.RefreshMailboxResult
	require.NoError(t, json.Unmarshal(task.Result, &res))
	w := waitWorkflowDone(t, env, res.WorkflowID)
	require.Equal(t, inbox.TaskCompleted, w.State)
	require.NotNil(t, w.ScheduleID)
	require.Equal(t, refresh.ID, *w.ScheduleID)
	alerts, err := env.Tasks.Alerts(ctx, env.user, false, 0, 100)
	require.NoError(t, err)
	for _, a := range alerts {
		require.NotEqual(t, fmt.Sprintf("workflow:%d:1", w.ID), a.Key, "a scheduled refresh that completes is no news")
	}

	// Deleting the account deletes its schedule.
	require.NoError(t, env.Store.AccountDelete(ctx, env.account.ID, env.user.UserID))
	ss, err = env.Tasks.Schedules(ctx, env.user)
	require.NoError(t, err)
	for _, s := range ss {
		require.NotEqual(t, "refresh_mailbox", s.Kind)
	}
}
