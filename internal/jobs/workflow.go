package jobs

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/progress"
	"github.com/inboxq/inboxq/internal/store"
)

// Workflow steps are River jobs; db/migrations/0025_workflows.sql holds the
// graph and releases each step, exactly once, in the transaction that
// finishes the last of its dependencies. This file is what the engine and
// the workers share: inserting steps, growing a workflow from one of its
// steps, and reading what a step's dependencies returned.

// UserBandPriority is the River priority of every user's task that is ready
// to run (see tasks.UserBandPriority).
const UserBandPriority = 2

// NewStep is a step to insert: its position in the workflow, its kind and
// decoded args (the owner set), and options (0: the kind's).
type NewStep struct {
	Step        int
	Name        string
	Kind        Kind
	Args        river.JobArgs
	Priority    int
	MaxAttempts int
	// Waiting steps are inserted pending until the trigger releases them.
	Waiting bool
	// ScheduledAt delays a step without deps (zero: now).
	ScheduledAt time.Time
	// Metadata is added to the job's (e.g. schedule_id, notify).
	Metadata map[string]any
}

// InsertSteps inserts the jobs of a workflow's steps in one statement and
// returns their ids, in order (workflowID 0: plain tasks). A step keeps its kind's queue and attempts
// but not its uniqueness: the workflow is the unit that is unique (its
// unique key), and a step skipped as another task's duplicate would leave
// the graph pointing at a job that is not its own.
func InsertSteps(ctx context.Context, tx pgx.Tx, client *Client, workflowID int64, steps []NewStep) ([]int64, error) {
	params := make([]river.InsertManyParams, len(steps))
	for i, s := range steps {
		opts := s.Kind.Opts
		opts.UniqueOpts = river.UniqueOpts{}
		if s.Priority > 0 {
			opts.Priority = s.Priority
		}
		if s.MaxAttempts > 0 {
			opts.MaxAttempts = s.MaxAttempts
		}
		opts.ScheduledAt = s.ScheduledAt
		md := map[string]any{}
		for k, v := range s.Metadata {
			md[k] = v
		}
		if workflowID != 0 {
			md["workflow_id"], md["workflow_step"] = workflowID, s.Name
		}
		if !s.Kind.AdminOnly {
			md["priority"] = max(opts.Priority, 1)
			if opts.Priority != 1 {
				opts.Priority = UserBandPriority
			}
		}
		if s.Waiting {
			md["workflow_wait"] = true
			opts.Pending = true
		}
		opts.Metadata, _ = json.Marshal(md)
		params[i] = river.InsertManyParams{Args: stepArgs{s.Args}, InsertOpts: &opts}
	}
	res, err := client.InsertManyTx(ctx, tx, params)
	if err != nil {
		return nil, fmt.Errorf("inserting the workflow's steps: %w", err)
	}
	ids := make([]int64, len(res))
	for i, r := range res {
		ids[i] = r.Job.ID
	}
	return ids, nil
}

// stepArgs hides a kind's own insert options from River, which otherwise
// falls back to the kind's uniqueness when the options it is given have
// none: a step's options are the kind's, already copied, without it.
type stepArgs struct{ river.JobArgs }

func (a stepArgs) MarshalJSON() ([]byte, error) { return json.Marshal(a.JobArgs) }

// WorkflowOf returns the workflow a job is a step of (0: none).
func WorkflowOf(job *rivertype.JobRow) int64 {
	var md struct {
		WorkflowID int64 `json:"workflow_id"`
	}
	_ = json.Unmarshal(job.Metadata, &md)
	return md.WorkflowID
}

// GrowStep is a step a running step adds to its workflow; Deps are
// positions among the added steps (the group a step fans out has none).
type GrowStep struct {
	Name string
	Args river.JobArgs
	Deps []int
}

// CompleteGrowing adds steps to the workflow of the running job and
// completes the job, in one transaction: the added steps wait for the job
// (released when its completion commits, by the trigger), and the job's
// dependents wait for the added steps too, so a fan-out joins the
// workflow's fan-in. A crash before the commit adds nothing and completes
// nothing; the retry grows the workflow once. Outside a workflow it
// inserts the steps as plain tasks (ready, dependencies ignored) and
// completes the job.
func CompleteGrowing(ctx context.Context, st *store.Store, reg *Registry, job *rivertype.JobRow, add []GrowStep) error {
	return st.InTx(ctx, func(tx pgx.Tx, _ *store.Store) error {
		return CompleteGrowingTx(ctx, tx, reg, job, add)
	})
}

// CompleteGrowingTx is CompleteGrowing in the caller's transaction tx, for
// a worker that records more of its own work in the same commit.
func CompleteGrowingTx(ctx context.Context, tx pgx.Tx, reg *Registry, job *rivertype.JobRow, add []GrowStep) error {
	client, err := river.ClientFromContextSafely[pgx.Tx](ctx)
	if err != nil {
		return err
	}
	st := store.WithTx(tx)
	wf := WorkflowOf(job)
	steps := make([]NewStep, len(add))
	for i, a := range add {
		k, ok := reg.Kind(a.Args.Kind())
		if !ok {
			return fmt.Errorf("growing the workflow: kind %s is not registered", a.Args.Kind())
		}
		steps[i] = NewStep{Name: a.Name, Kind: k, Args: a.Args, Waiting: wf != 0}
	}
	if wf == 0 {
		if len(steps) > 0 {
			if _, err := InsertSteps(ctx, tx, client, 0, steps); err != nil {
				return err
			}
		}
	} else if len(steps) > 0 {
		if err := grow(ctx, tx, st, client, wf, job.ID, steps, add); err != nil {
			return err
		}
	}
	// The last progress report rides on the completion (see progress.Reporter).
	progress.From(ctx).Flush(ctx)
	_, err = river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, &river.Job[noArgs]{JobRow: job})
	return err
}

