package inboxqtest

import "github.com/inboxq/inboxq/internal/inbox"

// TaskStateCase is a river_job row (River's state, metadata and errors)
// and the task state people see for it.
type TaskStateCase struct {
	Name      string
	State     string // River's
	Metadata  string // JSON
	Errors    string // an SQL expression of type jsonb[], NULL for none
	Finalized bool   // finalized_at is set (River's check for finished states)
	Want      inbox.TaskState
}

// attemptErrors is one attempt's error, as River stores it.
const attemptErrors = `ARRAY['{"at":"2026-01-01T00:00:00Z","attempt":1,"error":"boom","trace":""}'::jsonb]`

// TaskStateCases pins the rule River state → task state, which lives once,
// in the SQL function inboxq_task_state: a job in every River state, and
// in each variant that a cancel request and errors make. Tests check that
// the function, the task queries and the events all give Want.
func TaskStateCases() []TaskStateCase {
	const cancelAsked = `{"cancel_attempted_at":"2026-01-01T00:00:00Z"}`
	return []TaskStateCase{
		{"available", "available", `{}`, "NULL", false, inbox.TaskPending},
		{"pending", "pending", `{}`, "NULL", false, inbox.TaskPending},
		{"scheduled", "scheduled", `{}`, "NULL", false, inbox.TaskScheduled},
		{"running", "running", `{}`, "NULL", false, inbox.TaskRunning},
		{"running, cancel asked", "running", cancelAsked, "NULL", false, inbox.TaskCancelling},
		{"retryable", "retryable", `{}`, attemptErrors, false, inbox.TaskRetrying},
		{"completed", "completed", `{}`, "NULL", true, inbox.TaskCompleted},
		{"completed after a failed attempt", "completed", `{}`, attemptErrors, true, inbox.TaskCompleted},
		{"discarded", "discarded", `{}`, attemptErrors, true, inbox.TaskFailed},
		{"cancelled by a person", "cancelled", cancelAsked, "NULL", true, inbox.TaskCancelled},
		{"cancelled by a person while failing", "cancelled", cancelAsked, attemptErrors, true, inbox.TaskCancelled},
		{"cancelled before it ran", "cancelled", `{}`, "NULL", true, inbox.TaskCancelled},
		{"cancelled with errors (JobCancel)", "cancelled", `{}`, attemptErrors, true, inbox.TaskFailed},
	}
}
