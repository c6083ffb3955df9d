package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/inboxqtest"
)

type taskBody struct {
	ID          int64            `json:"id"`
	Kind        string           `json:"kind"`
	Queue       string           `json:"queue"`
	Owner       string           `json:"owner"`
	Priority    int              `json:"priority"`
	State       string           `json:"state"`
	Attempt     int              `json:"attempt"`
	MaxAttempts int              `json:"max_attempts"`
	Errors      []map[string]any `json:"errors"`
	Args        map[string]any   `json:"args"`
	Result      map[string]any   `json:"result"`
	Duplicate   bool             `json:"duplicate"`
	ScheduledAt time.Time        `json:"scheduled_at"`
}

type problemBody struct {
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
	} `json:"errors"`
}

func create(t *testing.T, s *inboxqtest.Stack, token string, body any) taskBody {
	t.Helper()
	r := s.Do(t, http.MethodPost, "/api/v1/tasks", token, body)
	require.Contains(t, []int{http.StatusCreated, http.StatusOK}, r.Code, "%s", r.Body)
	var out taskBody
	r.JSON(t, &out)
	return out
}

func countTasks(t *testing.T, s *inboxqtest.Stack) int {
	t.Helper()
	var n int
	require.NoError(t, s.Schema.Pool.QueryRow(context.Background(), "SELECT count(*) FROM river_job").Scan(&n))
	return n
}

func problemOf(t *testing.T, r inboxqtest.Response, status int) problemBody {
	t.Helper()
	require.Equal(t, status, r.Code, "%s", r.Body)
	require.Equal(t, "application/problem+json", r.Header.Get("Content-Type"))
	var p problemBody
	r.JSON(t, &p)
	return p
}

func TestCreateTaskBadInputChangesNothing(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}})
	_, alice := s.User(t, "alice", false)
	post := func(token string, body any) inboxqtest.Response {
		return s.Do(t, http.MethodPost, "/api/v1/tasks", token, body)
	}

	p := problemOf(t, post(alice, map[string]any{"kind": "make_coffee"}), http.StatusUnprocessableEntity)
	require.Contains(t, p.Detail, `unknown kind "make_coffee"`)
	require.Contains(t, p.Detail, "monitor_system_health, test_block, test_collect, test_echo, test_fail")

	p = problemOf(t, post(alice, map[string]any{"args": map[string]any{}}), http.StatusUnprocessableEntity)
	require.Equal(t, "body.kind", p.Errors[0].Location)

	// Every field error at once, with its location.
	p = problemOf(t, post(alice, map[string]any{
		"kind": "test_echo", "priority": 9, "max_attempts": 0,
		"args": map[string]any{"message": strings.Repeat("x", 101), "count": 99, "owner_id": 7, "colour": "red"},
	}), http.StatusUnprocessableEntity)
	locs := map[string]bool{}
	for _, e := range p.Errors {
		locs[e.Location] = true
	}
	for _, want := range []string{"body.priority", "body.max_attempts", "body.args.message", "body.args.count", "body.args.owner_id", "body.args.colour"} {
		require.True(t, locs[want], "missing error at %s in %+v", want, p.Errors)
	}
	p = problemOf(t, post(alice, map[string]any{"kind": "test_echo", "args": map[string]any{}}), http.StatusUnprocessableEntity)
	require.Equal(t, "body.args", p.Errors[0].Location)
	require.Contains(t, p.Errors[0].Message, "required property message")

	problemOf(t, post(alice, `{"kind": "test_echo", `), http.StatusBadRequest)
	problemOf(t, post(alice, `[1, 2]`), http.StatusUnprocessableEntity)
	big := `{"kind":"test_echo","args":{"message":"` + strings.Repeat("x", 1<<20) + `"}}`
	problemOf(t, post(alice, big), http.StatusRequestEntityTooLarge)

	// Authentication and role.
	ok := map[string]any{"kind": "test_echo", "args": map[string]any{"message": "hi"}}
	problemOf(t, post("", ok), http.StatusUnauthorized)
	problemOf(t, post("iq_not-a-real-token", ok), http.StatusUnauthorized)
	p = problemOf(t, post(alice, map[string]any{"kind": "monitor_system_health"}), http.StatusForbidden)
	require.Contains(t, p.Detail, "only admins")

	require.Zero(t, countTasks(t, s), "no error created anything")
}

