package inbox

import (
	"encoding/json"
	"time"
)

// Workflow is a graph of tasks tracked as one (group, chord, chain or any
// DAG). Its state is derived from its steps (db/migrations/0025_workflows.sql,
// inboxq_workflow_state) and uses the task states: pending, running,
// cancelling, completed, failed, cancelled.
type Workflow struct {
	ID          int64
	OwnerID     int64
	Name        string
	Policy      string // "stop" or "continue": what a step that does not complete does to its dependents
	State       TaskState
	Run         int // 1, then one more per retry
	ScheduleID  *int64
	CreatedAt   time.Time
	StartedAt   *time.Time // the first step's start
	FinishedAt  *time.Time
	CancelledAt *time.Time
	Progress    WorkflowProgress
	Steps       []WorkflowStep // nil in lists
}

// WorkflowProgress rolls a workflow's steps up: counts by outcome, the
// fraction done (each step weighs one; a running step counts its own
// progress), and an estimate of the time left.
type WorkflowProgress struct {
	Total, Completed, Failed, Cancelled, Skipped, Running, Waiting int
	// Fraction is 0…1: finished steps count whole, running ones by their
	// own done/total.
	Fraction float64
	// ETA is the time left at the pace so far (nil until there is a pace,
	// and once finished).
	ETA *time.Duration
}

// WorkflowStep is one step: its task and how it fits the graph.
type WorkflowStep struct {
	Name   string
	Kind   string
	TaskID int64
	Deps   []string
	// When is the condition it runs on once its dependencies have
	// finished: success, failure or done.
	When string
	// State is the step's task state; a skipped step (not needed) shows
	// cancelled with Outcome "skipped".
	State TaskState
	// Outcome is how it ended: completed, failed, cancelled or skipped
	// ("" while unfinished).
	Outcome     string
	Waiting     bool // waiting for its dependencies
	Attempt     int
	MaxAttempts int
	StartedAt   *time.Time
	FinishedAt  *time.Time
	Progress    *Progress
	Fraction    float64 // 0…1
	Error       string
	Result      json.RawMessage
}

// StepOutcome is how one of a step's dependencies ended, for the step to
// read (a chord's callback reads its group's results).
type StepOutcome struct {
	Name    string
	Kind    string
	TaskID  int64
	Outcome string
	Result  json.RawMessage
	Error   string
}
