package progress

import (
	"encoding/json"
	"time"

	"github.com/inboxq/inboxq/internal/inbox"
)

// Event is one change, as raised by the database and fanned out by the Hub.
// Exactly one of Task, Progress and Alert is set.
type Event struct {
	// ID orders events within one hub: "<epoch>-<seq>".
	ID       string
	Task     *TaskChange
	Progress *ProgressChange
	Alert    *AlertRaised
}

// TaskID is the task the event is about (0 for alerts not about a task).
func (e Event) TaskID() int64 {
	switch {
	case e.Task != nil:
		return e.Task.ID
	case e.Progress != nil:
		return e.Progress.ID
	case e.Alert != nil && e.Alert.TaskID != nil:
		return *e.Alert.TaskID
	}
	return 0
}

// Owner is the user the event belongs to (nil: system, for admins).
func (e Event) Owner() *int64 {
	switch {
	case e.Task != nil:
		return e.Task.Owner
	case e.Progress != nil:
		return e.Progress.Owner
	case e.Alert != nil:
		return e.Alert.Owner
	}
	return nil
}

// Kind is the task kind the event is about, if any.
func (e Event) Kind() string {
	switch {
	case e.Task != nil:
		return e.Task.Kind
	case e.Progress != nil:
		return e.Progress.Kind
	}
	return ""
}

// TaskChange is a task's new visible state.
type TaskChange struct {
	ID          int64           `json:"id"`
	Kind        string          `json:"kind"`
	Queue       string          `json:"queue"`
	Owner       *int64          `json:"owner"`
	State       inbox.TaskState `json:"state"`
	Prev        inbox.TaskState `json:"prev"`
	Attempt     int             `json:"attempt"`
	MaxAttempts int             `json:"max_attempts"`
	Priority    int             `json:"priority"`
	Error       string          `json:"error"`
	Result      json.RawMessage `json:"result"`
	At          time.Time       `json:"at"`
	// Snapshot marks a state read from the database rather than a change
	// seen live (on connect, or after the listener reconnected).
	Snapshot bool            `json:"-"`
	Progress *inbox.Progress `json:"-"`
}

// Change names what happened, for people: created, started, cancelling,
// retrying, completed, failed, cancelled, scheduled (snoozed or delayed),
// requeued (back to pending) or snapshot.
func (c TaskChange) Change() string {
	switch {
	case c.Snapshot:
		return "snapshot"
	case c.Prev == "":
		return "created"
	case c.State == inbox.TaskRunning:
		return "started"
	case c.State == inbox.TaskPending:
		return "requeued"
	}
	return string(c.State)
}

// ProgressChange is a task's newly reported progress.
type ProgressChange struct {
	ID      int64     `json:"id"`
	Kind    string    `json:"kind"`
	Owner   *int64    `json:"owner"`
	Done    int64     `json:"done"`
	Total   *int64    `json:"total"`
	Stage   string    `json:"stage"`
	Message string    `json:"message"`
	Rate    float64   `json:"rate"`
	At      time.Time `json:"at"`
}

// AlertRaised is a new alert.
type AlertRaised struct {
	ID       int64     `json:"id"`
	Owner    *int64    `json:"owner"`
	Severity string    `json:"severity"`
	Title    string    `json:"title"`
	Message  string    `json:"message"`
	TaskID   *int64    `json:"task_id"`
	At       time.Time `json:"at"`
}

// parse decodes a NOTIFY payload.
func parse(payload string) (Event, error) {
	var head struct {
		T string `json:"t"`
	}
	if err := json.Unmarshal([]byte(payload), &head); err != nil {
		return Event{}, err
	}
	var ev Event
	var err error
	switch head.T {
	case "task":
		ev.Task = &TaskChange{}
		err = json.Unmarshal([]byte(payload), ev.Task)
	case "progress":
		ev.Progress = &ProgressChange{}
		err = json.Unmarshal([]byte(payload), ev.Progress)
	case "alert":
		ev.Alert = &AlertRaised{}
		err = json.Unmarshal([]byte(payload), ev.Alert)
	default:
		return Event{}, errUnknownEvent(head.T)
	}
	return ev, err
}

type errUnknownEvent string

func (e errUnknownEvent) Error() string { return "unknown event type " + string(e) }
