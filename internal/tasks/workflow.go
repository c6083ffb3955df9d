package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riverqueue/river"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/store"
)

// Workflow shapes: a graph names each step's dependencies; the others are
// graphs written for you.
const (
	ShapeGraph = "graph" // steps name their deps
	ShapeGroup = "group" // every step at once
	ShapeChain = "chain" // each step after the one before it
	ShapeChord = "chord" // every step but the last at once, then the last
)

// MaxWorkflowSteps is how many steps a workflow may be created with, the
// callbacks aside.
const MaxWorkflowSteps = 1000

// StepSpec is one step of a workflow to create.
type StepSpec struct {
	Name        string
	Kind        string
	Args        json.RawMessage
	Deps        []string // names (graph shape only)
	When        string   // success (default), failure or done
	Priority    int
	MaxAttempts int
}

// WorkflowSpec is a workflow to create.
type WorkflowSpec struct {
	Name   string
	Policy string // stop (default) or continue
	Shape  string // graph (default), group, chain or chord
	Steps  []StepSpec
	// OnSuccess runs once every step completed; OnFailure once every step
	// has finished and some did not complete (cleanup).
	OnSuccess, OnFailure *StepSpec
	// UniqueKey makes the workflow one of its kind: while an unfinished
	// workflow of the owner has the key, creating another returns it.
	UniqueKey  string
	scheduleID *int64
}

var stepName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// planned is a validated step: its spec, decoded args and graph edges.
type planned struct {
	spec  StepSpec
	field string // its place in the input, for errors
	kind  jobs.Kind
	args  jobs.NewStep
	deps  []int
	deps2 []int // dependents
}

// CreateWorkflow creates a workflow whole, in one transaction: every step's
// task, the graph, and nothing if any part is refused. When spec.UniqueKey
// matches an unfinished workflow, that one is returned with duplicate=true.
func (s *Service) CreateWorkflow(ctx context.Context, p inbox.Principal, spec WorkflowSpec) (w inbox.Workflow, duplicate bool, err error) {
	var id int64
	err = s.store.InTx(ctx, func(tx pgx.Tx, st *store.Store) error {
		id, duplicate, err = s.createWorkflowTx(ctx, tx, st, p, spec)
		return err
	})
	if err != nil {
		return inbox.Workflow{}, false, err
	}
	w, err = s.store.WorkflowGet(ctx, id, p.OwnerScope())
	return w, duplicate, err
}

func (s *Service) createWorkflowTx(ctx context.Context, tx pgx.Tx, st *store.Store, p inbox.Principal, spec WorkflowSpec) (int64, bool, error) {
	steps, err := s.planWorkflow(ctx, st, p, &spec)
	if err != nil {
		return 0, false, err
	}
	if err := s.checkCreateN(ctx, st, p, len(steps)); err != nil {
		return 0, false, err
	}
	g := jobs.Graph{Owner: p.UserID, Name: spec.Name, Policy: spec.Policy, UniqueKey: spec.UniqueKey, ScheduleID: spec.scheduleID,
		Steps: make([]jobs.GraphStep, 0, len(steps))}
	for _, pl := range steps {
		g.Steps = append(g.Steps, jobs.GraphStep{NewStep: pl.args, Deps: pl.deps, When: pl.spec.When})
	}
	return jobs.InsertWorkflow(ctx, tx, st, s.river, g)
}