func TestCreateGetListTask(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}})
	_, alice := s.User(t, "alice", false)

	runAt := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	created := create(t, s, alice, map[string]any{
		"kind": "test_echo", "args": map[string]any{"message": "hello"}, "priority": 3, "max_attempts": 7, "run_at": runAt,
	})
	require.Equal(t, "test_echo", created.Kind)
	require.Equal(t, "alice", created.Owner)
	require.Equal(t, "default", created.Queue)
	require.Equal(t, 3, created.Priority)
	require.Equal(t, 7, created.MaxAttempts)
	require.Equal(t, "scheduled", created.State)
	require.True(t, runAt.Equal(created.ScheduledAt))
	require.Equal(t, "hello", created.Args["message"])
	require.False(t, created.Duplicate)

	r := s.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/tasks/%d", created.ID), alice, nil)
	require.Equal(t, http.StatusOK, r.Code)
	var got taskBody
	r.JSON(t, &got)
	require.Equal(t, created.ID, got.ID)

	// Kind default priority; list filters and pages.
	for i := range 4 {
		b := create(t, s, alice, map[string]any{"kind": "test_echo", "args": map[string]any{"message": fmt.Sprint(i)}})
		require.Equal(t, 2, b.Priority)
		require.Equal(t, "pending", b.State)
	}
	var page struct {
		Tasks      []taskBody `json:"tasks"`
		NextCursor string     `json:"next_cursor"`
	}
	s.Do(t, http.MethodGet, "/api/v1/tasks?limit=3", alice, nil).JSON(t, &page)
	require.Len(t, page.Tasks, 3)
	require.NotEmpty(t, page.NextCursor)
	first, cursor := page.Tasks, page.NextCursor
	page.NextCursor = ""
	s.Do(t, http.MethodGet, "/api/v1/tasks?limit=3&cursor="+cursor, alice, nil).JSON(t, &page)
	require.Len(t, page.Tasks, 2)
	require.Empty(t, page.NextCursor)
	require.Greater(t, first[2].ID, page.Tasks[0].ID, "newest first, no overlap")

	s.Do(t, http.MethodGet, "/api/v1/tasks?state=scheduled", alice, nil).JSON(t, &page)
	require.Len(t, page.Tasks, 1)
	require.Equal(t, created.ID, page.Tasks[0].ID)
	s.Do(t, http.MethodGet, "/api/v1/tasks?state=pending&kind=test_echo&queue=default", alice, nil).JSON(t, &page)
	require.Len(t, page.Tasks, 4)
	s.Do(t, http.MethodGet, "/api/v1/tasks?queue=bulk", alice, nil).JSON(t, &page)
	require.Empty(t, page.Tasks)
	s.Do(t, http.MethodGet, "/api/v1/tasks?created_from="+time.Now().Add(time.Minute).UTC().Format(time.RFC3339), alice, nil).JSON(t, &page)
	require.Empty(t, page.Tasks)

	problemOf(t, s.Do(t, http.MethodGet, "/api/v1/tasks?state=sleeping", alice, nil), http.StatusUnprocessableEntity)
	problemOf(t, s.Do(t, http.MethodGet, "/api/v1/tasks?cursor=garbage", alice, nil), http.StatusUnprocessableEntity)
	problemOf(t, s.Do(t, http.MethodGet, "/api/v1/tasks/999999", alice, nil), http.StatusNotFound)
	problemOf(t, s.Do(t, http.MethodGet, "/api/v1/tasks/abc", alice, nil), http.StatusUnprocessableEntity)
}

func TestDuplicateCreateReturnsTheExistingTask(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}})
	_, alice := s.User(t, "alice", false)
	_, bob := s.User(t, "bob", false)

	body := map[string]any{"kind": "test_block", "args": map[string]any{"key": "acct-1"}}
	first := s.Do(t, http.MethodPost, "/api/v1/tasks", alice, body)
	require.Equal(t, http.StatusCreated, first.Code)
	second := s.Do(t, http.MethodPost, "/api/v1/tasks", alice, body)
	require.Equal(t, http.StatusOK, second.Code)
	var a, b taskBody
	first.JSON(t, &a)
	second.JSON(t, &b)
	require.Equal(t, a.ID, b.ID)
	require.True(t, b.Duplicate)

	// The owner is part of the key: bob's identical request is his own task.
	third := create(t, s, bob, body)
	require.NotEqual(t, a.ID, third.ID)
	require.False(t, third.Duplicate)
	require.Equal(t, 2, countTasks(t, s))
}

