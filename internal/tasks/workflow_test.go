package tasks_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/tasks"
)

// waitWorkflow polls a workflow until cond holds.
func waitWorkflow(t *testing.T, s *inboxqtest.Stack, p inbox.Principal, id int64, timeout time.Duration, cond func(inbox.Workflow) bool) inbox.Workflow {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		w, err := s.Tasks.Workflow(context.Background(), p, id)
		require.NoError(t, err)
		if cond(w) {
			return w
		}
		if time.Now().After(deadline) {
			raw, _ := json.MarshalIndent(w, "", " ")
			t.Fatalf("workflow %d never got there; last: %s", id, raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func finished(w inbox.Workflow) bool { return w.State.Finished() }

func stepNamed(t *testing.T, w inbox.Workflow, name string) inbox.WorkflowStep {
	t.Helper()
	for _, s := range w.Steps {
		if s.Name == name {
			return s
		}
	}
	t.Fatalf("no step %s in workflow %d", name, w.ID)
	return inbox.WorkflowStep{}
}

func echoStep(name, msg string, deps ...string) tasks.StepSpec {
	return tasks.StepSpec{Name: name, Kind: "test_echo", Args: echo(msg), Deps: deps}
}

func TestChordCallbackRunsOnceAfterEveryStepWithTheirResults(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true})
	alice, _ := s.User(t, "alice", false)

	spec := tasks.WorkflowSpec{Name: "chord", Shape: tasks.ShapeChord}
	for i := range 5 {
		spec.Steps = append(spec.Steps, echoStep(fmt.Sprintf("e%d", i), fmt.Sprint("m", i)))
	}
	spec.Steps = append(spec.Steps, tasks.StepSpec{Name: "collect", Kind: "test_collect"})
	w, dup, err := s.Tasks.CreateWorkflow(ctx, alice, spec)
	require.NoError(t, err)
	require.False(t, dup)
	require.Equal(t, 6, w.Progress.Total)
	require.Equal(t, []string{"e0", "e1", "e2", "e3", "e4"}, stepNamed(t, w, "collect").Deps)
	require.True(t, stepNamed(t, w, "collect").Waiting)

	w = waitWorkflow(t, s, alice, w.ID, 20*time.Second, finished)
	require.Equal(t, inbox.TaskCompleted, w.State)
	require.Equal(t, 6, w.Progress.Completed)
	require.InDelta(t, 1.0, w.Progress.Fraction, 1e-9)
	collect := stepNamed(t, w, "collect")
	for i := range 5 {
		e := stepNamed(t, w, fmt.Sprintf("e%d", i))
		require.True(t, collect.StartedAt.After(*e.FinishedAt) || collect.StartedAt.Equal(*e.FinishedAt), "the callback started after e%d finished", i)
	}
	var out struct {
		Deps []inbox.StepOutcome `json:"deps"`
	}
	require.NoError(t, json.Unmarshal(collect.Result, &out))
	require.Len(t, out.Deps, 5)
	for i, d := range out.Deps {
		require.Equal(t, "completed", d.Outcome)
		require.JSONEq(t, fmt.Sprintf(`{"echo":"m%d"}`, i), string(d.Result))
	}
	task, err := s.Tasks.Get(ctx, alice, collect.TaskID)
	require.NoError(t, err)
	require.Equal(t, 1, task.Attempt, "ran once")
	require.NotNil(t, task.WorkflowID)
	require.Equal(t, w.ID, *task.WorkflowID)
}

func TestChainRunsStepsInOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true})
	alice, _ := s.User(t, "alice", false)
	w, _, err := s.Tasks.CreateWorkflow(ctx, alice, tasks.WorkflowSpec{Shape: tasks.ShapeChain,
		Steps: []tasks.StepSpec{echoStep("a", "1"), echoStep("b", "2"), echoStep("c", "3")}})
	require.NoError(t, err)
	w = waitWorkflow(t, s, alice, w.ID, 20*time.Second, finished)
	require.Equal(t, inbox.TaskCompleted, w.State)
	a, b, c := stepNamed(t, w, "a"), stepNamed(t, w, "b"), stepNamed(t, w, "c")
	require.False(t, b.StartedAt.Before(*a.FinishedAt))
	require.False(t, c.StartedAt.Before(*b.FinishedAt))
	require.Equal(t, []string{"b"}, c.Deps)
}

