package store_test

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/store"
)

// TestTaskListStateFilter checks that TaskList's state filter (River states
// first, then inboxq_task_state where a River state holds two task states)
// selects exactly the jobs inboxq_task_state puts in each task state, for a
// user and for an admin, with a job in every River state and in each of the
// variants that metadata and errors make.
func TestTaskListStateFilter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tx := inboxqtest.TestTx(t)
	st := store.WithTx(tx)

	var owner int64
	require.NoError(t, tx.QueryRow(ctx, "INSERT INTO app_user (name) VALUES ('statefilter') RETURNING id").Scan(&owner))

	jobs := inboxqtest.TaskStateCases()
	var ids []int64
	want := map[inbox.TaskState][]int64{}
	for _, j := range jobs {
		var id int64
		var viaSQL string
		err := tx.QueryRow(ctx, `
			INSERT INTO river_job (state, max_attempts, args, kind, metadata, errors, finalized_at)
			VALUES ($1::river_job_state, 5, jsonb_build_object('owner_id', $2::bigint), 'test_state', $3::jsonb, `+j.Errors+`,
			        CASE WHEN $4::bool THEN now() END)
			RETURNING id, inboxq_task_state(state, metadata, errors)`,
			j.State, owner, j.Metadata, j.Finalized).Scan(&id, &viaSQL)
		require.NoError(t, err, j.Name)
		require.Equal(t, string(j.Want), viaSQL, "inboxq_task_state of %s", j.Name)
		ids = append(ids, id)
		want[j.Want] = append(want[j.Want], id)
	}

	for _, state := range inbox.TaskStates() {
		for _, scope := range []struct {
			name  string
			owner *int64
		}{{"user", &owner}, {"admin", nil}} {
			f := inbox.TaskFilter{States: []inbox.TaskState{state}, IDs: ids, Limit: 100}
			got, err := st.TaskList(ctx, f, scope.owner)
			require.NoError(t, err)
			var gotIDs []int64
			for _, task := range got {
				require.Equal(t, state, task.State, "task %d", task.ID)
				require.Equal(t, "statefilter", task.Owner)
				gotIDs = append(gotIDs, task.ID)
			}
			wantIDs := slices.Clone(want[state])
			slices.Reverse(wantIDs) // newest first
			require.Equal(t, wantIDs, gotIDs, "%s list of %s tasks", scope.name, state)
		}
	}

	// Several states at once are the union.
	got, err := st.TaskList(ctx, inbox.TaskFilter{States: []inbox.TaskState{inbox.TaskFailed, inbox.TaskCancelling}, IDs: ids, Limit: 100}, &owner)
	require.NoError(t, err)
	require.Len(t, got, len(want[inbox.TaskFailed])+len(want[inbox.TaskCancelling]))
}

// A user's running tasks are in no index of inboxq's (0028): their task
// list adds them from River's, so that, paged by the cursor, the list holds
// each of the user's tasks once, newest first, running ones among the
// rest, and no other user's; the queued-tasks count includes them.
func TestTaskListByOwnerIncludesRunningTasks(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tx := inboxqtest.TestTx(t)
	st := store.WithTx(tx)
	insert := func(owner int64, state string) int64 {
		var id int64
		require.NoError(t, tx.QueryRow(ctx, `INSERT INTO river_job (kind, args, queue, state, max_attempts, priority, finalized_at)
			VALUES ('k', jsonb_build_object('owner_id', $1::bigint), 'default', $2::river_job_state, 1, 2,
			        CASE WHEN $2 IN ('completed', 'cancelled', 'discarded') THEN now() END) RETURNING id`, owner, state).Scan(&id))
		return id
	}
	const owner, other = int64(41), int64(42)
	var want []int64
	states := []string{"running", "completed", "available", "running", "pending", "running", "discarded", "scheduled", "running", "completed", "retryable", "cancelled"}
	for i, state := range states {
		want = append(want, insert(owner, state))
		insert(other, states[(i+3)%len(states)])
	}
	slices.Reverse(want)

	o := owner
	var got []int64
	f := inbox.TaskFilter{Limit: 3}
	for range len(want) {
		page, err := st.TaskList(ctx, f, &o)
		require.NoError(t, err)
		if len(page) == 0 {
			break
		}
		require.LessOrEqual(t, len(page), 3)
		for _, task := range page {
			got = append(got, task.ID)
		}
		f.AfterID = page[len(page)-1].ID
	}
	require.Equal(t, want, got, "every task once, newest first, running and waiting ones in their place")

	// want is newest first: index i holds states[len(states)-1-i].
	ofState := func(ss ...string) []int64 {
		var ids []int64
		for i, id := range want {
			if slices.Contains(ss, states[len(states)-1-i]) {
				ids = append(ids, id)
			}
		}
		return ids
	}
	for _, c := range []struct {
		filter []inbox.TaskState
		river  []string
	}{
		{[]inbox.TaskState{inbox.TaskPending}, []string{"available", "pending"}},
		{[]inbox.TaskState{inbox.TaskRetrying, inbox.TaskScheduled}, []string{"retryable", "scheduled"}},
		{[]inbox.TaskState{inbox.TaskFailed, inbox.TaskCancelled}, []string{"discarded", "cancelled"}},
		{[]inbox.TaskState{inbox.TaskCompleted, inbox.TaskPending}, []string{"completed", "available", "pending"}},
	} {
		page, err := st.TaskList(ctx, inbox.TaskFilter{States: c.filter, Limit: 50}, &o)
		require.NoError(t, err)
		var ids []int64
		for _, task := range page {
			ids = append(ids, task.ID)
		}
		require.Equal(t, ofState(c.river...), ids, "filter %v", c.filter)
	}

	running, err := st.TaskList(ctx, inbox.TaskFilter{States: []inbox.TaskState{inbox.TaskRunning}, Limit: 2}, &o)
	require.NoError(t, err)
	require.Equal(t, ofState("running")[:2], []int64{running[0].ID, running[1].ID}, "the newest two running tasks")

	n, err := st.TaskCountUnfinished(ctx, owner, 100)
	require.NoError(t, err)
	require.Equal(t, 8, n, "four running, one ready, one pending, one scheduled, one retrying")
	n, err = st.TaskCountUnfinished(ctx, owner, 2)
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, 2, "the limit stops the count, never below it")
}