func TestCancelAndRetryRules(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true})
	_, alice := s.User(t, "alice", false)

	// Queued → cancelled at once; cancelling again is a conflict.
	queued := create(t, s, alice, map[string]any{"kind": "test_echo", "args": map[string]any{"message": "later"}, "run_at": time.Now().Add(time.Hour)})
	r := s.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/tasks/%d/cancel", queued.ID), alice, nil)
	require.Equal(t, http.StatusOK, r.Code, "%s", r.Body)
	var got taskBody
	r.JSON(t, &got)
	require.Equal(t, "cancelled", got.State)
	p := problemOf(t, s.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/tasks/%d/cancel", queued.ID), alice, nil), http.StatusConflict)
	require.Contains(t, p.Detail, "already cancelled")

	// Running: retry is a conflict; cancel shows cancelling, then cancelled.
	running := create(t, s, alice, map[string]any{"kind": "test_block", "args": map[string]any{"key": "k"}})
	s.WaitTask(t, running.ID, 10*time.Second, inboxqtest.InState(inbox.TaskRunning))
	p = problemOf(t, s.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/tasks/%d/retry", running.ID), alice, nil), http.StatusConflict)
	require.Contains(t, p.Detail, "only failed or cancelled tasks can be retried")
	r = s.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/tasks/%d/cancel", running.ID), alice, nil)
	require.Equal(t, http.StatusOK, r.Code)
	r.JSON(t, &got)
	require.Contains(t, []string{"cancelling", "cancelled"}, got.State)
	done := s.WaitTask(t, running.ID, 10*time.Second, inboxqtest.InState(inbox.TaskCancelled))
	require.NotNil(t, done.FinishedAt)

	// Completed: cancel is a conflict, retry is a conflict.
	echo := create(t, s, alice, map[string]any{"kind": "test_echo", "args": map[string]any{"message": "now"}})
	fin := s.WaitTask(t, echo.ID, 10*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	require.JSONEq(t, `{"echo":"now"}`, string(fin.Result))
	problemOf(t, s.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/tasks/%d/cancel", echo.ID), alice, nil), http.StatusConflict)
	problemOf(t, s.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/tasks/%d/retry", echo.ID), alice, nil), http.StatusConflict)

	// Cancelled: retry runs it again.
	r = s.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/tasks/%d/retry", queued.ID), alice, nil)
	require.Equal(t, http.StatusOK, r.Code, "%s", r.Body)
	again := s.WaitTask(t, queued.ID, 10*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	require.Equal(t, 1, again.Attempt)
}

func TestFailuresAndDeadLetters(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true})
	_, alice := s.User(t, "alice", false)

	retry := create(t, s, alice, map[string]any{"kind": "test_fail", "args": map[string]any{"mode": "retry"}})
	perm := create(t, s, alice, map[string]any{"kind": "test_fail", "args": map[string]any{"mode": "permanent"}, "max_attempts": 5})
	snooze := create(t, s, alice, map[string]any{"kind": "test_fail", "args": map[string]any{"mode": "snooze_then_ok"}})

	failed := s.WaitTask(t, retry.ID, 10*time.Second, inboxqtest.InState(inbox.TaskFailed))
	require.Len(t, failed.Errors, 1)
	require.Contains(t, failed.Errors[0].Error, "flaky upstream")
	// A permanent error fails at once, with attempts to spare.
	pf := s.WaitTask(t, perm.ID, 10*time.Second, inboxqtest.InState(inbox.TaskFailed))
	require.Equal(t, 1, pf.Attempt)
	require.Equal(t, 5, pf.MaxAttempts)
	require.Contains(t, pf.Errors[0].Error, "mailbox gone")
	// A snooze spends no attempt: one attempt allowed, still completes.
	sn := s.WaitTask(t, snooze.ID, 10*time.Second, inboxqtest.InState(inbox.TaskCompleted))
	require.Empty(t, sn.Errors)

	var page struct {
		Tasks []taskBody `json:"tasks"`
	}
	s.Do(t, http.MethodGet, "/api/v1/dead-letters", alice, nil).JSON(t, &page)
	require.Len(t, page.Tasks, 2)
	for _, d := range page.Tasks {
		require.NotEmpty(t, d.Errors)
	}

	var bulk struct {
		Changed []taskBody `json:"changed"`
		Skipped []struct {
			ID     int64  `json:"id"`
			Reason string `json:"reason"`
		} `json:"skipped"`
	}
	r := s.Do(t, http.MethodPost, "/api/v1/dead-letters/redrive", alice, map[string]any{"ids": []int64{retry.ID, snooze.ID}})
	require.Equal(t, http.StatusOK, r.Code, "%s", r.Body)
	r.JSON(t, &bulk)
	require.Len(t, bulk.Changed, 1)
	require.Equal(t, retry.ID, bulk.Changed[0].ID)
	require.Len(t, bulk.Skipped, 1)
	require.Equal(t, snooze.ID, bulk.Skipped[0].ID)
	again := s.WaitTask(t, retry.ID, 10*time.Second, inboxqtest.InState(inbox.TaskFailed))
	require.Len(t, again.Errors, 2, "re-driven, failed again, both errors kept")

	// Re-drive by filter takes every dead letter.
	s.Do(t, http.MethodPost, "/api/v1/dead-letters/redrive", alice, map[string]any{"kind": []string{"test_fail"}}).JSON(t, &bulk)
	require.Len(t, bulk.Changed, 2)
}

func TestBulkCancelAndRetry(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}})
	_, alice := s.User(t, "alice", false)
	var ids []int64
	for i := range 5 {
		ids = append(ids, create(t, s, alice, map[string]any{"kind": "test_echo", "args": map[string]any{"message": fmt.Sprint(i)}}).ID)
	}
	var bulk struct {
		Changed []taskBody `json:"changed"`
		Skipped []struct {
			ID     int64  `json:"id"`
			Reason string `json:"reason"`
		} `json:"skipped"`
	}
	r := s.Do(t, http.MethodPost, "/api/v1/tasks/cancel", alice, map[string]any{"ids": []int64{ids[0], ids[1], 99999}})
	require.Equal(t, http.StatusOK, r.Code, "%s", r.Body)
	r.JSON(t, &bulk)
	require.Len(t, bulk.Changed, 2)
	require.Equal(t, []int64{99999}, []int64{bulk.Skipped[0].ID})
	require.Equal(t, "not found", bulk.Skipped[0].Reason)

	s.Do(t, http.MethodPost, "/api/v1/tasks/cancel", alice, map[string]any{"state": []string{"pending"}}).JSON(t, &bulk)
	require.Len(t, bulk.Changed, 3)
	for _, c := range bulk.Changed {
		require.Equal(t, "cancelled", c.State)
	}
	s.Do(t, http.MethodPost, "/api/v1/tasks/retry", alice, map[string]any{"state": []string{"cancelled"}, "kind": []string{"test_echo"}}).JSON(t, &bulk)
	require.Len(t, bulk.Changed, 5)
	for _, c := range bulk.Changed {
		require.Equal(t, "pending", c.State)
	}

	tooMany := make([]int64, 1001)
	problemOf(t, s.Do(t, http.MethodPost, "/api/v1/tasks/cancel", alice, map[string]any{"ids": tooMany}), http.StatusUnprocessableEntity)
}