func TestStopPolicySkipsDependentsAndRunsTheFailureCallback(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true})
	alice, _ := s.User(t, "alice", false)
	w, _, err := s.Tasks.CreateWorkflow(ctx, alice, tasks.WorkflowSpec{
		Steps: []tasks.StepSpec{
			echoStep("ok", "fine"),
			{Name: "bad", Kind: "test_fail", Args: json.RawMessage(`{"mode":"permanent"}`)},
			echoStep("after-bad", "never", "bad"),
			echoStep("after-that", "never", "after-bad"),
			echoStep("after-ok", "runs", "ok"),
		},
		OnSuccess: &tasks.StepSpec{Kind: "test_collect"},
		OnFailure: &tasks.StepSpec{Kind: "test_collect"},
	})
	require.NoError(t, err)
	w = waitWorkflow(t, s, alice, w.ID, 20*time.Second, finished)
	require.Equal(t, inbox.TaskFailed, w.State)
	require.Equal(t, "failed", stepNamed(t, w, "bad").Outcome)
	for _, name := range []string{"after-bad", "after-that", "on_success"} {
		st := stepNamed(t, w, name)
		require.Equal(t, "skipped", st.Outcome, name)
		require.Equal(t, inbox.TaskCancelled, st.State, name)
		require.NotEmpty(t, st.Error, "%s says why", name)
	}
	require.Equal(t, "completed", stepNamed(t, w, "after-ok").Outcome, "an independent branch goes on")
	onFailure := stepNamed(t, w, "on_failure")
	require.Equal(t, "completed", onFailure.Outcome)
	var out struct {
		Deps []inbox.StepOutcome `json:"deps"`
	}
	require.NoError(t, json.Unmarshal(onFailure.Result, &out))
	outcomes := map[string]string{}
	for _, d := range out.Deps {
		outcomes[d.Name] = d.Outcome
	}
	require.Equal(t, map[string]string{"ok": "completed", "bad": "failed", "after-bad": "skipped", "after-that": "skipped", "after-ok": "completed"}, outcomes)
	require.Equal(t, 1, w.Progress.Failed)
	require.Equal(t, 3, w.Progress.Skipped)
	alerts, err := s.Tasks.Alerts(ctx, alice, false, 0, 50)
	require.NoError(t, err)
	var wfAlerts []inbox.Alert
	for _, a := range alerts {
		if a.Key == fmt.Sprintf("workflow:%d:1", w.ID) {
			wfAlerts = append(wfAlerts, a)
		}
	}
	require.Len(t, wfAlerts, 1, "one alert for the workflow's end")
	require.Equal(t, "critical", wfAlerts[0].Severity)
	require.Equal(t, "workflow failed", wfAlerts[0].Title)
}

func TestContinuePolicyRunsTheCallbackWithWhatFailed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true})
	alice, _ := s.User(t, "alice", false)
	w, _, err := s.Tasks.CreateWorkflow(ctx, alice, tasks.WorkflowSpec{Policy: "continue", Shape: tasks.ShapeChord,
		Steps: []tasks.StepSpec{
			echoStep("a", "1"),
			{Name: "b", Kind: "test_fail", Args: json.RawMessage(`{"mode":"permanent"}`)},
			{Name: "summary", Kind: "test_collect"},
		}})
	require.NoError(t, err)
	w = waitWorkflow(t, s, alice, w.ID, 20*time.Second, finished)
	require.Equal(t, inbox.TaskFailed, w.State, "a step failed")
	sum := stepNamed(t, w, "summary")
	require.Equal(t, "completed", sum.Outcome)
	var out struct {
		Deps []inbox.StepOutcome `json:"deps"`
	}
	require.NoError(t, json.Unmarshal(sum.Result, &out))
	require.Len(t, out.Deps, 2)
	require.Equal(t, "failed", out.Deps[1].Outcome)
	require.Contains(t, out.Deps[1].Error, "giving up")
}

