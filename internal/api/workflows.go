package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/tasks"
)

// WorkflowStepRequest is one step of a workflow to create.
type WorkflowStepRequest struct {
	Name        string         `json:"name,omitempty" maxLength:"64" doc:"The step's name, unique in the workflow (lowercase letters, digits, '_', '.', '-'); default: the kind and its position"`
	Kind        string         `json:"kind" maxLength:"100" doc:"The task kind the step runs (see create-task)"`
	Args        map[string]any `json:"args,omitempty" doc:"The kind's args, as create-task takes them"`
	Deps        []string       `json:"deps,omitempty" maxItems:"1000" doc:"Names of the steps it waits for (shape graph only)"`
	When        string         `json:"when,omitempty" enum:"success,failure,done" doc:"When it runs once its deps have finished: success (every dep completed; under policy continue, whatever they ended with), failure (some dep did not complete: cleanup), done (always). Default success"`
	Priority    int            `json:"priority,omitempty" minimum:"0" maximum:"4" doc:"1 (admins only) to 4; 0 keeps the kind's"`
	MaxAttempts int            `json:"max_attempts,omitempty" minimum:"0" maximum:"100" doc:"0 keeps the kind's"`
}

// CreateWorkflowRequest is a workflow to create.
type CreateWorkflowRequest struct {
	Name      string                `json:"name,omitempty" maxLength:"100" doc:"A name for people; default workflow"`
	Policy    string                `json:"policy,omitempty" enum:"stop,continue" doc:"What a step that fails or is cancelled does to the steps waiting for it: stop skips them (and theirs), continue runs them anyway with what failed. Default stop"`
	Shape     string                `json:"shape,omitempty" enum:"graph,group,chain,chord" doc:"graph: each step names its deps; group: all steps at once; chain: each step after the one before it; chord: every step but the last at once, then the last. Default graph"`
	Steps     []WorkflowStepRequest `json:"steps" minItems:"1" maxItems:"1000" doc:"The steps, in order"`
	OnSuccess *WorkflowStepRequest  `json:"on_success,omitempty" doc:"A callback that runs once every step completed"`
	OnFailure *WorkflowStepRequest  `json:"on_failure,omitempty" doc:"A callback that runs once every step has finished and some did not complete, or the workflow was cancelled (cleanup); it can read what failed"`
	UniqueKey string                `json:"unique_key,omitempty" maxLength:"200" doc:"While an unfinished workflow of yours has this key, creating another returns that one (200, duplicate true)"`
}

// CreateWorkflowInput is a create-workflow request.
type CreateWorkflowInput struct {
	Body CreateWorkflowRequest
}

// WorkflowProgress rolls a workflow's steps up.
type WorkflowProgress struct {
	Total      int      `json:"total" doc:"Steps in the workflow (a step that fans out adds steps as it completes)"`
	Completed  int      `json:"completed" doc:"Steps completed"`
	Failed     int      `json:"failed" doc:"Steps failed"`
	Cancelled  int      `json:"cancelled" doc:"Steps cancelled"`
	Skipped    int      `json:"skipped" doc:"Steps the workflow did not need: a step they waited for failed, or a callback whose condition did not hold"`
	Running    int      `json:"running" doc:"Steps running (or retrying)"`
	Waiting    int      `json:"waiting" doc:"Steps not started: waiting for their deps or queued"`
	Percent    float64  `json:"percent" minimum:"0" maximum:"100" doc:"Finished steps count whole, running ones by their own progress; each step weighs the same"`
	ETASeconds *float64 `json:"eta_seconds,omitempty" doc:"Time left at the pace so far; absent before there is a pace and once finished"`
}