// planWorkflow validates a spec and lays out its graph: names, kinds and
// args (each refusal names the step's field), the shape's edges, the
// callbacks, and no cycle.
func (s *Service) planWorkflow(ctx context.Context, st *store.Store, p inbox.Principal, spec *WorkflowSpec) ([]planned, error) {
	if spec.Name == "" {
		spec.Name = "workflow"
	}
	if len(spec.Name) > 100 {
		return nil, inbox.Invalid("name", "name must be at most 100 characters")
	}
	switch spec.Policy {
	case "":
		spec.Policy = "stop"
	case "stop", "continue":
	default:
		return nil, inbox.Invalid("policy", "policy must be stop or continue, not %q", spec.Policy)
	}
	switch spec.Shape {
	case "":
		spec.Shape = ShapeGraph
	case ShapeGraph, ShapeGroup, ShapeChain, ShapeChord:
	default:
		return nil, inbox.Invalid("shape", "shape must be graph, group, chain or chord, not %q", spec.Shape)
	}
	if len(spec.Steps) == 0 {
		return nil, inbox.Invalid("steps", "a workflow needs at least one step")
	}
	if len(spec.Steps) > MaxWorkflowSteps {
		return nil, inbox.Invalid("steps", "a workflow may have at most %d steps, not %d", MaxWorkflowSteps, len(spec.Steps))
	}
	if spec.Shape == ShapeChord && len(spec.Steps) < 2 {
		return nil, inbox.Invalid("steps", "a chord needs at least two steps: the group and its callback")
	}
	// A planned step holds two copies of its kind: grown one append at a
	// time, the slice of a 1,000-step workflow was copied over and over
	// (growslice was a third of CreateWorkflow's CPU outside the database).
	out := make([]planned, 0, len(spec.Steps)+2)
	add := func(sp StepSpec, field string) {
		out = append(out, planned{spec: sp, field: field})
	}
	for i, sp := range spec.Steps {
		add(sp, fmt.Sprintf("steps[%d]", i))
	}
	if spec.OnSuccess != nil {
		add(*spec.OnSuccess, "on_success")
	}
	if spec.OnFailure != nil {
		add(*spec.OnFailure, "on_failure")
	}
	byName := make(map[string]int, len(out))
	for i := range out {
		pl := &out[i]
		if pl.spec.Name == "" {
			switch pl.field {
			case "on_success", "on_failure":
				pl.spec.Name = pl.field
			default:
				pl.spec.Name = pl.spec.Kind + "-" + strconv.Itoa(i+1)
			}
		}
		if !stepName.MatchString(pl.spec.Name) {
			return nil, inbox.Invalid(pl.field+".name", "step name %q must be 1-64 lowercase letters, digits, '_', '.' or '-', starting with a letter or digit", pl.spec.Name)
		}
		if j, dup := byName[pl.spec.Name]; dup {
			return nil, inbox.Invalid(pl.field+".name", "step name %q is also the name of %s", pl.spec.Name, out[j].field)
		}
		byName[pl.spec.Name] = i
		if err := s.planStep(ctx, st, p, pl); err != nil {
			return nil, err
		}
	}
	// Edges.
	n := len(spec.Steps)
	for i := range out {
		pl := &out[i]
		switch {
		case pl.field == "on_success":
			pl.spec.When, pl.deps = "success", seq(n)
			continue
		case pl.field == "on_failure":
			pl.spec.When, pl.deps = "failure", seq(n)
			continue
		}
		if spec.Shape != ShapeGraph && len(pl.spec.Deps) > 0 {
			return nil, inbox.Invalid(pl.field+".deps", "deps are written by the %s shape; give them only with shape graph", spec.Shape)
		}
		switch spec.Shape {
		case ShapeChain:
			if i > 0 {
				pl.deps = []int{i - 1}
			}
		case ShapeChord:
			if i == n-1 {
				pl.deps = seq(n - 1)
			}
		case ShapeGraph:
			seen := map[int]bool{}
			for j, d := range pl.spec.Deps {
				k, ok := byName[d]
				switch {
				case !ok:
					return nil, inbox.Invalid(fmt.Sprintf("%s.deps[%d]", pl.field, j), "no step is named %q", d)
				case k == i:
					return nil, inbox.Invalid(fmt.Sprintf("%s.deps[%d]", pl.field, j), "step %q cannot depend on itself", d)
				case k >= n:
					return nil, inbox.Invalid(fmt.Sprintf("%s.deps[%d]", pl.field, j), "%q is a callback; steps cannot depend on it", d)
				case seen[k]:
					continue
				}
				seen[k] = true
				pl.deps = append(pl.deps, k)
			}
		}
		switch pl.spec.When {
		case "":
			pl.spec.When = "success"
		case "success", "failure", "done":
		default:
			return nil, inbox.Invalid(pl.field+".when", "when must be success, failure or done, not %q", pl.spec.When)
		}
		if pl.spec.When != "success" && len(pl.deps) == 0 {
			return nil, inbox.Invalid(pl.field+".when", "when %q needs deps: it says how the steps it waits for must end", pl.spec.When)
		}
	}
	for i := range out {
		for _, d := range out[i].deps {
			out[d].deps2 = append(out[d].deps2, i)
		}
	}
	if i, cyclic := findCycle(out); cyclic {
		return nil, inbox.Invalid(out[i].field+".deps", "step %q is part of a cycle: a workflow's steps cannot wait for each other in a ring", out[i].spec.Name)
	}
	return out, nil
}