// A snapshot cut at its limit keeps the tasks in flight, running first, and
// drops old finished ones: the newest by id alone left an older running
// task out of a reconnect's snapshot.
func TestSnapshotKeepsTasksInFlightWhenCut(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tx := inboxqtest.TestTx(t)
	st := store.WithTx(tx)
	insert := func(state string) int64 {
		var id int64
		require.NoError(t, tx.QueryRow(ctx, `INSERT INTO river_job (kind, args, queue, state, max_attempts, priority, finalized_at)
			VALUES ('k', '{"owner_id": 7}', 'default', $1::river_job_state, 1, 2,
			        CASE WHEN $1 IN ('completed', 'cancelled', 'discarded') THEN now() END) RETURNING id`, state).Scan(&id))
		return id
	}
	running := insert("running")
	queued := insert("available")
	for range 3 {
		insert("completed")
	}
	owner := int64(7)
	got, err := st.TaskActiveOrFinishedSince(ctx, &owner, time.Now().Add(-time.Hour), 2)
	require.NoError(t, err)
	require.Len(t, got, 2)
	require.Equal(t, running, got[0].ID)
	require.Equal(t, queued, got[1].ID)
}

// A final report is stored as [done, total] when it is numbers only and as
// an object when it has words; both forms, and objects of numbers written
// before migration 0027, read back as the report.
func TestFinalProgressForms(t *testing.T) {
	total := int64(8)
	for _, c := range []struct {
		in   store.FinalProgress
		json string
	}{
		{store.FinalProgress{Done: 3, Total: &total}, `[3,8]`},
		{store.FinalProgress{Done: 3}, `[3,null]`},
		{store.FinalProgress{Done: 3, Total: &total, Stage: "archiving", Message: "3 of 8"}, `{"done":3,"total":8,"stage":"archiving","message":"3 of 8"}`},
	} {
		b, err := json.Marshal(c.in)
		require.NoError(t, err)
		require.JSONEq(t, c.json, string(b))
		var back store.FinalProgress
		require.NoError(t, json.Unmarshal(b, &back))
		require.Equal(t, c.in, back)
	}
	var old store.FinalProgress
	require.NoError(t, json.Unmarshal([]byte(`{"done":3,"total":8}`), &old))
	require.Equal(t, store.FinalProgress{Done: 3, Total: &total}, old)
	for _, bad := range []string{`[]`, `[null,1]`, `[1,2,3]`, `["3",1]`} {
		require.Error(t, json.Unmarshal([]byte(bad), &old), bad)
	}

	ctx := context.Background()
	s := inboxqtest.TestSchema(t)
	st := store.New(s.Pool)
	for _, md := range []string{`{"progress":[3,8]}`, `{"progress":{"done":3,"total":8}}`} {
		var id int64
		require.NoError(t, s.Pool.QueryRow(ctx, `INSERT INTO river_job (kind, args, queue, state, max_attempts, metadata, finalized_at)
			VALUES ('k', '{"owner_id":1}', 'default', 'completed', 1, $1, now()) RETURNING id`, md).Scan(&id))
		task, err := st.TaskGet(ctx, id, nil)
		require.NoError(t, err)
		require.NotNil(t, task.Progress, md)
		require.EqualValues(t, 3, task.Progress.Done, md)
		require.Equal(t, &total, task.Progress.Total, md)
	}
}
