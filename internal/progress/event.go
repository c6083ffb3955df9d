package progress

import (
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store"
)

// Event is one change, as raised by the database and fanned out by the Hub.
// Exactly one of Task, Progress, Alert, Workflow and Revoked is set.
type Event struct {
	// ID orders events within one hub: "<epoch>-<seq>".
	ID string
	// Task may be shared by the events of one batch: read the task's id
	// with TaskID, not Task.ID.
	Task     *TaskChange
	Progress *ProgressChange
	Alert    *AlertRaised
	Workflow *WorkflowChange
	// Revoked is never sent to clients: it tells the streams opened with
	// the token to end (see Filter.Tokens).
	Revoked *TokenRevoked
	taskID  int64
	frame   *frame // shared by every subscriber's copy of the event
}

// frame caches an event's wire encoding, made once however many
// subscribers send it.
type frame struct {
	once sync.Once
	b    []byte
}

// Encoded returns the event encoded by enc, calling enc at most once per
// event across all subscribers.
func (e Event) Encoded(enc func(Event) []byte) []byte {
	if e.frame == nil {
		return enc(e)
	}
	e.frame.once.Do(func() { e.frame.b = enc(e) })
	return e.frame.b
}

// TaskID is the task the event is about (0 for alerts not about a task).
func (e Event) TaskID() int64 {
	switch {
	case e.taskID != 0:
		return e.taskID
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
	case e.Workflow != nil:
		return &e.Workflow.Owner
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
	Created     bool            `json:"created"`
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
	case c.Created:
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

// WorkflowChange is a workflow's step finishing (db/migrations/0025):
// the workflow's counts and state after it.
type WorkflowChange struct {
	ID            int64           `json:"id"`
	Owner         int64           `json:"owner"`
	Run           int             `json:"run"`
	State         inbox.TaskState `json:"state"`
	StepsTotal    int             `json:"steps_total"`
	StepsFinished int             `json:"steps_finished"`
	StepsFailed   int             `json:"steps_failed"`
	Step          string          `json:"step"`
	TaskID        int64           `json:"task_id"`
	At            time.Time       `json:"at"`
}

// TokenRevoked says a token was revoked (migration 0011 raises it).
type TokenRevoked struct {
	ID int64 `json:"id"`
}

// jobsHeader is what the jobs of one batch notification share. State is
// the task state, as the database computed it (inboxq_task_state, the one
// rule from River's state; see db/migrations/0018_triggers_whole.sql).
type jobsHeader struct {
	State       inbox.TaskState `json:"state"`
	Created     bool            `json:"created"`
	Kind        string          `json:"kind"`
	Queue       string          `json:"queue"`
	Owner       *string         `json:"owner"`
	Attempt     int             `json:"attempt"`
	MaxAttempts int             `json:"max_attempts"`
	Priority    int             `json:"priority"`
	At          time.Time       `json:"at"`
}

// parse decodes a NOTIFY payload: one event, a batch of job changes that
// differ only by id, or a batch of progress reports.
func parse(payload string) ([]Event, error) {
	var head struct {
		T   string     `json:"t"`
		H   jobsHeader `json:"h"`
		IDs idList     `json:"ids"`
		// P is the finished attempts' final progress, [done, total] by
		// id (see inboxq_final_progress).
		P json.RawMessage `json:"p"`
	}
	if err := json.Unmarshal([]byte(payload), &head); err != nil {
		return nil, err
	}
	if head.T == "jobs" {
		h := head.H
		c := &TaskChange{Kind: h.Kind, Queue: h.Queue, State: h.State,
			Attempt: h.Attempt, MaxAttempts: h.MaxAttempts, Priority: h.Priority, At: h.At, Created: h.Created}
		if h.Owner != nil {
			if id, err := strconv.ParseInt(*h.Owner, 10, 64); err == nil && id > 0 {
				c.Owner = &id
			}
		}
		ps := finalPairs(head.P, len(head.IDs))
		evs := make([]Event, 0, len(head.IDs)+len(ps))
		// The progress events, one allocation for all.
		pcs := make([]ProgressChange, 0, len(ps))
		for i, id := range head.IDs {
			if i < len(ps) && ps[i] != nil {
				f := ps[i]
				pcs = append(pcs, ProgressChange{ID: id, Kind: c.Kind, Owner: c.Owner, At: c.At, Done: f.Done, Total: f.Total})
				evs = append(evs, Event{Progress: &pcs[len(pcs)-1]})
			}
			evs = append(evs, Event{Task: c, taskID: id})
		}
		return evs, nil
	}
	if head.T == "progresses" {
		var batch struct {
			P []ProgressChange `json:"p"`
		}
		if err := json.Unmarshal([]byte(payload), &batch); err != nil {
			return nil, err
		}
		evs := make([]Event, len(batch.P))
		for i := range batch.P {
			evs[i] = Event{Progress: &batch.P[i]}
		}
		return evs, nil
	}
	var ev Event
	var err error
	switch head.T {
	case "task":
		var t struct {
			TaskChange
			P json.RawMessage `json:"p"`
		}
		if err := json.Unmarshal([]byte(payload), &t); err != nil {
			return nil, err
		}
		ev.Task = &t.TaskChange
		if p := finalProgress(t.P, t.ID, ev.Task); p != nil {
			return []Event{{Progress: p}, ev}, nil
		}
	case "progress":
		ev.Progress = &ProgressChange{}
		err = json.Unmarshal([]byte(payload), ev.Progress)
	case "alert":
		ev.Alert = &AlertRaised{}
		err = json.Unmarshal([]byte(payload), ev.Alert)
	case "workflow":
		ev.Workflow = &WorkflowChange{}
		err = json.Unmarshal([]byte(payload), ev.Workflow)
	case "revoked":
		ev.Revoked = &TokenRevoked{}
		err = json.Unmarshal([]byte(payload), ev.Revoked)
	default:
		return nil, errUnknownEvent(head.T)
	}
	return []Event{ev}, err
}

// idList is a grouped event's ids. The trigger writes them as plain
// decimal numbers ("[12,13,14]"), which are read here without a decode
// call per id (BenchmarkParseJobs: every job passes here); anything else
// goes through encoding/json.
type idList []int64

// UnmarshalJSON implements json.Unmarshaler.
func (l *idList) UnmarshalJSON(b []byte) error {
	if ids, ok := scanIDs(b); ok {
		*l = ids
		return nil
	}
	return json.Unmarshal(b, (*[]int64)(l))
}

// scanIDs reads "[n,n,...]" of unsigned numbers of at most 18 digits,
// without spaces (what the trigger writes); ok is false for anything else.
func scanIDs(b []byte) (ids []int64, ok bool) {
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return nil, false
	}
	b = b[1 : len(b)-1]
	if len(b) == 0 {
		return []int64{}, true
	}
	ids = make([]int64, 0, len(b)/8+1)
	for {
		var v int64
		n := 0
		for n < len(b) && b[n] >= '0' && b[n] <= '9' {
			v = v*10 + int64(b[n]-'0')
			n++
		}
		if n == 0 || n > 18 || (n > 1 && b[0] == '0') {
			return nil, false
		}
		ids = append(ids, v)
		if n == len(b) {
			return ids, true
		}
		if b[n] != ',' {
			return nil, false
		}
		b = b[n+1:]
	}
}

// finalProgress is the progress event of a finished attempt's last report,
// from what its state event carries: [done, total] in a grouped event, the
// whole report (stage and message too) in a task's own; nil for none.
func finalProgress(raw json.RawMessage, id int64, c *TaskChange) *ProgressChange {
	var f store.FinalProgress
	if len(raw) == 0 || string(raw) == "null" || json.Unmarshal(raw, &f) != nil {
		return nil
	}
	return &ProgressChange{ID: id, Kind: c.Kind, Owner: c.Owner, At: c.At, Done: f.Done, Total: f.Total, Stage: f.Stage, Message: f.Message}
}

// finalPairs reads a grouped event's final reports, one per id: [done,
// total] or null (nil). The trigger writes them as jsonb prints them
// ("[[3, 10],null,[5, null]]"), which is read here without a decode call
// per pair; anything else goes through encoding/json, whose reading of
// each pair (store.FinalProgress) is the rule. Unreadable: none, and the
// state changes still count.
func finalPairs(raw json.RawMessage, n int) []*store.FinalProgress {
	if len(raw) == 0 {
		return nil
	}
	if ps, ok := scanPairs(raw, n); ok {
		return ps
	}
	var elems []json.RawMessage
	if json.Unmarshal(raw, &elems) != nil {
		return nil
	}
	ps := make([]*store.FinalProgress, len(elems))
	for i, e := range elems {
		var f store.FinalProgress
		if string(e) != "null" && json.Unmarshal(e, &f) == nil {
			ps[i] = &f
		}
	}
	return ps
}

// scanPairs is finalPairs' reading of what the trigger writes; ok is false
// for anything it does not know (floats, strings, objects, numbers beyond
// 18 digits, leading zeros), which encoding/json then reads.
func scanPairs(b []byte, n int) (ps []*store.FinalProgress, ok bool) {
	i := 0
	skip := func() {
		for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
			i++
		}
	}
	eat := func(c byte) bool {
		skip()
		if i < len(b) && b[i] == c {
			i++
			return true
		}
		return false
	}
	null := func() bool {
		skip()
		if len(b)-i >= 4 && string(b[i:i+4]) == "null" {
			i += 4
			return true
		}
		return false
	}
	integer := func() (int64, bool) {
		skip()
		neg := i < len(b) && b[i] == '-'
		if neg {
			i++
		}
		start := i
		var v int64
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			v = v*10 + int64(b[i]-'0')
			i++
		}
		if digits := i - start; digits == 0 || digits > 18 || (digits > 1 && b[start] == '0') {
			return 0, false
		}
		if i < len(b) && (b[i] == '.' || b[i] == 'e' || b[i] == 'E') {
			return 0, false
		}
		if neg {
			v = -v
		}
		return v, true
	}
	if !eat('[') {
		return nil, false
	}
	ps = make([]*store.FinalProgress, 0, n)
	if eat(']') {
		skip()
		return ps, i == len(b)
	}
	// One allocation for all the pairs and one for their totals (an
	// append beyond n moves later ones; pointers taken stay valid).
	pairs, totals := make([]store.FinalProgress, 0, n), make([]int64, 0, n)
	for {
		if null() {
			ps = append(ps, nil)
		} else {
			if !eat('[') {
				return nil, false
			}
			done, ok := integer()
			if !ok || !eat(',') {
				return nil, false
			}
			f := store.FinalProgress{Done: done}
			if !null() {
				total, ok := integer()
				if !ok {
					return nil, false
				}
				totals = append(totals, total)
				f.Total = &totals[len(totals)-1]
			}
			if !eat(']') {
				return nil, false
			}
			pairs = append(pairs, f)
			ps = append(ps, &pairs[len(pairs)-1])
		}
		if eat(']') {
			skip()
			return ps, i == len(b)
		}
		if !eat(',') {
			return nil, false
		}
	}
}

type errUnknownEvent string

func (e errUnknownEvent) Error() string { return "unknown event type " + string(e) }
