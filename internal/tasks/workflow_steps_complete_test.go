package tasks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/progress"
	"github.com/inboxq/inboxq/internal/store"
	"github.com/inboxq/inboxq/internal/tasks"
)

// A finished step is completed at once (jobs.StepCompleter) with what its
// attempt set, which releases its dependent in the same statement; a job
// held elsewhere, or running another attempt, is left alone without
// waiting.
func TestWorkflowStepsCompleteAtOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{}) // no workers: the test plays River
	alice, _ := s.User(t, "alice", false)
	w, _, err := s.Tasks.CreateWorkflow(ctx, alice, tasks.WorkflowSpec{Name: "pair", Shape: tasks.ShapeChain,
		Steps: []tasks.StepSpec{echoStep("a", "x"), echoStep("b", "y")}})
	require.NoError(t, err)
	a, b := stepNamed(t, w, "a").TaskID, stepNamed(t, w, "b").TaskID
	pool := s.Schema.Pool
	_, err = pool.Exec(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now() WHERE id = $1`, a)
	require.NoError(t, err)
	step := store.FinishedStep{JobID: a, Attempt: 1, FinishedAt: time.Now(), Metadata: []byte(`{"output":{"echo":"x"},"progress":[1,1]}`)}
	state := func(id int64) (st string) {
		require.NoError(t, pool.QueryRow(ctx, `SELECT state FROM river_job WHERE id = $1`, id).Scan(&st))
		return st
	}

	// River holds the row (its completer, a cancel): skipped at once.
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `SELECT 1 FROM river_job WHERE id = $1 FOR UPDATE`, a)
	require.NoError(t, err)
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	ids, err := s.Store.WorkflowStepsComplete(cctx, []store.FinishedStep{step})
	cancel()
	require.NoError(t, err, "skipped, not waited for")
	require.Empty(t, ids)
	require.NoError(t, tx.Rollback(ctx))

	// Another attempt runs the job now (this process lost it).
	other := step
	other.Attempt = 2
	ids, err = s.Store.WorkflowStepsComplete(ctx, []store.FinishedStep{other})
	require.NoError(t, err)
	require.Empty(t, ids)
	require.Equal(t, "running", state(a))
	require.Equal(t, "pending", state(b))

	ids, err = s.Store.WorkflowStepsComplete(ctx, []store.FinishedStep{step})
	require.NoError(t, err)
	require.Equal(t, []int64{a}, ids)
	require.Equal(t, "completed", state(a))
	require.Equal(t, "available", state(b), "the dependent is released by the same statement")
	var md map[string]json.RawMessage
	require.NoError(t, pool.QueryRow(ctx, `SELECT metadata FROM river_job WHERE id = $1`, a).Scan(&md))
	require.JSONEq(t, `{"echo":"x"}`, string(md["output"]))
	require.JSONEq(t, `[1,1]`, string(md["progress"]))
	w = waitWorkflow(t, s, alice, w.ID, 5*time.Second, func(inbox.Workflow) bool { return true })
	require.Equal(t, "completed", stepNamed(t, w, "a").Outcome)
	require.JSONEq(t, `{"echo":"x"}`, string(stepNamed(t, w, "a").Result))

	// Again (River's completer comes later): nothing left to do.
	ids, err = s.Store.WorkflowStepsComplete(ctx, []store.FinishedStep{step})
	require.NoError(t, err)
	require.Empty(t, ids)
}

// River completes every step again after the step completer did, merging
// the attempt's result once more: that second update announces nothing, so
// a client sees each step complete once, with its result.
func TestWorkflowStepCompletionAnnouncedOnce(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true})
	alice, _ := s.User(t, "alice", false)
	sub, _, _, _ := s.Hub.Subscribe(progress.Filter{Caller: alice}, "")
	defer sub.Close()
	riverDone, stop := s.Client.SubscribeConfig(&river.SubscribeConfig{Kinds: []river.EventKind{river.EventKindJobCompleted}, ChanSize: 100})
	defer stop()

	spec := tasks.WorkflowSpec{Name: "chord", Shape: tasks.ShapeChord}
	for i := range 4 {
		spec.Steps = append(spec.Steps, echoStep(fmt.Sprintf("e%d", i), fmt.Sprint("m", i)))
	}
	spec.Steps = append(spec.Steps, tasks.StepSpec{Name: "collect", Kind: "test_collect"})
	w, _, err := s.Tasks.CreateWorkflow(ctx, alice, spec)
	require.NoError(t, err)
	steps := map[int64]string{}
	for _, st := range w.Steps {
		steps[st.TaskID] = st.Name
	}

	// River's own completion of every step, the re-merges included.
	timeout := time.After(30 * time.Second)
	for seen := map[int64]bool{}; len(seen) < len(steps); {
		select {
		case ev := <-riverDone:
			if _, ok := steps[ev.Job.ID]; ok {
				seen[ev.Job.ID] = true
			}
		case <-timeout:
			t.Fatal("River did not complete every step")
		}
	}
	// Events arrive in commit order: once a task created now is heard of,
	// everything River committed before it has been too.
	marker, _, err := s.Tasks.Create(ctx, alice, tasks.CreateParams{Kind: "test_echo", Args: echo("marker")})
	require.NoError(t, err)

	completed := map[int64]int{}
	results := map[string]string{}
	for heard := false; !heard; {
		select {
		case batch := <-sub.C:
			for _, ev := range batch {
				if ev.Task == nil {
					continue
				}
				id := ev.TaskID()
				if id == marker.ID {
					heard = true
				}
				if _, ok := steps[id]; ok && ev.Task.State == inbox.TaskCompleted {
					completed[id]++
					if len(ev.Task.Result) > 0 {
						results[steps[id]] = string(ev.Task.Result)
					}
				}
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the marker task's event never came")
		}
	}
	for id, name := range steps {
		require.Equal(t, 1, completed[id], "step %s announced completed once", name)
	}
	require.JSONEq(t, `{"echo":"m0"}`, results["e0"], "a step's completion carries the result its attempt recorded")
}

// River still reports the completion of every step completed at once to
// its subscribers (metrics count outcomes from them): River's completer
// used to drop the event of a step completed while its statement ran
// (about one step in ten of a 1,000-step group was never reported).
func TestWorkflowStepsReachRiverSubscribers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// Steps that set no metadata (no result, no progress): River merges
	// nothing into them, which is where it dropped events.
	s, alice := wfStack(t)
	events, stop := s.Client.SubscribeConfig(&river.SubscribeConfig{Kinds: []river.EventKind{river.EventKindJobCompleted}, ChanSize: 5000})
	defer stop()

	const n = 1000
	noop := tasks.StepSpec{Kind: "bench_wf_noop", Args: json.RawMessage(`{}`)}
	spec := tasks.WorkflowSpec{Name: "group", Shape: tasks.ShapeGroup, OnSuccess: &tasks.StepSpec{Name: "callback", Kind: noop.Kind, Args: noop.Args}}
	for i := range n {
		st := noop
		st.Name = fmt.Sprintf("s%d", i)
		spec.Steps = append(spec.Steps, st)
	}
	w, _, err := s.Tasks.CreateWorkflow(ctx, alice, spec)
	require.NoError(t, err)
	missing := map[int64]bool{}
	for _, st := range w.Steps {
		missing[st.TaskID] = true
	}
	timeout := time.After(2 * time.Minute)
	for len(missing) > 0 {
		select {
		case ev := <-events:
			delete(missing, ev.Job.ID)
		case <-timeout:
			var completed int
			require.NoError(t, s.Schema.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE state = 'completed' AND metadata ->> 'workflow_id' = $1`, fmt.Sprint(w.ID)).Scan(&completed))
			t.Fatalf("River reported no completion of %d of the %d steps (%d completed)", len(missing), n+1, completed)
		}
	}
}