func TestUsersSeeOnlyTheirOwn(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}})
	_, alice := s.User(t, "alice", false)
	_, bob := s.User(t, "bob", false)
	_, root := s.User(t, "root", true)

	task := create(t, s, alice, map[string]any{"kind": "test_echo", "args": map[string]any{"message": "mine"}})
	path := fmt.Sprintf("/api/v1/tasks/%d", task.ID)

	// Bob cannot see or touch it; every answer is a 404, never a 403.
	problemOf(t, s.Do(t, http.MethodGet, path, bob, nil), http.StatusNotFound)
	problemOf(t, s.Do(t, http.MethodPost, path+"/cancel", bob, nil), http.StatusNotFound)
	problemOf(t, s.Do(t, http.MethodPost, path+"/retry", bob, nil), http.StatusNotFound)
	var page struct {
		Tasks []taskBody `json:"tasks"`
	}
	s.Do(t, http.MethodGet, "/api/v1/tasks", bob, nil).JSON(t, &page)
	require.Empty(t, page.Tasks)
	var bulk struct {
		Changed []taskBody       `json:"changed"`
		Skipped []map[string]any `json:"skipped"`
	}
	s.Do(t, http.MethodPost, "/api/v1/tasks/cancel", bob, map[string]any{"ids": []int64{task.ID}}).JSON(t, &bulk)
	require.Empty(t, bulk.Changed)
	s.Do(t, http.MethodPost, "/api/v1/tasks/cancel", bob, map[string]any{"state": []string{"pending"}}).JSON(t, &bulk)
	require.Empty(t, bulk.Changed)
	var stats struct {
		Counts []map[string]any `json:"counts"`
	}
	s.Do(t, http.MethodGet, "/api/v1/stats", bob, nil).JSON(t, &stats)
	require.Empty(t, stats.Counts)

	// Schedules too.
	r := s.Do(t, http.MethodPost, "/api/v1/schedules", alice, map[string]any{
		"name": "nightly", "cron": "0 3 * * *", "kind": "test_echo", "args": map[string]any{"message": "night"},
	})
	require.Equal(t, http.StatusCreated, r.Code, "%s", r.Body)
	var sched struct {
		ID int64 `json:"id"`
	}
	r.JSON(t, &sched)
	spath := fmt.Sprintf("/api/v1/schedules/%d", sched.ID)
	problemOf(t, s.Do(t, http.MethodGet, spath, bob, nil), http.StatusNotFound)
	problemOf(t, s.Do(t, http.MethodPatch, spath, bob, map[string]any{"enabled": false}), http.StatusNotFound)
	problemOf(t, s.Do(t, http.MethodDelete, spath, bob, nil), http.StatusNotFound)
	var list struct {
		Schedules []map[string]any `json:"schedules"`
	}
	s.Do(t, http.MethodGet, "/api/v1/schedules", bob, nil).JSON(t, &list)
	require.Empty(t, list.Schedules)

	// The admin sees and controls everything.
	require.Equal(t, http.StatusOK, s.Do(t, http.MethodGet, path, root, nil).Code)
	s.Do(t, http.MethodGet, "/api/v1/schedules", root, nil).JSON(t, &list)
	require.Len(t, list.Schedules, 4, "alice's and the three built-in schedules (health, token cleanup, analytics)")
	require.Equal(t, http.StatusOK, s.Do(t, http.MethodPatch, spath, root, map[string]any{"enabled": false}).Code)
	require.Equal(t, http.StatusOK, s.Do(t, http.MethodPost, path+"/cancel", root, nil).Code)

	// Alice still sees her task, now cancelled by the admin.
	var got taskBody
	s.Do(t, http.MethodGet, path, alice, nil).JSON(t, &got)
	require.Equal(t, "cancelled", got.State)
}