func TestAStepGrowsItsWorkflowAndTheFanInWaitsForWhatItAdded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true})
	alice, _ := s.User(t, "alice", false)
	w, _, err := s.Tasks.CreateWorkflow(ctx, alice, tasks.WorkflowSpec{Shape: tasks.ShapeChain,
		Steps: []tasks.StepSpec{
			{Name: "fan", Kind: "test_fanout", Args: json.RawMessage(`{"n":4}`)},
			{Name: "collect", Kind: "test_collect"},
		}})
	require.NoError(t, err)
	w = waitWorkflow(t, s, alice, w.ID, 20*time.Second, finished)
	require.Equal(t, inbox.TaskCompleted, w.State)
	require.Equal(t, 6, w.Progress.Total)
	collect := stepNamed(t, w, "collect")
	require.ElementsMatch(t, []string{"fan", "echo-0", "echo-1", "echo-2", "echo-3"}, collect.Deps)
	for i := range 4 {
		e := stepNamed(t, w, fmt.Sprintf("echo-%d", i))
		require.Equal(t, []string{"fan"}, e.Deps)
		require.False(t, collect.StartedAt.Before(*e.FinishedAt), "the fan-in waited for echo-%d", i)
	}
}

func TestCancelWorkflowCancelsUnfinishedStepsAndRunsCleanup(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true})
	alice, _ := s.User(t, "alice", false)
	w, _, err := s.Tasks.CreateWorkflow(ctx, alice, tasks.WorkflowSpec{
		Steps: []tasks.StepSpec{
			{Name: "block", Kind: "test_block", Args: json.RawMessage(`{"key":"wf-cancel"}`)},
			echoStep("after", "never", "block"),
		},
		OnFailure: &tasks.StepSpec{Name: "cleanup", Kind: "test_collect"},
	})
	require.NoError(t, err)
	waitWorkflow(t, s, alice, w.ID, 10*time.Second, func(w inbox.Workflow) bool {
		return stepNamed(t, w, "block").State == inbox.TaskRunning
	})
	got, err := s.Tasks.CancelWorkflow(ctx, alice, w.ID)
	require.NoError(t, err)
	require.Contains(t, []inbox.TaskState{inbox.TaskCancelling, inbox.TaskCancelled}, got.State)
	w = waitWorkflow(t, s, alice, w.ID, 20*time.Second, finished)
	require.Equal(t, inbox.TaskCancelled, w.State)
	require.Equal(t, "cancelled", stepNamed(t, w, "block").Outcome)
	require.Contains(t, []string{"cancelled", "skipped"}, stepNamed(t, w, "after").Outcome)
	require.Equal(t, "completed", stepNamed(t, w, "cleanup").Outcome, "cleanup runs after a cancel")

	_, err = s.Tasks.CancelWorkflow(ctx, alice, w.ID)
	require.ErrorIs(t, err, inbox.ErrConflict, "a finished workflow")
	bob, _ := s.User(t, "bob", false)
	_, err = s.Tasks.CancelWorkflow(ctx, bob, w.ID)
	require.ErrorIs(t, err, inbox.ErrNotFound, "another user's workflow")
	_, err = s.Tasks.Workflow(ctx, bob, w.ID)
	require.ErrorIs(t, err, inbox.ErrNotFound)
}

func TestRetryWorkflowRerunsOnlyWhatFailedAndItsDependents(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true})
	alice, _ := s.User(t, "alice", false)
	w, _, err := s.Tasks.CreateWorkflow(ctx, alice, tasks.WorkflowSpec{
		Steps: []tasks.StepSpec{
			echoStep("ok", "kept"),
			{Name: "once", Kind: "test_once"},
			echoStep("after", "then", "once", "ok"),
		},
	})
	require.NoError(t, err)
	first := waitWorkflow(t, s, alice, w.ID, 20*time.Second, finished)
	require.Equal(t, inbox.TaskFailed, first.State)
	require.Equal(t, "skipped", stepNamed(t, first, "after").Outcome)
	_, err = s.Tasks.Retry(ctx, alice, stepNamed(t, first, "once").TaskID)
	require.ErrorIs(t, err, inbox.ErrConflict, "a step is retried with its workflow")

	_, err = s.Tasks.RetryWorkflow(ctx, alice, w.ID)
	require.NoError(t, err)
	w = waitWorkflow(t, s, alice, w.ID, 20*time.Second, finished)
	require.Equal(t, inbox.TaskCompleted, w.State)
	require.Equal(t, 2, w.Run)
	ok := stepNamed(t, w, "ok")
	require.Equal(t, *stepNamed(t, first, "ok").FinishedAt, *ok.FinishedAt, "a completed step is not run again")
	require.Equal(t, 1, ok.Attempt)
	require.Equal(t, 2, stepNamed(t, w, "once").Attempt)
	require.Equal(t, "completed", stepNamed(t, w, "after").Outcome)

	_, err = s.Tasks.RetryWorkflow(ctx, alice, w.ID)
	require.ErrorIs(t, err, inbox.ErrConflict, "nothing left to retry")
}