// planStep validates one step's kind, args and options.
func (s *Service) planStep(ctx context.Context, st *store.Store, p inbox.Principal, pl *planned) error {
	if pl.spec.Kind == "" {
		return inbox.Invalid(pl.field+".kind", "kind is required; valid kinds: %s", joinNames(s.kinds.Names()))
	}
	k, args, err := s.ValidateArgs(p, pl.spec.Kind, pl.spec.Args)
	if err != nil {
		return stepError(pl.field, err)
	}
	if k.Check != nil {
		if err := k.Check(ctx, st, p.UserID, args); err != nil {
			return stepError(pl.field, err)
		}
	}
	if pl.spec.Priority < 0 || pl.spec.Priority > 4 || (pl.spec.Priority == 1 && !p.IsAdmin()) {
		return inbox.Invalid(pl.field+".priority", "priority must be 2 (high) to 4 (low); 1 is reserved for admins")
	}
	if pl.spec.MaxAttempts < 0 || pl.spec.MaxAttempts > 100 {
		return inbox.Invalid(pl.field+".max_attempts", "max_attempts must be 1-100")
	}
	pl.kind = k
	pl.args = jobs.NewStep{Name: pl.spec.Name, Kind: k, Args: args, Priority: pl.spec.Priority, MaxAttempts: pl.spec.MaxAttempts}
	return nil
}