// noArgs lets CompleteGrowing complete a job whatever its args type.
type noArgs struct{}

func (noArgs) Kind() string { return "" }

func grow(ctx context.Context, tx pgx.Tx, st *store.Store, client *Client, wf, jobID int64, steps []NewStep, add []GrowStep) error {
	if err := st.WorkflowLockByID(ctx, wf); err != nil {
		return err
	}
	cur, err := st.WorkflowStepForJob(ctx, jobID)
	if err != nil {
		return err
	}
	first, err := st.WorkflowNextStep(ctx, wf)
	if err != nil {
		return err
	}
	for i := range steps {
		steps[i].Step = first + i
		if steps[i].Name == "" {
			steps[i].Name = fmt.Sprintf("%s-%d", steps[i].Kind.Name, first+i)
		}
	}
	ids, err := InsertSteps(ctx, tx, client, wf, steps)
	if err != nil {
		return err
	}
	rows := make([]store.NewWorkflowStep, len(steps))
	hasDependent := make([]bool, len(steps))
	for i, a := range add {
		for _, d := range a.Deps {
			if d < 0 || d >= i {
				return fmt.Errorf("growing the workflow: step %d may depend only on steps added before it", i)
			}
			hasDependent[d] = true
		}
	}
	var added, sinks []int32
	for i, s := range steps {
		deps := []int{int(cur.Step)}
		for _, d := range add[i].Deps {
			deps = append(deps, first+d)
		}
		rows[i] = store.NewWorkflowStep{Step: s.Step, Name: s.Name, Kind: s.Kind.Name, JobID: ids[i], When: "success",
			Deps: deps, Waiting: len(deps)}
		added = append(added, int32(s.Step))
		if !hasDependent[i] {
			sinks = append(sinks, int32(s.Step))
		}
	}
	for i, a := range add {
		for _, d := range a.Deps {
			rows[d].Dependents = append(rows[d].Dependents, first+i)
		}
	}
	for i := range rows {
		if !hasDependent[i] {
			for _, d := range cur.Dependents {
				rows[i].Dependents = append(rows[i].Dependents, int(d))
			}
		}
	}
	if err := st.WorkflowStepsInsert(ctx, wf, rows); err != nil {
		return err
	}
	return st.WorkflowGrow(ctx, wf, int(cur.Step), cur.Dependents, sinks, added)
}

// StepDeps returns how the running step's dependencies ended (a callback
// reads its group's results and failures here). Empty outside a workflow.
func StepDeps(ctx context.Context, st *store.Store, job *rivertype.JobRow) ([]inbox.StepOutcome, error) {
	if WorkflowOf(job) == 0 {
		return nil, nil
	}
	return st.WorkflowDeps(ctx, job.ID)
}

// Graph is a validated workflow to insert: steps in position order, each
// with the positions it waits for and when it runs.
type Graph struct {
	Owner      int64
	Name       string
	Policy     string // stop or continue
	UniqueKey  string
	ScheduleID *int64
	Steps      []GraphStep
}

// GraphStep is one step of a Graph.
type GraphStep struct {
	NewStep
	Deps []int
	When string // success, failure or done
}

// InsertWorkflow inserts a graph whole in tx: the workflow, every step's
// job (those with deps waiting), and the graph. When an unfinished
// workflow of the owner has the same unique key, it inserts nothing and
// returns that one with duplicate = true.
func InsertWorkflow(ctx context.Context, tx pgx.Tx, st *store.Store, client *Client, g Graph) (id int64, duplicate bool, err error) {
	id, duplicate, err = st.WorkflowInsert(ctx, g.Owner, g.Name, g.Policy, g.UniqueKey, g.ScheduleID, len(g.Steps))
	if err != nil || duplicate {
		return id, duplicate, err
	}
	news := make([]NewStep, len(g.Steps))
	dependents := make([][]int, len(g.Steps))
	for i, s := range g.Steps {
		news[i] = s.NewStep
		news[i].Step = i
		news[i].Waiting = len(s.Deps) > 0
		for _, d := range s.Deps {
			dependents[d] = append(dependents[d], i)
		}
	}
	ids, err := InsertSteps(ctx, tx, client, id, news)
	if err != nil {
		return 0, false, err
	}
	rows := make([]store.NewWorkflowStep, len(g.Steps))
	for i, s := range g.Steps {
		when := s.When
		if when == "" {
			when = "success"
		}
		rows[i] = store.NewWorkflowStep{Step: i, Name: s.Name, Kind: s.Kind.Name, JobID: ids[i], When: when,
			Deps: s.Deps, Dependents: dependents[i], Waiting: len(s.Deps)}
	}
	return id, false, st.WorkflowStepsInsert(ctx, id, rows)
}
