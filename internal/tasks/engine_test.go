package tasks_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/tasks"
)

func echo(msg string) json.RawMessage {
	raw, _ := json.Marshal(map[string]string{"message": msg})
	return raw
}

func TestPriorityOneOvertakesQueuedPriorityFour(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// One worker on the default queue, started after everything is queued.
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{inbox.QueueDefault: 1}})
	alice, _ := s.User(t, "alice", false)

	var low []int64
	for i := range 5 {
		task, _, err := s.Tasks.Create(ctx, alice, tasks.CreateParams{Kind: "test_echo", Args: echo("low"), Priority: 4})
		require.NoError(t, err, i)
		low = append(low, task.ID)
	}
	admin, _ := s.User(t, "root", true) // priority 1 is reserved for admins
	urgent, _, err := s.Tasks.Create(ctx, admin, tasks.CreateParams{Kind: "test_echo", Args: echo("urgent"), Priority: 1})
	require.NoError(t, err)
	require.Greater(t, urgent.ID, low[4], "queued last")

	require.NoError(t, s.Client.Start(ctx))
	t.Cleanup(func() { require.NoError(t, s.Client.Stop(context.Background())) })
	for _, id := range append(low, urgent.ID) {
		s.WaitTask(t, id, 10*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	}
	first, err := s.Tasks.Get(ctx, admin, urgent.ID)
	require.NoError(t, err)
	for _, id := range low {
		other, err := s.Tasks.Get(ctx, alice, id)
		require.NoError(t, err)
		require.True(t, first.StartedAt.Before(*other.StartedAt), "priority 1 started before priority-4 task %d", id)
	}
}

func TestCancelARunningTaskFromAnotherClient(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	// The worker process...
	worker := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true})
	// ...and an API process with an insert-only client, on the same schema.
	apiSide := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}, Schema: &worker.Schema})
	alice, _ := apiSide.User(t, "alice", false)

	task, _, err := apiSide.Tasks.Create(ctx, alice, tasks.CreateParams{Kind: "test_block", Args: json.RawMessage(`{"key":"x"}`)})
	require.NoError(t, err)
	worker.WaitTask(t, task.ID, 10*time.Second, inboxqtest.InState(inbox.TaskRunning))

	got, err := apiSide.Tasks.Cancel(ctx, alice, task.ID)
	require.NoError(t, err)
	require.Contains(t, []inbox.TaskState{inbox.TaskCancelling, inbox.TaskCancelled}, got.State)
	done := worker.WaitTask(t, task.ID, 5*time.Second, inboxqtest.InState(inbox.TaskCancelled))
	require.Len(t, done.Errors, 1, "the remote cancel is recorded")
	require.Contains(t, done.Errors[0].Error, "cancelled remotely")
}

func TestScheduleFiresOncePerTickAcrossProcessesAndLeaderChanges(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fast := tasks.DefaultLimits()
	fast.MinScheduleInterval = 0 // users' schedules fire at most every minute by default
	a := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{inbox.QueueDefault: 2}, Limits: &fast})
	b := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{inbox.QueueDefault: 2}, Schema: &a.Schema})
	alice, _ := a.User(t, "alice", false)

	// Every second, in a zone far from UTC.
	sched, err := a.Tasks.CreateSchedule(ctx, alice, tasks.ScheduleParams{
		Name: "every second", Cron: "* * * * * *", Timezone: "Pacific/Chatham", Kind: "test_echo", Args: echo("tick"), Priority: 2, Enabled: true,
	})
	require.NoError(t, err)

	// Two processes, each with River and a scheduler checking every 20 ms.
	type proc struct {
		stack   *inboxqtest.Stack
		cancel  context.CancelFunc
		done    chan struct{}
		stopped sync.Once
	}
	start := func(s *inboxqtest.Stack) *proc {
		pctx, cancel := context.WithCancel(ctx)
		require.NoError(t, s.Client.Start(pctx))
		p := &proc{stack: s, cancel: cancel, done: make(chan struct{})}
		sc := tasks.NewScheduler(s.Tasks, s.Client.ID, 20*time.Millisecond, inboxqtest.Logger(t))
		go func() { defer close(p.done); sc.Run(pctx) }()
		return p
	}
	stop := func(p *proc) {
		p.stopped.Do(func() {
			sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			defer cancel()
			require.NoError(t, p.stack.Client.Stop(sctx))
			p.cancel()
			<-p.done
		})
	}
	pa, pb := start(a), start(b)
	t.Cleanup(func() { stop(pa); stop(pb) })

	countTicks := func() int {
		ts, _, err := a.Tasks.List(ctx, alice, inbox.TaskFilter{Kinds: []string{"test_echo"}, Limit: 500}, "")
		require.NoError(t, err)
		return len(ts)
	}
	require.Eventually(t, func() bool { return countTicks() >= 3 }, 15*time.Second, 50*time.Millisecond)
	// Stop whichever leads; the other takes over and goes on.
	leader, err := a.Store.RiverLeaderID(ctx)
	require.NoError(t, err)
	leaderProc, other := pb, pa
	if leader == pa.stack.Client.ID() {
		leaderProc, other = pa, pb
	}
	stop(leaderProc)
	before := countTicks()
	require.Eventually(t, func() bool { return countTicks() >= before+3 }, 20*time.Second, 50*time.Millisecond)
	stop(other)

	// Exactly one task per tick: no tick twice, each task tied to the schedule.
	var rows []struct {
		ScheduleID int64     `json:"schedule_id"`
		Tick       time.Time `json:"schedule_tick"`
	}
	dbRows, err := a.Schema.Pool.Query(ctx, "SELECT metadata FROM river_job WHERE kind = 'test_echo'")
	require.NoError(t, err)
	for dbRows.Next() {
		var raw []byte
		require.NoError(t, dbRows.Scan(&raw))
		var r struct {
			ScheduleID int64     `json:"schedule_id"`
			Tick       time.Time `json:"schedule_tick"`
		}
		require.NoError(t, json.Unmarshal(raw, &r))
		rows = append(rows, r)
	}
	require.NoError(t, dbRows.Err())
	seen := map[time.Time]bool{}
	for _, r := range rows {
		require.Equal(t, sched.ID, r.ScheduleID)
		require.False(t, seen[r.Tick], "tick %s enqueued twice", r.Tick)
		require.Equal(t, r.Tick, r.Tick.Truncate(time.Second), "ticks fall on whole seconds")
		seen[r.Tick] = true
	}
	require.GreaterOrEqual(t, len(rows), 6)

	got, err := a.Tasks.Schedule(ctx, alice, sched.ID)
	require.NoError(t, err)
	require.NotNil(t, got.LastTaskID)
	require.True(t, got.NextRunAt.After(*got.LastRunAt))
}