// stepError puts a step's place in front of an error's field.
func stepError(field string, err error) error {
	var fe *inbox.FieldError
	if errors.As(err, &fe) {
		return inbox.Invalid(field+"."+fe.Field, "%s: %s", field, fe.Msg)
	}
	if errors.Is(err, inbox.ErrInvalid) || errors.Is(err, inbox.ErrNotFound) {
		return inbox.Invalid(field+".args", "%s: %s", field, err.Error())
	}
	return err
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

func joinNames(xs []string) string {
	b, _ := json.Marshal(xs)
	return string(b)
}

// findCycle returns a step on a cycle, if any (Kahn's algorithm: what is
// left once every step without waiting dependencies is removed is cyclic).
func findCycle(steps []planned) (int, bool) {
	indeg := make([]int, len(steps))
	for i := range steps {
		indeg[i] = len(steps[i].deps)
	}
	queue := []int{}
	for i, d := range indeg {
		if d == 0 {
			queue = append(queue, i)
		}
	}
	seen := 0
	for len(queue) > 0 {
		i := queue[0]
		queue = queue[1:]
		seen++
		for _, j := range steps[i].deps2 {
			if indeg[j]--; indeg[j] == 0 {
				queue = append(queue, j)
			}
		}
	}
	if seen == len(steps) {
		return 0, false
	}
	for i, d := range indeg {
		if d > 0 {
			return i, true
		}
	}
	return 0, false
}

// Workflow returns one of the caller's workflows with its steps.
func (s *Service) Workflow(ctx context.Context, p inbox.Principal, id int64) (inbox.Workflow, error) {
	return s.store.WorkflowGet(ctx, id, p.OwnerScope())
}

// Workflows returns a page of the caller's workflows, newest first.
func (s *Service) Workflows(ctx context.Context, p inbox.Principal, cursor string, limit int) ([]inbox.Workflow, string, error) {
	var before int64
	if cursor != "" {
		var err error
		if before, err = DecodeCursor(cursor); err != nil {
			return nil, "", err
		}
	}
	if limit <= 0 || limit > MaxPageSize {
		limit = DefaultPageSize
	}
	ws, err := s.store.WorkflowList(ctx, p.OwnerScope(), before, limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(ws) > limit {
		ws = ws[:limit]
		next = EncodeCursor(ws[limit-1].ID)
	}
	return ws, next, nil
}

// CancelWorkflow cancels every step not finished: queued ones at once,
// running ones are asked to stop (they observe it as any cancelled task
// does). Steps that run on failure or always (cleanup callbacks) are left
// to run once the rest has finished. A finished workflow answers conflict.
func (s *Service) CancelWorkflow(ctx context.Context, p inbox.Principal, id int64) (inbox.Workflow, error) {
	err := s.inWorkflowTx(ctx, func(tx pgx.Tx, st *store.Store) error {
		w, err := st.WorkflowLock(ctx, id, p.OwnerScope())
		if err != nil {
			return err
		}
		if w.FinishedAt != nil {
			return fmt.Errorf("workflow %d has already finished: %w", id, inbox.ErrConflict)
		}
		if w.CancelledAt != nil {
			return fmt.Errorf("workflow %d is already cancelling: %w", id, inbox.ErrConflict)
		}
		if err := st.WorkflowMarkCancelled(ctx, id); err != nil {
			return err
		}
		rows, err := st.WorkflowStepRows(ctx, id)
		if err != nil {
			return err
		}
		var queued []int64
		for _, r := range rows {
			if r.Outcome != nil || r.RunWhen != "success" || !r.JobExists {
				continue
			}
			switch inbox.TaskState(r.TaskState) {
			case inbox.TaskRunning:
				if _, err := s.river.JobCancelTx(ctx, tx, r.JobID); err != nil {
					return fmt.Errorf("cancelling step %s: %w", r.Name, err)
				}
			case inbox.TaskCancelling:
			default:
				queued = append(queued, r.JobID)
			}
		}
		_, err = st.WorkflowCancelQueued(ctx, queued)
		return err
	})
	if err != nil {
		return inbox.Workflow{}, err
	}
	return s.store.WorkflowGet(ctx, id, p.OwnerScope())
}

// RetryWorkflow runs a finished workflow's failed, cancelled and skipped
// steps again, with every step that depends on them; completed steps keep
// their results. A workflow not finished answers conflict, as does one
// whose steps' tasks River's cleaner has removed.
func (s *Service) RetryWorkflow(ctx context.Context, p inbox.Principal, id int64) (inbox.Workflow, error) {
	err := s.inWorkflowTx(ctx, func(tx pgx.Tx, st *store.Store) error {
		w, err := st.WorkflowLock(ctx, id, p.OwnerScope())
		if err != nil {
			return err
		}
		if w.FinishedAt == nil {
			return fmt.Errorf("workflow %d has not finished; cancel it first or wait: %w", id, inbox.ErrConflict)
		}
		rows, err := st.WorkflowStepRows(ctx, id)
		if err != nil {
			return err
		}
		rerun := make(map[int32]bool)
		for _, r := range rows {
			if r.Outcome != nil && *r.Outcome != "completed" {
				markDescendants(rows, r.Step, rerun)
			}
		}
		if len(rerun) == 0 {
			return fmt.Errorf("workflow %d completed; nothing to retry: %w", id, inbox.ErrConflict)
		}
		var steps, waiting []int32
		var ids []int64
		var ready []bool
		for _, r := range rows {
			if !rerun[r.Step] {
				continue
			}
			if !r.JobExists {
				return fmt.Errorf("step %s's task was removed by retention; start a new workflow: %w", r.Name, inbox.ErrConflict)
			}
			n := int32(0)
			for _, d := range r.Deps {
				if rerun[d] {
					n++
				}
			}
			steps, waiting, ids, ready = append(steps, r.Step), append(waiting, n), append(ids, r.JobID), append(ready, n == 0)
		}
		return st.WorkflowRetry(ctx, id, steps, waiting, ids, ready)
	})
	if err != nil {
		return inbox.Workflow{}, err
	}
	return s.store.WorkflowGet(ctx, id, p.OwnerScope())
}

// markDescendants adds step and every step that depends on it, directly or
// not, to set.
func markDescendants(rows []store.WorkflowStepRow, step int32, set map[int32]bool) {
	if set[step] {
		return
	}
	set[step] = true
	for _, d := range rows[step].Dependents {
		markDescendants(rows, d, set)
	}
}

// inWorkflowTx runs fn in a transaction, again (up to three times) when
// PostgreSQL breaks a deadlock with it: a cancel locks steps' tasks while
// River's completer, holding a finishing task, waits for the workflow.
func (s *Service) inWorkflowTx(ctx context.Context, fn func(tx pgx.Tx, st *store.Store) error) error {
	var err error
	for range 3 {
		err = s.store.InTx(ctx, fn)
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "40P01" {
			return err
		}
	}
	return err
}

// RefreshMailbox starts the refresh-mailbox workflow of one of the
// caller's accounts (jobs.RefreshGraph), or returns the unfinished one.
func (s *Service) RefreshMailbox(ctx context.Context, p inbox.Principal, account int64, full bool) (inbox.Workflow, bool, error) {
	var id int64
	var dup bool
	err := s.store.InTx(ctx, func(tx pgx.Tx, st *store.Store) error {
		owner := p.UserID
		if _, err := st.AccountGet(ctx, account, &owner); err != nil {
			return err
		}
		g, err := jobs.RefreshGraph(ctx, st, s.kinds, owner, account, full)
		if err != nil {
			return err
		}
		if err := s.checkCreateN(ctx, st, p, len(g.Steps)); err != nil {
			return err
		}
		id, dup, err = jobs.InsertWorkflow(ctx, tx, st, s.river, g)
		return err
	})
	if err != nil {
		return inbox.Workflow{}, false, err
	}
	w, err := s.store.WorkflowGet(ctx, id, p.OwnerScope())
	return w, dup, err
}

// createWithCleanup starts a task of a kind that cleans up after itself
// (jobs.Info.OnFailure) as a workflow of two steps: the task, then its
// cleanup when it fails for good or is cancelled. It returns the task. A
// kind unique while unfinished stays so: the workflow's unique key is the
// kind, per owner.
func (s *Service) createWithCleanup(ctx context.Context, tx pgx.Tx, st *store.Store, p inbox.Principal, k jobs.Kind,
	args river.JobArgs, cp CreateParams, md map[string]any) (inbox.Task, bool, error) {
	cleanup := k.OnFailure(p.UserID)
	ck, ok := s.kinds.Kind(cleanup.Kind())
	if !ok {
		return inbox.Task{}, false, fmt.Errorf("kind %s: cleanup kind %s is not registered", k.Name, cleanup.Kind())
	}
	delete(md, "priority") // InsertSteps sets the owner's priority and the band
	g := jobs.Graph{Owner: p.UserID, Name: k.Title, Policy: "stop", ScheduleID: cp.scheduleID,
		Steps: []jobs.GraphStep{
			{NewStep: jobs.NewStep{Name: k.Name, Kind: k, Args: args, Priority: cp.Priority, MaxAttempts: cp.MaxAttempts,
				ScheduledAt: cp.RunAt, Metadata: md}},
			{NewStep: jobs.NewStep{Name: "cleanup", Kind: ck, Args: cleanup}, Deps: []int{0}, When: "failure"},
		}}
	if k.Opts.UniqueOpts.ByArgs || len(k.Opts.UniqueOpts.ByState) > 0 {
		g.UniqueKey = "task:" + k.Name
	}
	id, dup, err := jobs.InsertWorkflow(ctx, tx, st, s.river, g)
	if err != nil {
		return inbox.Task{}, false, err
	}
	rows, err := st.WorkflowStepRows(ctx, id)
	if err != nil {
		return inbox.Task{}, false, err
	}
	if len(rows) == 0 {
		return inbox.Task{}, false, fmt.Errorf("workflow %d has no steps", id)
	}
	task, err := st.TaskGet(ctx, rows[0].JobID, p.OwnerScope())
	return task, dup, err
}
