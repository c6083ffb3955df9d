package api

import (
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/jobs"
)

// This file holds what makes the OpenAPI document a contract that
// generated clients can rely on: schema names without the framework's
// suffixes, one shared enum per concept, typed task args and results,
// problem types, and the responses every operation can give.

// schemaNames renames the schemas Huma names after Go's anonymous body
// structs (FooOutputBody, FooInputBody): they become client type names.
var schemaNames = map[string]string{
	"TaskListOutputBody":      "TaskPage",
	"CreateTaskOutputBody":    "CreatedTask",
	"BulkInputBody":           "TaskSelection",
	"BulkOutputBody":          "BulkOutcome",
	"RedriveInputBody":        "DeadLetterSelection",
	"KindListOutputBody":      "KindList",
	"QueueListOutputBody":     "QueueList",
	"StatsOutputBody":         "Stats",
	"AlertListOutputBody":     "AlertPage",
	"MarkReadInputBody":       "AlertSelection",
	"MarkReadOutputBody":      "MarkReadResult",
	"SystemHealthOutputBody":  "SystemHealth",
	"ScheduleListOutputBody":  "ScheduleList",
	"UpdateScheduleInputBody": "ScheduleChange",
	"EventsTokenOutputBody":   "EventsToken",
	"AccountListOutputBody":   "AccountList",
	"ConnectOutputBody":       "Consent",
	"CountMessagesInputBody":  "CountMessagesRequest",
	"CountMessagesOutputBody": "MessageCount",
	"ExportListOutputBody":    "ExportList",
	"HealthOutputBody":        "Health",
}

// schemaNamer is Huma's default namer with the renames above, and any other
// framework suffix cut.
func schemaNamer(t reflect.Type, hint string) string {
	name := huma.DefaultSchemaNamer(t, hint)
	if n, ok := schemaNames[name]; ok {
		return n
	}
	if n, ok := strings.CutSuffix(name, "OutputBody"); ok {
		return n
	}
	if n, ok := strings.CutSuffix(name, "InputBody"); ok {
		return n + "Request"
	}
	return name
}

// TaskState is a task's state as people see it: one shared enum.
type TaskState string

// Schema makes every use of TaskState a reference to one component.
func (TaskState) Schema(r huma.Registry) *huma.Schema {
	return sharedSchema(r, "TaskState", func() *huma.Schema {
		s := &huma.Schema{Type: huma.TypeString, Description: "A task's state: pending (queued, or waiting for your fair share of a queue), " +
			"scheduled (waiting for its time), running, cancelling (asked to stop, its worker has not yet), retrying (failed, will run again), " +
			"completed, failed (attempts exhausted or gave up), cancelled."}
		for _, st := range inbox.TaskStates() {
			s.Enum = append(s.Enum, string(st))
		}
		return s
	})
}

// TaskArgs are a task's arguments: the args schema of its kind.
type TaskArgs json.RawMessage

// MarshalJSON writes the args as they are.
func (a TaskArgs) MarshalJSON() ([]byte, error) { return json.RawMessage(a).MarshalJSON() }

// UnmarshalJSON keeps the args as they are.
func (a *TaskArgs) UnmarshalJSON(b []byte) error { return (*json.RawMessage)(a).UnmarshalJSON(b) }

// Schema refers to the TaskArgs component kindSchemas builds.
func (TaskArgs) Schema(huma.Registry) *huma.Schema { return &huma.Schema{Ref: schemaRef("TaskArgs")} }

// TaskResult is what a task recorded as its output: the result schema of
// its kind.
type TaskResult json.RawMessage

// MarshalJSON writes the result as it is.
func (a TaskResult) MarshalJSON() ([]byte, error) { return json.RawMessage(a).MarshalJSON() }

// UnmarshalJSON keeps the result as it is.
func (a *TaskResult) UnmarshalJSON(b []byte) error { return (*json.RawMessage)(a).UnmarshalJSON(b) }

// Schema refers to the TaskResult component kindSchemas builds.
func (TaskResult) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{Ref: schemaRef("TaskResult")}
}

// healthReport is the health monitor's report as recorded (JSON), typed in
// the document by the monitor's own report type.
type healthReport json.RawMessage

// MarshalJSON writes the report as it is.
func (h healthReport) MarshalJSON() ([]byte, error) {
	if len(h) == 0 {
		return []byte("{}"), nil
	}
	return json.RawMessage(h).MarshalJSON()
}

// Schema registers jobs.HealthReport and refers to it.
func (healthReport) Schema(r huma.Registry) *huma.Schema {
	return r.Schema(reflect.TypeFor[jobs.HealthReport](), true, "")
}

func schemaRef(name string) string { return "#/components/schemas/" + name }

// sharedSchema registers a component once and returns a reference to it.
func sharedSchema(r huma.Registry, name string, build func() *huma.Schema) *huma.Schema {
	if _, ok := r.Map()[name]; !ok {
		r.Map()[name] = build()
	}
	return &huma.Schema{Ref: schemaRef(name)}
}

