package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/tasks"
)

// TaskOutput is one task.
type TaskOutput struct {
	Body Task
}

// CreateTaskInput is a raw body, validated per kind (see kindSchemas).
type CreateTaskInput struct {
	RawBody []byte
}

// CreateTaskOutput is the created (or already existing) task.
type CreateTaskOutput struct {
	Status   int
	Location string `header:"Location" doc:"The task's URL"`
	Body     struct {
		Task
		Duplicate bool `json:"duplicate" doc:"True when the kind's uniqueness rule found this task already in flight; no new task was created"`
	}
}

type createTaskBody struct {
	Kind string `json:"kind"`
	taskOptions
}

// TaskIDInput names a task.
type TaskIDInput struct {
	ID int64 `path:"id" minimum:"1" doc:"Task id"`
}

// ListTasksInput filters and pages the task list.
type ListTasksInput struct {
	State       []TaskState `query:"state" doc:"Only these states, comma-separated (state=failed,cancelled); a repeated parameter counts once"`
	Kind        []string    `query:"kind" doc:"Only these kinds"`
	Queue       []string    `query:"queue" doc:"Only these queues"`
	CreatedFrom time.Time   `query:"created_from" doc:"Created at or after (RFC 3339)"`
	CreatedTo   time.Time   `query:"created_to" doc:"Created before (RFC 3339)"`
	Limit       int         `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size"`
	Cursor      string      `query:"cursor" maxLength:"64" doc:"next_cursor of the previous page"`
}

func (in ListTasksInput) filter() inbox.TaskFilter {
	f := inbox.TaskFilter{Kinds: in.Kind, Queues: in.Queue, CreatedFrom: in.CreatedFrom, CreatedTo: in.CreatedTo, Limit: in.Limit}
	for _, s := range in.State {
		f.States = append(f.States, inbox.TaskState(s))
	}
	return f
}

// TaskListOutput is one page of tasks.
type TaskListOutput struct {
	Body struct {
		Tasks      []Task `json:"tasks" doc:"Tasks, newest first"`
		NextCursor string `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last page"`
	}
}

// BulkInput selects tasks by ids, or by filter.
type BulkInput struct {
	Body struct {
		IDs         []int64     `json:"ids,omitempty" maxItems:"1000" doc:"These tasks (at most 1000); or leave out and filter"`
		All         bool        `json:"all,omitempty" doc:"Act on every task you can see (at most 1000 per request). Required when neither ids nor a filter is given: an empty selection is refused with 422"`
		State       []TaskState `json:"state,omitempty" doc:"Only tasks in these states"`
		Kind        []string    `json:"kind,omitempty" doc:"Only tasks of these kinds"`
		Queue       []string    `json:"queue,omitempty" doc:"Only tasks in these queues"`
		CreatedFrom time.Time   `json:"created_from,omitempty" doc:"Only tasks created at or after this time"`
		CreatedTo   time.Time   `json:"created_to,omitempty" doc:"Only tasks created before this time"`
	}
}

func (in BulkInput) selection() tasks.Selection {
	b := in.Body
	f := inbox.TaskFilter{Kinds: b.Kind, Queues: b.Queue, CreatedFrom: b.CreatedFrom, CreatedTo: b.CreatedTo}
	for _, s := range b.State {
		f.States = append(f.States, inbox.TaskState(s))
	}
	return tasks.Selection{IDs: b.IDs, Filter: f, All: b.All}
}

// BulkOutput reports a bulk action.
type BulkOutput struct {
	Body struct {
		Changed []Task        `json:"changed" doc:"Tasks the action changed, as they are now"`
		Skipped []SkippedTask `json:"skipped" doc:"Tasks left alone, with the reason"`
	}
}

// SkippedTask is a task a bulk action left alone.
type SkippedTask struct {
	ID     int64  `json:"id" doc:"Task id"`
	Reason string `json:"reason" doc:"Why it was left alone, e.g. not found, or a state the action does not apply to"`
}