// A statement that only starts jobs tells the workflow trigger there is
// nothing for it (migration 0033); the next statement of the same
// transaction that finishes a step still settles it, and so does one
// that starts some jobs and finishes a step at once.
func TestStepsSettleAfterAndBesideStarts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{}) // no workers: the test plays River
	alice, _ := s.User(t, "alice", false)
	// Tasks made first: their rows come first in a statement's rows.
	x, _, err := s.Tasks.Create(ctx, alice, tasks.CreateParams{Kind: "test_echo", Args: echo("x")})
	require.NoError(t, err)
	y, _, err := s.Tasks.Create(ctx, alice, tasks.CreateParams{Kind: "test_echo", Args: echo("y")})
	require.NoError(t, err)
	w, _, err := s.Tasks.CreateWorkflow(ctx, alice, tasks.WorkflowSpec{Name: "three", Shape: tasks.ShapeChain,
		Steps: []tasks.StepSpec{echoStep("a", "1"), echoStep("b", "2"), echoStep("c", "3")}})
	require.NoError(t, err)
	a, b, c := stepNamed(t, w, "a").TaskID, stepNamed(t, w, "b").TaskID, stepNamed(t, w, "c").TaskID
	pool := s.Schema.Pool
	state := func(id int64) (st string) {
		require.NoError(t, pool.QueryRow(ctx, `SELECT state FROM river_job WHERE id = $1`, id).Scan(&st))
		return st
	}

	// Starts alone, then a step's completion, in one transaction.
	tx, err := pool.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `UPDATE river_job SET state = 'running', attempt = attempt + 1, attempted_at = now() WHERE id = ANY($1)`, []int64{x.ID, a})
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `UPDATE river_job SET state = 'completed', finalized_at = now() WHERE id = $1`, a)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))
	require.Equal(t, "available", state(b), "step a settled after a statement of starts")

	// A job starting and a step finishing in one statement, the start first.
	_, err = pool.Exec(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now() WHERE id = $1`, b)
	require.NoError(t, err)
	_, err = pool.Exec(ctx, `UPDATE river_job SET state = CASE WHEN id = $1 THEN 'running' ELSE 'completed' END::river_job_state,
		attempt = CASE WHEN id = $1 THEN attempt + 1 ELSE attempt END,
		finalized_at = CASE WHEN id = $1 THEN NULL ELSE now() END
		WHERE id = ANY($2)`, y.ID, []int64{y.ID, b})
	require.NoError(t, err)
	require.Equal(t, "running", state(y.ID))
	require.Equal(t, "available", state(c), "step b settled beside a start")
	w = waitWorkflow(t, s, alice, w.ID, 5*time.Second, func(inbox.Workflow) bool { return true })
	require.Equal(t, "completed", stepNamed(t, w, "a").Outcome)
	require.Equal(t, "completed", stepNamed(t, w, "b").Outcome)
}