// withoutOwner drops the internal owner_id from a task's args: the owner is
// the task's owner field, and the kind's schema forbids owner_id.
func withoutOwner(args []byte) TaskArgs {
	if !strings.Contains(string(args), `"owner_id"`) {
		return TaskArgs(args)
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(args, &m) != nil {
		return TaskArgs(args)
	}
	delete(m, "owner_id")
	out, err := json.Marshal(m)
	if err != nil {
		return TaskArgs(args)
	}
	return TaskArgs(out)
}

// problemTypes are the machine-readable problem types (RFC 9457 "type"),
// one per status this API answers with.
var problemTypes = map[int]string{
	http.StatusBadRequest:            "bad_request",
	http.StatusUnauthorized:          "unauthenticated",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not_found",
	http.StatusMethodNotAllowed:      "method_not_allowed",
	http.StatusConflict:              "conflict",
	http.StatusGone:                  "gone",
	http.StatusRequestEntityTooLarge: "too_large",
	http.StatusUnsupportedMediaType:  "unsupported_media_type",
	http.StatusUnprocessableEntity:   "invalid",
	http.StatusTooManyRequests:       "limit_reached",
	http.StatusInternalServerError:   "internal",
	http.StatusServiceUnavailable:    "unavailable",
}

// ProblemType is the "type" of a problem with this status.
func ProblemType(status int) string {
	if t, ok := problemTypes[status]; ok {
		return "urn:inboxq:problem:" + t
	}
	return "about:blank"
}

// typeProblems fills in the type of every problem the API writes.
func typeProblems(_ huma.Context, _ string, v any) (any, error) {
	if e, ok := v.(*huma.ErrorModel); ok && (e.Type == "" || e.Type == "about:blank") {
		e.Type = ProblemType(e.Status)
	}
	return v, nil
}

// finishDocument adds what every operation shares: the 401 of secured
// operations, a 500, and the problem types in the error schema.
func finishDocument(oapi *huma.OpenAPI) {
	problem := func(desc string) *huma.Response {
		return &huma.Response{Description: desc, Content: map[string]*huma.MediaType{
			"application/problem+json": {Schema: &huma.Schema{Ref: schemaRef("ErrorModel")}},
		}}
	}
	for _, item := range oapi.Paths {
		for _, op := range []*huma.Operation{item.Get, item.Post, item.Put, item.Patch, item.Delete} {
			if op == nil {
				continue
			}
			if op.Responses == nil {
				op.Responses = map[string]*huma.Response{}
			}
			if len(op.Security) > 0 && op.Responses["401"] == nil {
				op.Responses["401"] = problem("No valid token: send `Authorization: Bearer <token>`")
			}
			if op.Responses["500"] == nil {
				op.Responses["500"] = problem("Internal error (the detail is logged, never sent)")
			}
			if d := op.Responses["default"]; d != nil && len(op.Responses) > 2 {
				delete(op.Responses, "default")
			}
		}
	}
	schemas := oapi.Components.Schemas.Map()
	// Lists are never null: the server always sends [] for none. (Huma marks
	// arrays nullable by default, which generated clients turn into
	// pointers to slices.)
	for _, s := range schemas {
		walkSchema(s, func(s *huma.Schema) {
			if s.Type == huma.TypeArray {
				s.Nullable = false
			}
		})
	}
	// The body create-task answers with is a Task and one more field.
	if _, ok := schemas["CreatedTask"]; ok {
		schemas["CreatedTask"] = &huma.Schema{
			Description: "The task, and whether it was already in flight.",
			AllOf: []*huma.Schema{{Ref: schemaRef("Task")}, {
				Type: huma.TypeObject, Required: []string{"duplicate"},
				Properties: map[string]*huma.Schema{"duplicate": {Type: huma.TypeBoolean,
					Description: "True when the kind's uniqueness rule found this task already in flight (status 200); no new task was created"}},
			}},
		}
	}
	if item := oapi.Paths[Prefix+"/tasks"]; item != nil && item.Post != nil {
		if created := item.Post.Responses["201"]; created != nil {
			dup := *created
			dup.Headers = nil
			dup.Description = "The same task was already in flight (the kind's uniqueness rule): it is returned with duplicate=true"
			item.Post.Responses["200"] = &dup
		}
	}
	// Schemas Huma registers for Go structs used only inline.
	delete(schemas, "TaskOptions")
	delete(schemas, "ScheduleFields")
	if em := schemas["ErrorModel"]; em != nil {
		if t := em.Properties["type"]; t != nil {
			types := make([]string, 0, len(problemTypes))
			for status := range problemTypes {
				types = append(types, "`"+ProblemType(status)+"`")
			}
			slices.Sort(types)
			t.Description = "What kind of problem, for programs to act on: " + strings.Join(types, ", ") + "."
			t.Default = nil
			t.Examples = []any{ProblemType(http.StatusNotFound)}
		}
	}
}

// walkSchema calls fn on s and every schema inside it.
func walkSchema(s *huma.Schema, fn func(*huma.Schema)) {
	if s == nil {
		return
	}
	fn(s)
	walkSchema(s.Items, fn)
	for _, p := range s.Properties {
		walkSchema(p, fn)
	}
	for _, group := range [][]*huma.Schema{s.OneOf, s.AnyOf, s.AllOf} {
		for _, sub := range group {
			walkSchema(sub, fn)
		}
	}
}