func TestQueuesPauseResumeAdminOnly(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true})
	_, alice := s.User(t, "alice", false)
	_, root := s.User(t, "root", true)

	// River creates queue rows as its producers start.
	require.Eventually(t, func() bool {
		var q struct {
			Queues []struct {
				Name string `json:"name"`
			} `json:"queues"`
		}
		s.Do(t, http.MethodGet, "/api/v1/queues", alice, nil).JSON(t, &q)
		return len(q.Queues) == 5
	}, 10*time.Second, 20*time.Millisecond)

	problemOf(t, s.Do(t, http.MethodPost, "/api/v1/queues/default/pause", alice, nil), http.StatusForbidden)
	problemOf(t, s.Do(t, http.MethodPost, "/api/v1/queues/nope/pause", root, nil), http.StatusNotFound)
	require.Equal(t, http.StatusNoContent, s.Do(t, http.MethodPost, "/api/v1/queues/default/pause", root, nil).Code)

	var q struct {
		Queues []struct {
			Name      string `json:"name"`
			Paused    bool   `json:"paused"`
			Available int64  `json:"available"`
		} `json:"queues"`
	}
	s.Do(t, http.MethodGet, "/api/v1/queues", alice, nil).JSON(t, &q)
	for _, qq := range q.Queues {
		require.Equal(t, qq.Name == "default", qq.Paused, qq.Name)
	}

	// A paused queue takes no work; resumed, it does.
	task := create(t, s, alice, map[string]any{"kind": "test_echo", "args": map[string]any{"message": "wait"}})
	time.Sleep(300 * time.Millisecond) // give a (wrongly) running producer time to take it
	got, err := s.Tasks.Get(context.Background(), inbox.Principal{Role: inbox.RoleAdmin}, task.ID)
	require.NoError(t, err)
	require.Equal(t, inbox.TaskPending, got.State)
	require.Equal(t, http.StatusNoContent, s.Do(t, http.MethodPost, "/api/v1/queues/default/resume", root, nil).Code)
	s.WaitTask(t, task.ID, 10*time.Second, inboxqtest.InState(inbox.TaskCompleted))

	var stats struct {
		Counts []struct {
			Kind  string `json:"kind"`
			Queue string `json:"queue"`
			State string `json:"state"`
			Tasks int64  `json:"tasks"`
		} `json:"counts"`
		Throughput []struct {
			Completed int64 `json:"completed"`
		} `json:"throughput"`
	}
	s.Do(t, http.MethodGet, "/api/v1/stats", alice, nil).JSON(t, &stats)
	require.Len(t, stats.Throughput, 60)
	require.EqualValues(t, 1, stats.Throughput[59].Completed+stats.Throughput[58].Completed)
	require.Equal(t, []struct {
		Kind  string `json:"kind"`
		Queue string `json:"queue"`
		State string `json:"state"`
		Tasks int64  `json:"tasks"`
	}{{"test_echo", "default", "completed", 1}}, stats.Counts)
}
