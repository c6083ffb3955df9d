package tasks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/store"
	"github.com/inboxq/inboxq/internal/tasks"
)

// blocks inserts n of owner's test_block tasks the way the service does
// (users' band, their priority in metadata), in one statement.
func blocks(t *testing.T, s *inboxqtest.Stack, owner int64, prefix string, n, priority int) {
	t.Helper()
	md, err := json.Marshal(map[string]int{"priority": priority})
	require.NoError(t, err)
	params := make([]river.InsertManyParams, n)
	for i := range params {
		args := inboxqtest.BlockArgs{Key: fmt.Sprintf("%s-%d", prefix, i)}
		args.SetOwner(owner)
		params[i] = river.InsertManyParams{Args: args, InsertOpts: &river.InsertOpts{Priority: tasks.UserBandPriority, Metadata: md}}
	}
	_, err = s.Client.InsertMany(context.Background(), params)
	require.NoError(t, err)
}

// jobStates counts one owner's jobs by River state.
func jobStates(t require.TestingT, s *inboxqtest.Stack, owner int64) map[string]int {
	rows, err := s.Schema.Pool.Query(context.Background(),
		`SELECT state::text, count(*) FROM river_job WHERE args ->> 'owner_id' = $1 GROUP BY 1`, fmt.Sprint(owner))
	require.NoError(t, err)
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		require.NoError(t, rows.Scan(&st, &n))
		out[st] = n
	}
	require.NoError(t, rows.Err())
	return out
}

// With user A holding 10,000 queued tasks at the highest priority a user may
// use, user B's one low-priority task is the next to start when a worker
// frees up; A never holds more than its cap of ready or running tasks.
func TestFairShareOneUserCannotStarveAnother(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const workers = 2
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{inbox.QueueBulk: workers}, UserCap: workers})
	a, _ := s.User(t, "heavy", false)
	b, _ := s.User(t, "light", false)

	blocks(t, s, a.UserID, "a", 10_000, 2)
	require.Equal(t, map[string]int{"available": workers, "pending": 10_000 - workers}, jobStates(t, s, a.UserID),
		"beyond the cap, A's tasks wait as pending")

	require.NoError(t, s.Client.Start(ctx))
	t.Cleanup(func() { require.NoError(t, s.Client.Stop(context.Background())) })
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, workers, jobStates(c, s, a.UserID)["running"])
	}, 30*time.Second, 20*time.Millisecond, "A fills both workers")
	// A's running tasks fill the cap (counted through River's index, 0028):
	// one more is parked as it is inserted.
	blocks(t, s, a.UserID, "a-more", 1, 2)
	require.Equal(t, map[string]int{"running": workers, "pending": 10_000 - workers + 1}, jobStates(t, s, a.UserID))

	bTask, _, err := s.Tasks.Create(ctx, b, tasks.CreateParams{Kind: "test_block", Args: json.RawMessage(`{"key":"b"}`), Priority: 4})
	require.NoError(t, err)
	require.Equal(t, 4, bTask.Priority, "B sees the priority it asked for")

	// A worker frees up: one of A's tasks ends.
	running, _, err := s.Tasks.List(ctx, a, inbox.TaskFilter{States: []inbox.TaskState{inbox.TaskRunning}}, "")
	require.NoError(t, err)
	require.Len(t, running, workers)
	_, err = s.Tasks.Cancel(ctx, a, running[0].ID)
	require.NoError(t, err)

	s.WaitTask(t, bTask.ID, 30*time.Second, inboxqtest.InState(inbox.TaskRunning))
	// Both workers now block forever (A's other task and B's), so A's
	// admitted task can only wait: B took the freed worker, not A.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, map[string]int{"running": 1, "available": 1, "cancelled": 1, "pending": 10_000 - workers},
			jobStates(c, s, a.UserID))
	}, 30*time.Second, 20*time.Millisecond)
}

