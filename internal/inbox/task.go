package inbox

import (
	"encoding/json"
	"time"
)

// TaskState is the state of a task as people see it, derived from River's
// job state by one rule, the SQL function inboxq_task_state
// (db/migrations/0018_triggers_whole.sql): Go reads the state the database
// computed (task queries, events) and never maps River states itself.
type TaskState string

// The task states.
const (
	TaskPending    TaskState = "pending"    // queued, waiting for a worker
	TaskScheduled  TaskState = "scheduled"  // waiting for its run-at time (or snoozed)
	TaskRunning    TaskState = "running"    // a worker has it
	TaskCancelling TaskState = "cancelling" // running, asked to stop
	TaskRetrying   TaskState = "retrying"   // failed an attempt, will try again
	TaskCompleted  TaskState = "completed"
	TaskFailed     TaskState = "failed" // attempts exhausted, or failed permanently
	TaskCancelled  TaskState = "cancelled"
)

// TaskStates lists every state in lifecycle order.
func TaskStates() []TaskState {
	return []TaskState{TaskPending, TaskScheduled, TaskRunning, TaskCancelling, TaskRetrying, TaskCompleted, TaskFailed, TaskCancelled}
}

// Finished reports whether the state is final.
func (s TaskState) Finished() bool {
	return s == TaskCompleted || s == TaskFailed || s == TaskCancelled
}

// Task is one unit of background work: a River job with its owner.
type Task struct {
	ID          int64
	Kind        string
	Queue       string
	OwnerID     *int64 // nil: a system task
	Owner       string
	Priority    int
	State       TaskState
	Attempt     int
	MaxAttempts int
	Errors      []AttemptError
	Args        json.RawMessage
	Result      json.RawMessage // the job's recorded output, if any
	Tags        []string
	CreatedAt   time.Time
	ScheduledAt time.Time
	StartedAt   *time.Time // the latest attempt's start
	FinishedAt  *time.Time
	ScheduleID  *int64    // the schedule that created it
	WorkflowID  *int64    // the workflow it is a step of
	Progress    *Progress // nil until the worker reports
}

// AttemptError is the error of one failed attempt.
type AttemptError struct {
	Attempt int       `json:"attempt"`
	At      time.Time `json:"at"`
	Error   string    `json:"error"`
}

// WaitDuration is how long the task waited in its queue before its latest
// attempt started (or has waited so far).
func (t Task) WaitDuration(now time.Time) time.Duration {
	end := now
	if t.StartedAt != nil {
		end = *t.StartedAt
	} else if t.FinishedAt != nil {
		end = *t.FinishedAt
	}
	return max(end.Sub(t.ScheduledAt), 0)
}

// RunDuration is how long the latest attempt ran (or has run so far).
func (t Task) RunDuration(now time.Time) time.Duration {
	if t.StartedAt == nil {
		return 0
	}
	end := now
	if t.FinishedAt != nil {
		end = *t.FinishedAt
	} else if t.State != TaskRunning && t.State != TaskCancelling {
		return 0 // between attempts
	}
	return max(end.Sub(*t.StartedAt), 0)
}

// TaskFilter selects tasks. Zero fields select everything.
type TaskFilter struct {
	States      []TaskState
	Kinds       []string
	Queues      []string
	IDs         []int64
	CreatedFrom time.Time
	CreatedTo   time.Time
	// AfterID continues a listing after this id (ids descend).
	AfterID int64
	Limit   int
}

// Role is what a user may do.
type Role string

// The roles.
const (
	RoleUser  Role = "user"
	RoleAdmin Role = "admin"
)

// Principal is the authenticated caller.
type Principal struct {
	UserID int64
	Name   string
	Role   Role
}

// IsAdmin reports whether the caller is an admin.
func (p Principal) IsAdmin() bool { return p.Role == RoleAdmin }

// OwnerScope is the owner filter for the caller's queries: nil for admins
// (everything), else the caller's own id.
func (p Principal) OwnerScope() *int64 {
	if p.IsAdmin() {
		return nil
	}
	id := p.UserID
	return &id
}

// Progress is what a task's worker last reported.
type Progress struct {
	Done      int64
	Total     *int64 // nil: unknown
	Stage     string
	Message   string
	Rate      float64 // items per second, recently
	UpdatedAt time.Time
}

// Percent is done ÷ total in percent, or nil when the total is unknown.
func (p Progress) Percent() *float64 {
	if p.Total == nil || *p.Total <= 0 {
		return nil
	}
	v := min(100, float64(p.Done)*100/float64(*p.Total))
	return &v
}

// ETA estimates the time left at the recent rate, or nil when unknown.
func (p Progress) ETA() *time.Duration {
	if p.Total == nil || p.Rate <= 0 || p.Done >= *p.Total {
		return nil
	}
	d := time.Duration(float64(*p.Total-p.Done) / p.Rate * float64(time.Second))
	return &d
}