func TestScheduleValidation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}})
	alice, _ := s.User(t, "alice", false)
	ok := tasks.ScheduleParams{Name: "n", Cron: "0 3 * * *", Timezone: "Europe/Paris", Kind: "test_echo", Args: echo("x"), Priority: 2, Enabled: true}

	for name, mutate := range map[string]func(*tasks.ScheduleParams){
		"bad cron":        func(p *tasks.ScheduleParams) { p.Cron = "every tuesday" },
		"tz in cron":      func(p *tasks.ScheduleParams) { p.Cron = "CRON_TZ=UTC 0 3 * * *" },
		"bad zone":        func(p *tasks.ScheduleParams) { p.Timezone = "Mars/Olympus" },
		"bad args":        func(p *tasks.ScheduleParams) { p.Args = json.RawMessage(`{"nope":1}`) },
		"unknown kind":    func(p *tasks.ScheduleParams) { p.Kind = "nope" },
		"priority":        func(p *tasks.ScheduleParams) { p.Priority = 5 },
		"empty name":      func(p *tasks.ScheduleParams) { p.Name = " " },
		"admin-only kind": func(p *tasks.ScheduleParams) { p.Kind, p.Args = "monitor_system_health", nil },
	} {
		p := ok
		mutate(&p)
		_, err := s.Tasks.CreateSchedule(ctx, alice, p)
		require.Error(t, err, name)
	}
	created, err := s.Tasks.CreateSchedule(ctx, alice, ok)
	require.NoError(t, err)
	// 03:00 in Paris is 01:00 or 02:00 UTC.
	require.Contains(t, []int{1, 2}, created.NextRunAt.UTC().Hour())
	_, err = s.Tasks.CreateSchedule(ctx, alice, ok)
	require.ErrorIs(t, err, inbox.ErrConflict, "same name twice")

	// Disabling clears the next run; enabling recomputes it.
	off := false
	upd, err := s.Tasks.UpdateSchedule(ctx, alice, created.ID, tasks.ScheduleChange{Enabled: &off})
	require.NoError(t, err)
	require.Nil(t, upd.NextRunAt)
	on, cron := true, "*/5 * * * *"
	upd, err = s.Tasks.UpdateSchedule(ctx, alice, created.ID, tasks.ScheduleChange{Enabled: &on, Cron: &cron})
	require.NoError(t, err)
	require.NotNil(t, upd.NextRunAt)
	require.Zero(t, upd.NextRunAt.Minute()%5)
	require.WithinDuration(t, time.Now(), *upd.NextRunAt, 5*time.Minute+time.Second)
	require.NoError(t, s.Tasks.DeleteSchedule(ctx, alice, created.ID))
	require.ErrorIs(t, s.Tasks.DeleteSchedule(ctx, alice, created.ID), inbox.ErrNotFound)
}

func TestRetryPolicyBacksOffWithJitterAndACap(t *testing.T) {
	t.Parallel()
	p := jobs.DefaultRetryPolicy()
	require.Equal(t, 2*time.Second, p.Delay(1))
	require.Equal(t, 4*time.Second, p.Delay(2))
	require.Equal(t, 1024*time.Second, p.Delay(10))
	require.Equal(t, time.Hour, p.Delay(12))
	require.Equal(t, time.Hour, p.Delay(500))

	// Jitter keeps each retry within ±25 % and spreads them out.
	seen := map[time.Duration]bool{}
	for range 50 {
		before := time.Now()
		next := p.NextRetry(&rivertype.JobRow{Errors: make([]rivertype.AttemptError, 2)}) // third attempt failed
		d := next.Sub(before)
		require.GreaterOrEqual(t, d, 6*time.Second-time.Millisecond)
		require.LessOrEqual(t, d, 10*time.Second+time.Millisecond)
		seen[d.Round(10*time.Millisecond)] = true
	}
	require.Greater(t, len(seen), 10)
}

var _ river.ClientRetryPolicy = jobs.RetryPolicy{}
