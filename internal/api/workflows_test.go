package api_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/inboxq/inboxq/internal/inboxqtest"
)

type workflowBody struct {
	ID       int64  `json:"id"`
	State    string `json:"state"`
	Progress struct {
		Total     int     `json:"total"`
		Completed int     `json:"completed"`
		Percent   float64 `json:"percent"`
	} `json:"progress"`
	Steps []struct {
		Name    string   `json:"name"`
		TaskID  int64    `json:"task_id"`
		Deps    []string `json:"deps"`
		State   string   `json:"state"`
		Outcome string   `json:"outcome"`
	} `json:"steps"`
}

func TestWorkflowThroughTheAPIWithItsEvents(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Start: true})
	srv := httptest.NewServer(s.Handler)
	t.Cleanup(srv.Close)
	_, alice := s.User(t, "alice", false)
	_, bob := s.User(t, "bob", false)

	c := inboxqtest.OpenSSE(t, srv.URL+"/api/v1/events", alice, "")
	untilSnapshotEnd(t, c)
	bobs := inboxqtest.OpenSSE(t, srv.URL+"/api/v1/events", bob, "")
	untilSnapshotEnd(t, bobs)

	steps := []map[string]any{}
	for i := range 3 {
		steps = append(steps, map[string]any{"name": fmt.Sprint("e", i), "kind": "test_echo", "args": map[string]any{"message": fmt.Sprint(i)}})
	}
	steps = append(steps, map[string]any{"name": "collect", "kind": "test_collect"})
	r := s.Do(t, http.MethodPost, "/api/v1/workflows", alice, map[string]any{"name": "fan", "shape": "chord", "steps": steps})
	require.Equal(t, http.StatusCreated, r.Code, "%s", r.Body)
	var created struct {
		Workflow  workflowBody `json:"workflow"`
		Duplicate bool         `json:"duplicate"`
	}
	r.JSON(t, &created)
	w := created.Workflow
	require.Equal(t, fmt.Sprintf("/api/v1/workflows/%d", w.ID), r.Header.Get("Location"))
	require.Len(t, w.Steps, 4)
	require.Equal(t, []string{"e0", "e1", "e2"}, w.Steps[3].Deps)

	// The stream says when each step finishes, and when the workflow does.
	evs := c.Until(t, 20*time.Second, func(ev inboxqtest.SSEEvent) bool {
		if ev.Name != "workflow" {
			return false
		}
		var we struct {
			ID    int64  `json:"id"`
			State string `json:"state"`
		}
		require.NoError(t, json.Unmarshal(ev.Data, &we))
		return we.ID == w.ID && we.State == "completed"
	})
	n := 0
	for _, ev := range evs {
		if ev.Name == "workflow" {
			n++
		}
	}
	require.Equal(t, 4, n, "one workflow event per step")

	r = s.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/workflows/%d", w.ID), alice, nil)
	require.Equal(t, http.StatusOK, r.Code)
	r.JSON(t, &w)
	require.Equal(t, "completed", w.State)
	require.Equal(t, 4, w.Progress.Completed)
	require.InDelta(t, 100, w.Progress.Percent, 1e-9)

	// A step's task says which workflow it belongs to.
	r = s.Do(t, http.MethodGet, fmt.Sprintf("/api/v1/tasks/%d", w.Steps[0].TaskID), alice, nil)
	var task struct {
		WorkflowID int64 `json:"workflow_id"`
	}
	r.JSON(t, &task)
	require.Equal(t, w.ID, task.WorkflowID)

	// Another user sees nothing of it, on the API or the stream.
	for _, path := range []string{"/api/v1/workflows/%d", "/api/v1/workflows/%d/cancel", "/api/v1/workflows/%d/retry"} {
		method := http.MethodPost
		if path == "/api/v1/workflows/%d" {
			method = http.MethodGet
		}
		problemOf(t, s.Do(t, method, fmt.Sprintf(path, w.ID), bob, nil), http.StatusNotFound)
	}
	var list struct {
		Workflows []workflowBody `json:"workflows"`
	}
	s.Do(t, http.MethodGet, "/api/v1/workflows", bob, nil).JSON(t, &list)
	require.Empty(t, list.Workflows)
	s.Do(t, http.MethodGet, "/api/v1/workflows", alice, nil).JSON(t, &list)
	require.Len(t, list.Workflows, 1)
	// Bob's own task marks the end of what his stream had to say.
	mine := create(t, s, bob, map[string]any{"kind": "test_echo", "args": map[string]any{"message": "marker"}})
	for _, ev := range bobs.Until(t, 20*time.Second, func(ev inboxqtest.SSEEvent) bool {
		var te struct {
			ID int64 `json:"id"`
		}
		_ = json.Unmarshal(ev.Data, &te)
		return ev.Name == "task" && te.ID == mine.ID
	}) {
		require.NotEqual(t, "workflow", ev.Name, "bob hears nothing of alice's workflow")
	}

	// Finished: cancel is a conflict, and so is retrying what completed.
	problemOf(t, s.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/workflows/%d/cancel", w.ID), alice, nil), http.StatusConflict)
	problemOf(t, s.Do(t, http.MethodPost, fmt.Sprintf("/api/v1/workflows/%d/retry", w.ID), alice, nil), http.StatusConflict)
}

func TestCreateWorkflowRefusesBadInputNamingTheStep(t *testing.T) {
	t.Parallel()
	s := inboxqtest.NewStack(t, inboxqtest.StackOptions{Workers: map[string]int{}})
	_, alice := s.User(t, "alice", false)
	echo := func(name string, deps ...string) map[string]any {
		return map[string]any{"name": name, "kind": "test_echo", "args": map[string]any{"message": "x"}, "deps": deps}
	}
	cases := []struct {
		body     map[string]any
		location string
	}{
		{map[string]any{"steps": []any{echo("a"), map[string]any{"kind": "make_coffee"}}}, "body.steps[1].kind"},
		{map[string]any{"steps": []any{map[string]any{"kind": "test_echo", "args": map[string]any{"message": ""}}}}, "body.steps[0].args.message"},
		{map[string]any{"steps": []any{echo("a", "b"), echo("b", "a")}}, "body.steps[0].deps"},
		{map[string]any{"steps": []any{echo("a", "nope")}}, "body.steps[0].deps[0]"},
		{map[string]any{"steps": []any{}}, "body.steps"},
		{map[string]any{"policy": "sometimes", "steps": []any{echo("a")}}, "body.policy"},
		{map[string]any{"steps": []any{echo("a")}, "on_failure": map[string]any{"kind": "test_echo", "args": map[string]any{"message": "x", "owner_id": 2}}}, "body.on_failure.args.owner_id"},
	}
	for _, c := range cases {
		p := problemOf(t, s.Do(t, http.MethodPost, "/api/v1/workflows", alice, c.body), http.StatusUnprocessableEntity)
		var locs []string
		for _, e := range p.Errors {
			locs = append(locs, e.Location)
		}
		require.Contains(t, locs, c.location, "%v: %s", c.body, p.Detail)
	}
	var list struct {
		Workflows []workflowBody `json:"workflows"`
	}
	s.Do(t, http.MethodGet, "/api/v1/workflows", alice, nil).JSON(t, &list)
	require.Empty(t, list.Workflows, "nothing was created")
	problemOf(t, s.Do(t, http.MethodGet, "/api/v1/workflows/999999", alice, nil), http.StatusNotFound)
	problemOf(t, s.Do(t, http.MethodGet, "/api/v1/workflows?cursor=zz", alice, nil), http.StatusUnprocessableEntity)
}