func TestWorkflowRefusesBadGraphsNamingTheStep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{})
	alice, _ := s.User(t, "alice", false)
	cases := []struct {
		name  string
		spec  tasks.WorkflowSpec
		field string
	}{
		{"cycle", tasks.WorkflowSpec{Steps: []tasks.StepSpec{echoStep("a", "1", "c"), echoStep("b", "2", "a"), echoStep("c", "3", "b")}}, "steps[0].deps"},
		{"unknown kind", tasks.WorkflowSpec{Steps: []tasks.StepSpec{echoStep("a", "1"), {Name: "b", Kind: "nope"}}}, "steps[1].kind"},
		{"bad args", tasks.WorkflowSpec{Steps: []tasks.StepSpec{{Name: "a", Kind: "test_echo", Args: json.RawMessage(`{"message":"x","extra":1}`)}}}, "steps[0].args"},
		{"unknown dep", tasks.WorkflowSpec{Steps: []tasks.StepSpec{echoStep("a", "1", "zz")}}, "steps[0].deps[0]"},
		{"self dep", tasks.WorkflowSpec{Steps: []tasks.StepSpec{echoStep("a", "1", "a")}}, "steps[0].deps[0]"},
		{"duplicate name", tasks.WorkflowSpec{Steps: []tasks.StepSpec{echoStep("a", "1"), echoStep("a", "2")}}, "steps[1].name"},
		{"bad name", tasks.WorkflowSpec{Steps: []tasks.StepSpec{echoStep("A B", "1")}}, "steps[0].name"},
		{"deps in a group", tasks.WorkflowSpec{Shape: tasks.ShapeGroup, Steps: []tasks.StepSpec{echoStep("a", "1"), echoStep("b", "2", "a")}}, "steps[1].deps"},
		{"no steps", tasks.WorkflowSpec{}, "steps"},
		{"bad policy", tasks.WorkflowSpec{Policy: "maybe", Steps: []tasks.StepSpec{echoStep("a", "1")}}, "policy"},
		{"admin kind", tasks.WorkflowSpec{Steps: []tasks.StepSpec{{Name: "a", Kind: "cleanup_expired_tokens"}}}, ""},
	}
	for _, c := range cases {
		_, _, err := s.Tasks.CreateWorkflow(ctx, alice, c.spec)
		require.Error(t, err, c.name)
		if c.field == "" {
			require.ErrorIs(t, err, inbox.ErrForbidden, c.name)
			continue
		}
		var fe *inbox.FieldError
		require.True(t, errors.As(err, &fe), "%s: %v", c.name, err)
		require.Equal(t, c.field, fe.Field, c.name)
	}
	ws, _, err := s.Tasks.Workflows(ctx, alice, "", 10)
	require.NoError(t, err)
	require.Empty(t, ws, "nothing was created")
	n, err := s.Store.TaskCountUnfinished(ctx, alice.UserID, 100)
	require.NoError(t, err)
	require.Zero(t, n, "no task was created")
}