// A user's own priorities order their backlog.
func TestFairShareOwnPriorityOrdersBacklog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}, UserCap: 1})
	u, _ := s.User(t, "u", false)
	var ids []int64
	for i, prio := range []int{4, 4, 3, 2} {
		task, _, err := s.Tasks.Create(ctx, u, tasks.CreateParams{Kind: "test_block", Args: json.RawMessage(fmt.Sprintf(`{"key":"k%d"}`, i)), Priority: prio})
		require.NoError(t, err)
		require.Equal(t, prio, task.Priority)
		ids = append(ids, task.ID)
	}
	admitted := func() int64 {
		var id int64
		require.NoError(t, s.Schema.Pool.QueryRow(ctx, `SELECT id FROM river_job WHERE state = 'available'`).Scan(&id))
		return id
	}
	// The ready slot holds the most urgent task not started: each insert
	// parks the newest, least urgent ready task over the cap, so the
	// priority-2 task took the slot from the first. The rest are admitted
	// by the priority their owner gave them, then age.
	require.Equal(t, ids[3], admitted())
	for _, want := range []int64{ids[2], ids[0], ids[1]} { // priority 3, then 4 by age
		_, err := s.Tasks.Cancel(ctx, u, admitted())
		require.NoError(t, err)
		require.Equal(t, want, admitted())
	}
}

// The repair sweep admits what a race left pending under the cap.
func TestFairSweepAdmitsWhatARaceLeftPending(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}, UserCap: 2})
	u, _ := s.User(t, "u", false)
	blocks(t, s, u.UserID, "k", 3, 3)
	require.Equal(t, map[string]int{"available": 2, "pending": 1}, jobStates(t, s, u.UserID))
	// The outcome of a race: the user's ready tasks parked with nothing left
	// to admit them (triggers off for this one transaction).
	tx, err := s.Schema.Pool.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `SET LOCAL session_replication_role = replica`)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `UPDATE river_job SET state = 'pending' WHERE state = 'available'`)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))
	require.Equal(t, map[string]int{"pending": 3}, jobStates(t, s, u.UserID))

	n, err := s.Store.FairSweep(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, map[string]int{"available": 2, "pending": 1}, jobStates(t, s, u.UserID))

	// Running tasks take their slots too, though they are counted through
	// River's index (0028): with one of the user's tasks running and the
	// rest parked, the sweep admits one, not two.
	tx, err = s.Schema.Pool.Begin(ctx)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `SET LOCAL session_replication_role = replica`)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `UPDATE river_job SET state = 'running', attempt = 1, attempted_at = now()
		WHERE id = (SELECT min(id) FROM river_job WHERE state = 'available')`)
	require.NoError(t, err)
	_, err = tx.Exec(ctx, `UPDATE river_job SET state = 'pending' WHERE state = 'available'`)
	require.NoError(t, err)
	require.NoError(t, tx.Commit(ctx))
	require.Equal(t, map[string]int{"running": 1, "pending": 2}, jobStates(t, s, u.UserID))
	n, err = s.Store.FairSweep(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	require.Equal(t, map[string]int{"running": 1, "available": 1, "pending": 1}, jobStates(t, s, u.UserID))
}

func TestPriorityOneIsReservedForAdmins(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}})
	user, _ := s.User(t, "u", false)
	admin, _ := s.User(t, "root", true)
	_, _, err := s.Tasks.Create(ctx, user, tasks.CreateParams{Kind: "test_echo", Args: echo("x"), Priority: 1})
	require.ErrorIs(t, err, inbox.ErrInvalid)
	require.ErrorContains(t, err, "reserved")
	task, _, err := s.Tasks.Create(ctx, admin, tasks.CreateParams{Kind: "test_echo", Args: echo("x"), Priority: 1})
	require.NoError(t, err)
	require.Equal(t, 1, task.Priority)
	_, err = s.Tasks.CreateSchedule(ctx, user, tasks.ScheduleParams{Name: "n", Cron: "@hourly", Timezone: "UTC", Kind: "test_echo", Args: echo("x"), Priority: 1, Enabled: true})
	require.ErrorIs(t, err, inbox.ErrInvalid)
}