// WorkflowStep is one step of a workflow.
type WorkflowStep struct {
	Name        string          `json:"name" doc:"The step's name"`
	Kind        string          `json:"kind" doc:"The task kind it runs"`
	TaskID      int64           `json:"task_id" doc:"Its task (get-task, and its events, carry it)"`
	Deps        []string        `json:"deps" doc:"The steps it waits for"`
	When        string          `json:"when" enum:"success,failure,done" doc:"When it runs once its deps have finished"`
	State       TaskState       `json:"state"`
	Outcome     string          `json:"outcome,omitempty" enum:"completed,failed,cancelled,skipped" doc:"How it ended; absent while unfinished"`
	Waiting     bool            `json:"waiting" doc:"It waits for its deps"`
	Attempt     int             `json:"attempt" doc:"Attempts started so far"`
	MaxAttempts int             `json:"max_attempts" doc:"Attempts allowed"`
	StartedAt   *time.Time      `json:"started_at,omitempty" doc:"When its latest attempt started"`
	FinishedAt  *time.Time      `json:"finished_at,omitempty" doc:"When it finished"`
	Percent     float64         `json:"percent" minimum:"0" maximum:"100" doc:"Its own progress (100 once finished)"`
	Progress    *ProgressEvent  `json:"progress,omitempty" doc:"What its worker last reported"`
	Error       string          `json:"error,omitempty" doc:"Why it did not complete (its last error, or why it was skipped)"`
	Result      json.RawMessage `json:"result,omitempty" doc:"What it recorded as its output (the result schema of its kind)"`
}

// Workflow is a graph of tasks tracked as one.
type Workflow struct {
	ID          int64            `json:"id" doc:"Workflow id"`
	Name        string           `json:"name" doc:"Its name"`
	Policy      string           `json:"policy" enum:"stop,continue" doc:"What a step that does not complete does to the steps waiting for it"`
	State       TaskState        `json:"state"`
	Run         int              `json:"run" doc:"1, then one more per retry"`
	CreatedAt   time.Time        `json:"created_at" doc:"When it was created"`
	StartedAt   *time.Time       `json:"started_at,omitempty" doc:"When its first step started"`
	FinishedAt  *time.Time       `json:"finished_at,omitempty" doc:"When its last step finished"`
	CancelledAt *time.Time       `json:"cancelled_at,omitempty" doc:"When someone cancelled it"`
	ScheduleID  *int64           `json:"schedule_id,omitempty" doc:"The schedule that started it"`
	Progress    WorkflowProgress `json:"progress"`
	Steps       []WorkflowStep   `json:"steps,omitempty" doc:"Its steps in order (get-workflow only)"`
}

func workflowView(w inbox.Workflow) Workflow {
	v := Workflow{ID: w.ID, Name: w.Name, Policy: w.Policy, State: TaskState(w.State), Run: w.Run, CreatedAt: w.CreatedAt,
		StartedAt: w.StartedAt, FinishedAt: w.FinishedAt, CancelledAt: w.CancelledAt, ScheduleID: w.ScheduleID,
		Progress: WorkflowProgress{Total: w.Progress.Total, Completed: w.Progress.Completed, Failed: w.Progress.Failed,
			Cancelled: w.Progress.Cancelled, Skipped: w.Progress.Skipped, Running: w.Progress.Running,
			Waiting: w.Progress.Waiting, Percent: w.Progress.Fraction * 100}}
	if w.Progress.ETA != nil {
		s := w.Progress.ETA.Seconds()
		v.Progress.ETASeconds = &s
	}
	for _, s := range w.Steps {
		st := WorkflowStep{Name: s.Name, Kind: s.Kind, TaskID: s.TaskID, Deps: s.Deps, When: s.When, State: TaskState(s.State),
			Outcome: s.Outcome, Waiting: s.Waiting, Attempt: s.Attempt, MaxAttempts: s.MaxAttempts, StartedAt: s.StartedAt,
			FinishedAt: s.FinishedAt, Percent: s.Fraction * 100, Error: attemptError(s.Error), Result: s.Result}
		if s.Progress != nil {
			st.Progress = progressEvent(s.TaskID, *s.Progress)
		}
		v.Steps = append(v.Steps, st)
	}
	return v
}

// WorkflowOutput is one workflow.
type WorkflowOutput struct {
	Body Workflow
}

// CreatedWorkflow is a created workflow, or the unfinished one its unique
// key found.
type CreatedWorkflow struct {
	Workflow  Workflow `json:"workflow"`
	Duplicate bool     `json:"duplicate" doc:"An unfinished workflow with the same unique key was found and returned instead"`
}

// CreateWorkflowOutput answers create-workflow.
type CreateWorkflowOutput struct {
	Status   int
	Location string `header:"Location" doc:"The workflow's URL"`
	Body     CreatedWorkflow
}