func TestUniqueKeyReturnsTheUnfinishedWorkflow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}})
	alice, _ := s.User(t, "alice", false)
	spec := tasks.WorkflowSpec{UniqueKey: "refresh:1", Steps: []tasks.StepSpec{echoStep("a", "1")}}
	w1, dup, err := s.Tasks.CreateWorkflow(ctx, alice, spec)
	require.NoError(t, err)
	require.False(t, dup)
	w2, dup, err := s.Tasks.CreateWorkflow(ctx, alice, spec)
	require.NoError(t, err)
	require.True(t, dup)
	require.Equal(t, w1.ID, w2.ID)
}

func TestAStepWhoseTaskIsDeletedEndsCancelledAndTheWorkflowEnds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}})
	alice, _ := s.User(t, "alice", false)
	w, _, err := s.Tasks.CreateWorkflow(ctx, alice, tasks.WorkflowSpec{Shape: tasks.ShapeChain,
		Steps: []tasks.StepSpec{echoStep("a", "1"), echoStep("b", "2")}})
	require.NoError(t, err)
	// An operator deletes both tasks (River UI can), the waiting one first.
	for _, name := range []string{"b", "a"} {
		_, err = s.Schema.Pool.Exec(ctx, "DELETE FROM river_job WHERE id = $1", stepNamed(t, w, name).TaskID)
		require.NoError(t, err)
	}
	w, err = s.Tasks.Workflow(ctx, alice, w.ID)
	require.NoError(t, err)
	require.Equal(t, inbox.TaskCancelled, w.State)
	require.NotNil(t, w.FinishedAt)
	require.Equal(t, "cancelled", stepNamed(t, w, "a").Outcome)
	require.Equal(t, "its task was deleted", stepNamed(t, w, "a").Error)
}

func TestStepsAreNotUniqueJobs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}})
	alice, _ := s.User(t, "alice", false)
	block := json.RawMessage(`{"key":"same"}`)
	// A unique kind already in flight as a task of its own...
	alone, _, err := s.Tasks.Create(ctx, alice, tasks.CreateParams{Kind: "test_block", Args: block})
	require.NoError(t, err)
	// ...and twice in one workflow: three jobs, none merged into another.
	w, _, err := s.Tasks.CreateWorkflow(ctx, alice, tasks.WorkflowSpec{Shape: tasks.ShapeGroup, Steps: []tasks.StepSpec{
		{Name: "a", Kind: "test_block", Args: block}, {Name: "b", Kind: "test_block", Args: block}}})
	require.NoError(t, err)
	ids := map[int64]bool{alone.ID: true, w.Steps[0].TaskID: true, w.Steps[1].TaskID: true}
	require.Len(t, ids, 3)
	for _, st := range w.Steps {
		task, err := s.Tasks.Get(ctx, alice, st.TaskID)
		require.NoError(t, err)
		require.Equal(t, w.ID, *task.WorkflowID)
		require.Equal(t, "test_block", task.Kind)
		var args struct {
			Key     string `json:"key"`
			OwnerID int64  `json:"owner_id"`
		}
		require.NoError(t, json.Unmarshal(task.Args, &args))
		require.Equal(t, "same", args.Key, "the step's args are the kind's, encoded as they are")
		require.Equal(t, alice.UserID, args.OwnerID)
	}
}

func TestWorkflowListCountsStepsByOutcome(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true})
	alice, _ := s.User(t, "alice", false)
	w, _, err := s.Tasks.CreateWorkflow(ctx, alice, tasks.WorkflowSpec{
		Steps: []tasks.StepSpec{
			echoStep("ok", "1"),
			{Name: "bad", Kind: "test_fail", Args: json.RawMessage(`{"mode":"permanent"}`)},
			echoStep("after", "2", "bad"),
		}})
	require.NoError(t, err)
	full := waitWorkflow(t, s, alice, w.ID, 20*time.Second, finished)
	ws, _, err := s.Tasks.Workflows(ctx, alice, "", 10)
	require.NoError(t, err)
	require.Len(t, ws, 1)
	got := ws[0].Progress
	require.Equal(t, inbox.WorkflowProgress{Total: 3, Completed: 1, Failed: 1, Skipped: 1, Fraction: 1}, got)
	require.Equal(t, full.Progress.Completed, got.Completed, "the list and the workflow agree")
	require.NotNil(t, ws[0].StartedAt)
	require.Equal(t, inbox.TaskFailed, ws[0].State)
}