func TestLimitsRefuseWithRetryAfter(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	lim := tasks.Limits{MaxQueued: 3, CreatesPerMinute: 2, MaxSchedules: 2, MinScheduleInterval: time.Minute, RunAtHorizon: 24 * time.Hour}
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}, Limits: &lim})
	u, tok := s.User(t, "u", false)
	admin, _ := s.User(t, "root", true)

	// Rate: two a minute, then 429 with Retry-After.
	for i := range 2 {
		r := s.Do(t, "POST", "/api/v1/tasks", tok, map[string]any{"kind": "test_echo", "args": map[string]string{"message": fmt.Sprint(i)}})
		require.Equal(t, 201, r.Code, "%s", r.Body)
	}
	r := s.Do(t, "POST", "/api/v1/tasks", tok, map[string]any{"kind": "test_echo", "args": map[string]string{"message": "3"}})
	require.Equal(t, 429, r.Code, "%s", r.Body)
	require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
	require.Contains(t, string(r.Body), "at most 2 tasks a minute")
	require.Regexp(t, `^[1-9][0-9]*$`, r.Header.Get("Retry-After"))
	var n int
	require.NoError(t, s.Schema.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job`).Scan(&n))
	require.Equal(t, 2, n, "the refused request created nothing")

	// Admins are exempt.
	for range 3 {
		_, _, err := s.Tasks.Create(ctx, admin, tasks.CreateParams{Kind: "test_echo", Args: echo("a")})
		require.NoError(t, err)
	}

	// Queued: a second user, no rate limit, three unfinished at most.
	lim2 := lim
	lim2.CreatesPerMinute = 0
	s.Tasks.WithLimits(lim2)
	v, vtok := s.User(t, "v", false)
	for i := range 3 {
		_, _, err := s.Tasks.Create(ctx, v, tasks.CreateParams{Kind: "test_echo", Args: echo(fmt.Sprint(i))})
		require.NoError(t, err)
	}
	r = s.Do(t, "POST", "/api/v1/tasks", vtok, map[string]any{"kind": "test_echo", "args": map[string]string{"message": "4"}})
	require.Equal(t, 429, r.Code, "%s", r.Body)
	require.Contains(t, string(r.Body), "3 unfinished tasks")
	require.Empty(t, r.Header.Get("Retry-After"), "waiting alone does not help")

	// run_at horizon.
	r = s.Do(t, "POST", "/api/v1/tasks", tok, map[string]any{"kind": "test_echo", "args": map[string]string{"message": "later"},
		"run_at": time.Now().Add(48 * time.Hour).Format(time.RFC3339)})
	require.Equal(t, 422, r.Code, "%s", r.Body)
	require.Contains(t, string(r.Body), "run_at")

	// Schedules: @every must be positive, users' interval at least a minute, two at most.
	for _, expr := range []string{"@every 0s", "@every -1s", "@every 1ns", "@every 30s", "* * * * * *", "0,30 * * * * *"} {
		_, err := s.Tasks.CreateSchedule(ctx, u, tasks.ScheduleParams{Name: expr, Cron: expr, Timezone: "UTC", Kind: "test_echo", Args: echo("x"), Priority: 2, Enabled: true})
		require.ErrorIs(t, err, inbox.ErrInvalid, expr)
	}
	_, err := s.Tasks.CreateSchedule(ctx, admin, tasks.ScheduleParams{Name: "fast", Cron: "@every 30s", Timezone: "UTC", Kind: "test_echo", Args: echo("x"), Priority: 2, Enabled: true})
	require.NoError(t, err, "admins may schedule faster")
	for i := range 2 {
		_, err := s.Tasks.CreateSchedule(ctx, u, tasks.ScheduleParams{Name: fmt.Sprint(i), Cron: "@every 1m", Timezone: "UTC", Kind: "test_echo", Args: echo("x"), Priority: 2, Enabled: true})
		require.NoError(t, err)
	}
	r = s.Do(t, "POST", "/api/v1/schedules", tok, map[string]any{"name": "third", "cron": "@hourly", "timezone": "UTC", "kind": "test_echo", "args": map[string]string{"message": "x"}})
	require.Equal(t, 429, r.Code, "%s", r.Body)
	require.Contains(t, string(r.Body), "2 schedules")
}

// One user's many due schedules cannot push another user's past the
// scheduler's per-tick limit.
func TestSchedulerTakesOwnersInTurn(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}})
	a, _ := s.User(t, "a", false)
	b, _ := s.User(t, "b", false)
	now := time.Now()
	for i := range 150 { // A's: due long ago (inserted as the store would, bypassing the limits)
		due := now.Add(-time.Hour + time.Duration(i)*time.Second)
		_, err := s.Store.ScheduleInsert(ctx, inbox.Schedule{OwnerID: &a.UserID, Name: fmt.Sprint("a", i), Cron: "@hourly", Timezone: "UTC",
			Kind: "test_echo", Args: echo("a"), Priority: 2, Enabled: true, NextRunAt: &due})
		require.NoError(t, err)
	}
	due := now.Add(-time.Second) // B's: due last
	bs, err := s.Store.ScheduleInsert(ctx, inbox.Schedule{OwnerID: &b.UserID, Name: "b", Cron: "@hourly", Timezone: "UTC",
		Kind: "test_echo", Args: echo("b"), Priority: 2, Enabled: true, NextRunAt: &due})
	require.NoError(t, err)

	sc := tasks.NewScheduler(s.Tasks, func() string { return "" }, time.Second, inboxqtest.Logger(t))
	started, err := sc.Tick(ctx)
	require.NoError(t, err)
	require.Equal(t, 100, started, "one tick's limit")
	got, err := s.Store.ScheduleGet(ctx, bs.ID, nil)
	require.NoError(t, err)
	require.NotNil(t, got.LastTaskID, "B's schedule ran in the first tick")
}

func TestEmptyBulkSelectionIsRefused(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}})
	_, tok := s.User(t, "u", false)
	admin, atok := s.User(t, "root", true)
	for range 3 {
		_, _, err := s.Tasks.Create(ctx, admin, tasks.CreateParams{Kind: "test_echo", Args: echo("x")})
		require.NoError(t, err)
	}
	for _, path := range []string{"/api/v1/tasks/cancel", "/api/v1/tasks/retry", "/api/v1/dead-letters/redrive"} {
		for _, token := range []string{tok, atok} {
			r := s.Do(t, "POST", path, token, map[string]any{})
			require.Equal(t, 422, r.Code, "%s %s", path, r.Body)
			require.Contains(t, string(r.Body), "all: true")
		}
	}
	list, _, err := s.Tasks.List(ctx, admin, inbox.TaskFilter{States: []inbox.TaskState{inbox.TaskCancelled}}, "")
	require.NoError(t, err)
	require.Empty(t, list, "nothing was cancelled")

	r := s.Do(t, "POST", "/api/v1/tasks/cancel", atok, map[string]any{"all": true})
	require.Equal(t, 200, r.Code, "%s", r.Body)
	var out struct {
		Changed []json.RawMessage `json:"changed"`
	}
	r.JSON(t, &out)
	require.Len(t, out.Changed, 3)
}

func TestQueuesShowUsersTheirOwnNumbers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}})
	u, _ := s.User(t, "u", false)
	v, _ := s.User(t, "v", false)
	admin, _ := s.User(t, "root", true)
	for range 2 {
		_, _, err := s.Tasks.Create(ctx, u, tasks.CreateParams{Kind: "test_echo", Args: echo("x"), Priority: 3})
		require.NoError(t, err)
	}
	_, _, err := s.Tasks.Create(ctx, v, tasks.CreateParams{Kind: "test_echo", Args: echo("x")})
	require.NoError(t, err)
	depth := func(p inbox.Principal) int64 {
		qs, err := s.Tasks.Queues(ctx, p)
		require.NoError(t, err)
		for _, q := range qs {
			if q.Name == inbox.QueueDefault {
				return q.Available + q.Pending
			}
		}
		t.Fatal("no default queue")
		return 0
	}
	require.EqualValues(t, 2, depth(u))
	require.EqualValues(t, 1, depth(v))
	require.EqualValues(t, 3, depth(admin))
}

// No function of ours may carry planner settings (SET clauses): a stock
// server must plan every statement as it is.
func TestNoFunctionOverridesPlannerSettings(t *testing.T) {
	t.Parallel()
	s := inboxqtest.TestSchema(t)
	rows, err := s.Pool.Query(context.Background(), `
		SELECT p.proname, array_to_string(p.proconfig, ', ')
		FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
		WHERE n.nspname = current_schema() AND p.proconfig IS NOT NULL`)
	require.NoError(t, err)
	var bad []string
	for rows.Next() {
		var name, cfg string
		require.NoError(t, rows.Scan(&name, &cfg))
		bad = append(bad, name+": "+cfg)
	}
	require.NoError(t, rows.Err())
	require.Empty(t, bad)
}

// Cancelling one task, and 1,000, on a table of 12,000 jobs with jit = on
// (the stock default) plans every statement, triggers included, below the
// JIT threshold. auto_explain sends each plan, nested ones too, to the
// client as a notice; the test logs the trigger's plan.
func TestCancelStaysCheapWithJIT(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}})
	u, _ := s.User(t, "u", false)
	_, err := s.Schema.Pool.Exec(ctx, `
		INSERT INTO river_job (args, kind, max_attempts, queue, priority, state, scheduled_at, finalized_at, metadata)
		SELECT jsonb_build_object('owner_id', $1::bigint, 'message', 'm' || g), 'test_echo', 5, 'default', 2,
		       CASE WHEN g % 6 = 0 THEN 'available' ELSE 'completed' END::river_job_state, now(),
		       CASE WHEN g % 6 = 0 THEN NULL ELSE now() END, '{"priority": 3}'
		FROM generate_series(1, 12000) g`, u.UserID)
	require.NoError(t, err)
	_, err = s.Schema.Pool.Exec(ctx, `ANALYZE river_job`)
	require.NoError(t, err)

	pool, explained := inboxqtest.ExplainedPool(t, s.Schema)
	svc := tasks.NewService(store.New(pool), s.Client, s.Registry, inboxqtest.Logger(t))

	var ids []int64
	rows, err := s.Schema.Pool.Query(ctx, `SELECT id FROM river_job WHERE state = 'available' ORDER BY id LIMIT 1001`)
	require.NoError(t, err)
	for rows.Next() {
		var id int64
		require.NoError(t, rows.Scan(&id))
		ids = append(ids, id)
	}
	require.NoError(t, rows.Err())
	require.Len(t, ids, 1001)

	_, err = svc.Cancel(ctx, u, ids[0])
	require.NoError(t, err)
	res, err := svc.CancelMany(ctx, u, tasks.Selection{IDs: ids[1:]})
	require.NoError(t, err)
	require.Len(t, res.Changed, 1000)

	plans := explained()
	require.NotEmpty(t, plans, "auto_explain reported the plans")
	shown := false
	for _, p := range plans {
		require.NotContains(t, p, "JIT:", "a statement was JIT-compiled:\n%s", p)
		if !shown && strings.Contains(p, "new_jobs") {
			t.Logf("trigger statement plan:\n%s", p)
			shown = true
		}
	}
	require.True(t, shown, "the trigger's statements were planned and shown")
}