func bulkOutput(r tasks.BulkResult) *BulkOutput {
	out := &BulkOutput{}
	out.Body.Changed = taskViews(r.Changed)
	out.Body.Skipped = make([]SkippedTask, len(r.Skipped))
	for i, s := range r.Skipped {
		out.Body.Skipped[i] = SkippedTask(s)
	}
	return out
}

// KindInfo describes a task kind.
type KindInfo struct {
	Name        string `json:"name" doc:"Kind name, the kind field of create-task"`
	Title       string `json:"title" doc:"The kind's name for people, e.g. Archive messages"`
	Description string `json:"description" doc:"What a task of this kind does"`
	Queue       string `json:"queue" doc:"Queue its tasks run in"`
	Priority    int    `json:"priority" doc:"Default priority"`
	MaxAttempts int    `json:"max_attempts" doc:"Default attempts"`
	AdminOnly   bool   `json:"admin_only" doc:"Only admins may start it"`
	ArgsSchema  string `json:"args_schema" doc:"Name of its args schema in this document"`
}

func registerTasks(api huma.API, d Deps, ks *kindSchemas) {
	svc := d.Tasks
	tags := []string{"Tasks"}

	huma.Register(api, huma.Operation{
		OperationID: "create-task", Method: http.MethodPost, Path: Prefix + "/tasks",
		Summary: "Start a task",
		Description: "Starts a task of the given kind. The args are checked against the kind's schema. " +
			"When the kind's uniqueness rule finds the same task in flight, the existing task is returned with duplicate=true (200). " +
			createLimits(svc.Limits()),
		Tags: tags, Security: bearer, DefaultStatus: http.StatusCreated, MaxBodyBytes: maxBody,
		Errors: []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusForbidden, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity, http.StatusTooManyRequests},
	}, func(ctx context.Context, in *CreateTaskInput) (*CreateTaskOutput, error) {
		var body createTaskBody
		kind, args, err := ks.decodeBody(in.RawBody, taskOptions{}, &body, true)
		if err != nil {
			return nil, err
		}
		cp := tasks.CreateParams{Kind: kind, Args: args, Priority: body.Priority, MaxAttempts: body.MaxAttempts}
		if body.RunAt != nil {
			cp.RunAt = *body.RunAt
		}
		t, dup, err := svc.Create(ctx, principal(ctx), cp)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		out := &CreateTaskOutput{Status: http.StatusCreated}
		if dup {
			out.Status = http.StatusOK
		}
		out.Body.Task, out.Body.Duplicate = taskView(t, time.Now()), dup
		out.Location = fmt.Sprintf("%s/tasks/%d", Prefix, t.ID)
		return out, nil
	})
	setJSONBody(api, http.MethodPost, Prefix+"/tasks", ks.bodySchema("CreateTaskRequest", "Create", taskOptions{}), "The task to start: its kind, the kind's args and options")

	huma.Register(api, huma.Operation{
		OperationID: "list-tasks", Method: http.MethodGet, Path: Prefix + "/tasks",
		Summary: "List tasks", Description: "Your tasks (admins: everyone's), newest first, with filters and cursor pagination.",
		Tags: tags, Security: bearer,
	}, func(ctx context.Context, in *ListTasksInput) (*TaskListOutput, error) {
		ts, next, err := svc.List(ctx, principal(ctx), in.filter(), in.Cursor)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		out := &TaskListOutput{}
		out.Body.Tasks, out.Body.NextCursor = taskViews(ts), next
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "get-task", Method: http.MethodGet, Path: Prefix + "/tasks/{id}",
		Summary: "Get a task", Description: "One of your tasks (admins: any): its state, attempts and their errors, progress, timing, typed args and result. Another user's task is a 404.",
		Tags: tags, Security: bearer, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *TaskIDInput) (*TaskOutput, error) {
		t, err := svc.Get(ctx, principal(ctx), in.ID)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		return &TaskOutput{Body: taskView(t, time.Now())}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "cancel-task", Method: http.MethodPost, Path: Prefix + "/tasks/{id}/cancel",
		Summary:     "Cancel a task",
		Description: "A queued task is cancelled at once; a running one shows cancelling until its worker stops. A finished task answers 409.",
		Tags:        tags, Security: bearer, Errors: []int{http.StatusNotFound, http.StatusConflict},
	}, func(ctx context.Context, in *TaskIDInput) (*TaskOutput, error) {
		t, err := svc.Cancel(ctx, principal(ctx), in.ID)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		return &TaskOutput{Body: taskView(t, time.Now())}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "retry-task", Method: http.MethodPost, Path: Prefix + "/tasks/{id}/retry",
		Summary:     "Retry a task",
		Description: "Runs a failed or cancelled task again now, with one more attempt. Any other state answers 409.",
		Tags:        tags, Security: bearer, Errors: []int{http.StatusNotFound, http.StatusConflict},
	}, func(ctx context.Context, in *TaskIDInput) (*TaskOutput, error) {
		t, err := svc.Retry(ctx, principal(ctx), in.ID)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		return &TaskOutput{Body: taskView(t, time.Now())}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "cancel-tasks", Method: http.MethodPost, Path: Prefix + "/tasks/cancel",
		Summary:     "Cancel many tasks",
		Description: "Cancels up to 1000 tasks chosen by ids, by filter, or all: true, in one transaction. An empty selection is refused (422). Tasks that cannot be cancelled are reported as skipped.",
		Tags:        tags, Security: bearer, Errors: []int{http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *BulkInput) (*BulkOutput, error) {
		r, err := svc.CancelMany(ctx, principal(ctx), in.selection())
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		return bulkOutput(r), nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "retry-tasks", Method: http.MethodPost, Path: Prefix + "/tasks/retry",
		Summary:     "Retry many tasks",
		Description: "Retries up to 1000 failed or cancelled tasks chosen by ids, by filter, or all: true, in one transaction. An empty selection is refused (422).",
		Tags:        tags, Security: bearer, Errors: []int{http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *BulkInput) (*BulkOutput, error) {
		r, err := svc.RetryMany(ctx, principal(ctx), in.selection())
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		return bulkOutput(r), nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "list-dead-letters", Method: http.MethodGet, Path: Prefix + "/dead-letters",
		Summary:     "List dead letters",
		Description: "Failed tasks: attempts exhausted, or failed permanently. Each carries its errors; re-drive them with redrive-dead-letters.",
		Tags:        []string{"Dead letters"}, Security: bearer,
	}, func(ctx context.Context, in *DeadLettersInput) (*TaskListOutput, error) {
		f := inbox.TaskFilter{States: []inbox.TaskState{inbox.TaskFailed}, Kinds: in.Kind, Queues: in.Queue, Limit: in.Limit}
		ts, next, err := svc.List(ctx, principal(ctx), f, in.Cursor)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		out := &TaskListOutput{}
		out.Body.Tasks, out.Body.NextCursor = taskViews(ts), next
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "redrive-dead-letters", Method: http.MethodPost, Path: Prefix + "/dead-letters/redrive",
		Summary:     "Re-drive dead letters",
		Description: "Runs failed tasks again: those listed by id, or every failed task matching kind/queue (at most 1000).",
		Tags:        []string{"Dead letters"}, Security: bearer, Errors: []int{http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *RedriveInput) (*BulkOutput, error) {
		if len(in.Body.IDs) == 0 && len(in.Body.Kind) == 0 && len(in.Body.Queue) == 0 && !in.Body.All {
			return nil, problem(ctx, d.Logger, fmt.Errorf("say which dead letters: ids, kind, queue, or all: true: %w", inbox.ErrInvalid))
		}
		sel := tasks.Selection{IDs: in.Body.IDs, Filter: inbox.TaskFilter{
			States: []inbox.TaskState{inbox.TaskFailed}, Kinds: in.Body.Kind, Queues: in.Body.Queue,
		}}
		if len(sel.IDs) > 0 {
			// Only dead letters: a listed task in any other state is skipped.
			sel = tasks.Selection{Filter: inbox.TaskFilter{States: []inbox.TaskState{inbox.TaskFailed}, IDs: in.Body.IDs}}
		}
		r, err := svc.RetryMany(ctx, principal(ctx), sel)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		out := bulkOutput(r)
		if len(in.Body.IDs) > 0 {
			changed := map[int64]bool{}
			for _, t := range r.Changed {
				changed[t.ID] = true
			}
			for _, id := range in.Body.IDs {
				if !changed[id] {
					out.Body.Skipped = append(out.Body.Skipped, SkippedTask{ID: id, Reason: "not a dead letter (or not found)"})
				}
			}
		}
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "list-task-kinds", Method: http.MethodGet, Path: Prefix + "/task-kinds",
		Summary: "List task kinds", Description: "Every kind of task, with its defaults and the name of its args schema.",
		Tags: tags, Security: bearer,
	}, func(ctx context.Context, _ *struct{}) (*KindListOutput, error) {
		out := &KindListOutput{}
		for _, k := range svc.Kinds().Kinds() {
			out.Body.Kinds = append(out.Body.Kinds, KindInfo{
				Name: k.Name, Title: kindTitle(k), Description: k.Description, Queue: k.Opts.Queue, Priority: max(k.Opts.Priority, 1),
				MaxAttempts: k.Opts.MaxAttempts, AdminOnly: k.AdminOnly, ArgsSchema: ks.schemaName(k.Name),
			})
		}
		return out, nil
	})
}

// KindListOutput lists the task kinds.
type KindListOutput struct {
	Body struct {
		Kinds []KindInfo `json:"kinds" doc:"Every kind, by name"`
	}
}

// DeadLettersInput filters the dead letters.
type DeadLettersInput struct {
	Kind   []string `query:"kind" doc:"Only dead letters of these kinds"`
	Queue  []string `query:"queue" doc:"Only dead letters in these queues"`
	Limit  int      `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size"`
	Cursor string   `query:"cursor" maxLength:"64" doc:"next_cursor of the previous page"`
}

// RedriveInput selects dead letters to run again.
type RedriveInput struct {
	Body struct {
		IDs   []int64  `json:"ids,omitempty" maxItems:"1000" doc:"These dead letters"`
		Kind  []string `json:"kind,omitempty" doc:"Every dead letter of these kinds"`
		Queue []string `json:"queue,omitempty" doc:"Every dead letter in these queues"`
		All   bool     `json:"all,omitempty" doc:"Every dead letter you can see (at most 1000 per request); required when neither ids, kind nor queue is given"`
	}
}

// createLimits describes the limits on starting tasks, as configured.
func createLimits(l tasks.Limits) string {
	out := "Fair sharing: in each queue at most a few of your tasks are ready or running at once (half the queue's workers by default); " +
		"the rest wait as pending and are admitted in turn with other users' work, ordered among yours by priority. " +
		"Priority 1 is reserved for admins and system tasks."
	if l.CreatesPerMinute > 0 {
		out += fmt.Sprintf(" You may start %d tasks a minute (429 with Retry-After beyond).", l.CreatesPerMinute)
	}
	if l.MaxQueued > 0 {
		out += fmt.Sprintf(" You may have %d unfinished tasks (429 beyond).", l.MaxQueued)
	}
	if l.RunAtHorizon > 0 {
		out += fmt.Sprintf(" run_at may be at most %d days ahead (422 beyond).", int(l.RunAtHorizon.Hours()/24))
	}
	return out + " Admins are exempt from the per-user limits."
}