// WorkflowIDInput names a workflow.
type WorkflowIDInput struct {
	ID int64 `path:"id" minimum:"1" doc:"Workflow id"`
}

// WorkflowListOutput is a page of workflows.
type WorkflowListOutput struct {
	Body struct {
		Workflows  []Workflow `json:"workflows" doc:"Newest first, without their steps"`
		NextCursor string     `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last page"`
	}
}

// RefreshAccountInput starts a mailbox refresh.
type RefreshAccountInput struct {
	ID   int64           `path:"id" minimum:"1" doc:"Account id"`
	Body *RefreshOptions `required:"false"`
}

// RefreshOptions are a refresh's options; the body may be left out.
type RefreshOptions struct {
	Full bool `json:"full,omitempty" doc:"Sync the whole mailbox again instead of what changed since the last sync"`
}

func stepSpec(r WorkflowStepRequest) (tasks.StepSpec, error) {
	sp := tasks.StepSpec{Name: r.Name, Kind: r.Kind, Deps: r.Deps, When: r.When, Priority: r.Priority, MaxAttempts: r.MaxAttempts}
	if r.Args != nil {
		raw, err := json.Marshal(r.Args)
		if err != nil {
			return sp, err
		}
		sp.Args = raw
	}
	return sp, nil
}

// workflowSpec turns the request into the service's spec, checking each
// step's args against its kind's schema first so that every field error
// is reported at once, under the step's place.
func workflowSpec(ks *kindSchemas, b CreateWorkflowRequest) (tasks.WorkflowSpec, error) {
	spec := tasks.WorkflowSpec{Name: b.Name, Policy: b.Policy, Shape: b.Shape, UniqueKey: b.UniqueKey}
	var details []error
	check := func(r WorkflowStepRequest, at string) (tasks.StepSpec, error) {
		sp, err := stepSpec(r)
		if err != nil {
			return sp, err
		}
		if _, known := ks.args[r.Kind]; known && sp.Args != nil {
			if err := ks.validateArgsAt(r.Kind, sp.Args, "body", at, "args"); err != nil {
				details = append(details, err)
			}
		}
		return sp, nil
	}
	for i, r := range b.Steps {
		sp, err := check(r, fmt.Sprintf("steps[%d]", i))
		if err != nil {
			return spec, err
		}
		spec.Steps = append(spec.Steps, sp)
	}
	for at, r := range map[string]*WorkflowStepRequest{"on_success": b.OnSuccess, "on_failure": b.OnFailure} {
		if r == nil {
			continue
		}
		sp, err := check(*r, at)
		if err != nil {
			return spec, err
		}
		if at == "on_success" {
			spec.OnSuccess = &sp
		} else {
			spec.OnFailure = &sp
		}
	}
	if len(details) > 0 {
		var all []error
		for _, d := range details {
			if m, ok := d.(*huma.ErrorModel); ok && len(m.Errors) > 0 {
				for _, e := range m.Errors {
					all = append(all, e)
				}
				continue
			}
			all = append(all, d)
		}
		return spec, huma.Error422UnprocessableEntity("validation failed", all...)
	}
	return spec, nil
}

func registerWorkflows(api huma.API, d Deps, ks *kindSchemas) {
	svc := d.Tasks
	tags := []string{"Workflows"}

	huma.Register(api, huma.Operation{
		OperationID: "create-workflow", Method: http.MethodPost, Path: Prefix + "/workflows",
		Summary: "Start a workflow",
		Description: "Creates a workflow whole, in one transaction: a graph of steps, each a task of any kind you may start, " +
			"released when the steps it waits for have finished (exactly once, in the transaction that finishes the last of them). " +
			"Shapes write the graph for you: group, chain, chord. A cycle, an unknown kind or bad args are refused (422) naming the step, " +
			"and nothing is created. Counts as one start against your rate limit; its steps count against your unfinished tasks.",
		Tags: tags, Security: bearer, DefaultStatus: http.StatusCreated, MaxBodyBytes: maxBody,
		Errors: []int{http.StatusBadRequest, http.StatusForbidden, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity, http.StatusTooManyRequests},
	}, func(ctx context.Context, in *CreateWorkflowInput) (*CreateWorkflowOutput, error) {
		spec, err := workflowSpec(ks, in.Body)
		if err != nil {
			return nil, err
		}
		w, dup, err := svc.CreateWorkflow(ctx, principal(ctx), spec)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		return createdWorkflow(w, dup), nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "refresh-account", Method: http.MethodPost, Path: Prefix + "/accounts/{id}/refresh",
		Summary: "Refresh a mailbox",
		Description: "Starts the refresh-mailbox workflow for one of your accounts: a sync (incremental, or full the first time or when asked), " +
			"then the new mail classified in parallel batches, then sender reputation and analytics once every batch is done. " +
			"While one is unfinished for the account, it is returned instead (200, duplicate true).",
		Tags: tags, Security: bearer, DefaultStatus: http.StatusCreated,
		Errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity, http.StatusTooManyRequests},
	}, func(ctx context.Context, in *RefreshAccountInput) (*CreateWorkflowOutput, error) {
		w, dup, err := svc.RefreshMailbox(ctx, principal(ctx), in.ID, in.Body != nil && in.Body.Full)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		return createdWorkflow(w, dup), nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "list-workflows", Method: http.MethodGet, Path: Prefix + "/workflows",
		Summary: "List workflows", Description: "Your workflows (admins: everyone's), newest first, with their state and rolled-up progress.",
		Tags: tags, Security: bearer,
	}, func(ctx context.Context, in *PageInput) (*WorkflowListOutput, error) {
		ws, next, err := svc.Workflows(ctx, principal(ctx), in.Cursor, in.Limit)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		out := &WorkflowListOutput{}
		out.Body.Workflows = make([]Workflow, len(ws))
		for i, w := range ws {
			out.Body.Workflows[i] = workflowView(w)
		}
		out.Body.NextCursor = next
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "get-workflow", Method: http.MethodGet, Path: Prefix + "/workflows/{id}",
		Summary: "Get a workflow",
		Description: "One of your workflows: its state (derived from its steps), rolled-up progress and ETA, and its steps with their deps, " +
			"state, progress, outcome and result. Another user's workflow is a 404. Watch it live on the events stream: " +
			"`workflow` events carry its id, and its steps' task and progress events carry their task ids.",
		Tags: tags, Security: bearer, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *WorkflowIDInput) (*WorkflowOutput, error) {
		w, err := svc.Workflow(ctx, principal(ctx), in.ID)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		return &WorkflowOutput{Body: workflowView(w)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "cancel-workflow", Method: http.MethodPost, Path: Prefix + "/workflows/{id}/cancel",
		Summary: "Cancel a workflow",
		Description: "Cancels every step not finished: queued ones at once, running ones are asked to stop. " +
			"Its on-failure callback (cleanup) still runs once the rest has finished. A finished workflow answers 409.",
		Tags: tags, Security: bearer, Errors: []int{http.StatusNotFound, http.StatusConflict},
	}, func(ctx context.Context, in *WorkflowIDInput) (*WorkflowOutput, error) {
		w, err := svc.CancelWorkflow(ctx, principal(ctx), in.ID)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		return &WorkflowOutput{Body: workflowView(w)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "retry-workflow", Method: http.MethodPost, Path: Prefix + "/workflows/{id}/retry",
		Summary: "Retry a workflow",
		Description: "Runs a finished workflow's failed, cancelled and skipped steps again, with every step that waits for them; " +
			"completed steps keep their results. An unfinished or completed workflow answers 409.",
		Tags: tags, Security: bearer, Errors: []int{http.StatusNotFound, http.StatusConflict},
	}, func(ctx context.Context, in *WorkflowIDInput) (*WorkflowOutput, error) {
		w, err := svc.RetryWorkflow(ctx, principal(ctx), in.ID)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		return &WorkflowOutput{Body: workflowView(w)}, nil
	})
}

func createdWorkflow(w inbox.Workflow, dup bool) *CreateWorkflowOutput {
	out := &CreateWorkflowOutput{Status: http.StatusCreated}
	if dup {
		out.Status = http.StatusOK
	}
	out.Body.Workflow, out.Body.Duplicate = workflowView(w), dup
	out.Location = fmt.Sprintf("%s/workflows/%d", Prefix, w.ID)
	return out
}
