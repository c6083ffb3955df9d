package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store/dbsqlc"
)

// TaskList lists tasks in the owner scope (nil: all), newest first. A user's
// list and an admin's are separate statements, each planned for its call's
// filters (customPlans), with a plan that reads about one page of rows
// whatever the table's size (see queries/task.sql, 0014_task_list.sql).
func (s *Store) TaskList(ctx context.Context, f inbox.TaskFilter, owner *int64) ([]inbox.Task, error) {
	p := dbsqlc.TaskListParams{
		Kinds:   nilIfEmpty(f.Kinds),
		Queues:  nilIfEmpty(f.Queues),
		Ids:     nilIfEmpty(f.IDs),
		MaxRows: int32(f.Limit),
	}
	for _, st := range f.States {
		p.States = append(p.States, string(st))
	}
	if !f.CreatedFrom.IsZero() {
		p.CreatedFrom = &f.CreatedFrom
	}
	if !f.CreatedTo.IsZero() {
		p.CreatedTo = &f.CreatedTo
	}
	if f.AfterID > 0 {
		p.AfterID = &f.AfterID
	}
	var rows []dbsqlc.TaskListRow
	var err error
	if owner == nil {
		rows, err = s.planned.TaskList(ctx, p)
	} else {
		var owned []dbsqlc.TaskListByOwnerRow
		owned, err = s.planned.TaskListByOwner(ctx, dbsqlc.TaskListByOwnerParams{
			Owner: *owner, States: p.States, Kinds: p.Kinds, Queues: p.Queues, Ids: p.Ids,
			CreatedFrom: p.CreatedFrom, CreatedTo: p.CreatedTo, AfterID: p.AfterID, MaxRows: p.MaxRows,
		})
		rows = make([]dbsqlc.TaskListRow, len(owned))
		for i, r := range owned {
			rows[i] = dbsqlc.TaskListRow(r)
		}
	}
	if err != nil {
		return nil, translate(err, "listing tasks")
	}
	out := make([]inbox.Task, len(rows))
	var owners []int64
	for i, r := range rows {
		out[i] = taskFromRow(r.RiverJob, r.TaskState, "")
		out[i].Progress = progressFrom(r.ProgressDone, r.ProgressTotal, r.ProgressStage, r.ProgressMessage, r.ProgressRate, r.ProgressUpdatedAt, r.RiverJob.Metadata, endedAt(r.RiverJob.FinalizedAt, r.RiverJob.AttemptedAt))
		if o := out[i].OwnerID; o != nil && !slices.Contains(owners, *o) {
			owners = append(owners, *o)
		}
	}
	if len(owners) == 0 {
		return out, nil
	}
	names, err := s.q.UserNamesByIDs(ctx, owners)
	if err != nil {
		return nil, translate(err, "reading owners' names")
	}
	byID := make(map[int64]string, len(names))
	for _, n := range names {
		byID[n.ID] = n.Name
	}
	for i := range out {
		if o := out[i].OwnerID; o != nil {
			out[i].Owner = byID[*o]
		}
	}
	return out, nil
}

// ownerParam renders an owner scope as the owner the task queries take
// (inboxq_owned, 0034): a user's id as text, or NULL for admins (every
// task). The statements that scan for it run with plans made for the call's
// values (s.planned), which fold NULL away and read a user's tasks from
// their indexes.
func ownerParam(owner *int64) *string {
	if owner == nil {
		return nil
	}
	s := strconv.FormatInt(*owner, 10)
	return &s
}

// TaskGet returns one task visible in the owner scope (nil: any).
func (s *Store) TaskGet(ctx context.Context, id int64, owner *int64) (inbox.Task, error) {
	row, err := s.q.TaskGet(ctx, dbsqlc.TaskGetParams{ID: id, Owner: ownerParam(owner)})
	if err != nil {
		return inbox.Task{}, translate(err, "getting task")
	}
	t := taskFromRow(row.RiverJob, row.TaskState, row.OwnerName)
	t.Progress = progressFrom(row.ProgressDone, row.ProgressTotal, row.ProgressStage, row.ProgressMessage, row.ProgressRate, row.ProgressUpdatedAt, row.RiverJob.Metadata, endedAt(row.RiverJob.FinalizedAt, row.RiverJob.AttemptedAt))
	return t, nil
}

// TaskLock locks a task's row for a state change (call inside InTx) and
// returns its current view.
func (s *Store) TaskLock(ctx context.Context, id int64, owner *int64) (inbox.Task, error) {
	row, err := s.q.TaskGetForUpdate(ctx, dbsqlc.TaskGetForUpdateParams{ID: id, Owner: ownerParam(owner)})
	if err != nil {
		return inbox.Task{}, translate(err, "locking task")
	}
	return taskFromRow(row.RiverJob, row.TaskState, ""), nil
}

// TaskActiveOrFinishedSince lists tasks in flight and tasks finished since
// since, in the owner scope (nil: all), newest first, for events: each task
// holds only what a task event carries. Args and Owner are left empty,
// Result is set only when at most 1,000 bytes (as in live events), and
// Errors holds at most the latest error, cut to 500 bytes, without its time.
func (s *Store) TaskActiveOrFinishedSince(ctx context.Context, owner *int64, since time.Time, limit int) ([]inbox.Task, error) {
	rows, err := s.planned.TaskActiveOrFinishedSince(ctx, dbsqlc.TaskActiveOrFinishedSinceParams{Owner: ownerParam(owner), Since: &since, MaxRows: int32(limit)})
	if err != nil {
		return nil, translate(err, "listing active tasks")
	}
	out := make([]inbox.Task, len(rows))
	for i, r := range rows {
		t := inbox.Task{ID: r.ID, Kind: r.Kind, Queue: r.Queue, Priority: int(r.Priority), State: inbox.TaskState(r.TaskState),
			Attempt: int(r.Attempt), MaxAttempts: int(r.MaxAttempts), CreatedAt: r.CreatedAt, StartedAt: r.AttemptedAt, FinishedAt: r.FinalizedAt}
		if r.OwnerID > 0 {
			t.OwnerID = &r.OwnerID
		}
		if len(r.Result) > 0 && string(r.Result) != "null" {
			t.Result = r.Result
		}
		if r.LastError != "" {
			t.Errors = []inbox.AttemptError{{Attempt: t.Attempt, Error: r.LastError}}
		}
		t.Progress = progressFrom(r.ProgressDone, r.ProgressTotal, r.ProgressStage, r.ProgressMessage, r.ProgressRate, r.ProgressUpdatedAt, nil, time.Time{})
		if t.Progress == nil && len(r.FinalProgress) > 0 {
			t.Progress = decodeFinalProgress(r.FinalProgress, endedAt(r.FinalizedAt, r.AttemptedAt))
		}
		out[i] = t
	}
	return out, nil
}

// ProgressUpdate is one task's progress to save.
type ProgressUpdate struct {
	JobID    int64
	Owner    *int64
	Kind     string
	Progress inbox.Progress
}

// progressFrom is a task's progress: its task_progress row when it has
// one (a periodic write, or the final one of an attempt that made any),
// else the final report River stored with the attempt's end in the job's
// metadata (see FinalProgress), dated at, else nil.
func progressFrom(done, total *int64, stage, msg *string, rate *float64, at *time.Time, metadata []byte, ended time.Time) *inbox.Progress {
	if done != nil {
		return &inbox.Progress{Done: *done, Total: total, Stage: *stage, Message: *msg, Rate: *rate, UpdatedAt: *at}
	}
	if !bytes.Contains(metadata, []byte(`"`+ProgressMetadataKey+`"`)) {
		return nil
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(metadata, &m) != nil || len(m[ProgressMetadataKey]) == 0 {
		return nil
	}
	return decodeFinalProgress(m[ProgressMetadataKey], ended)
}

// endedAt is when an attempt ended, for a final progress report's date:
// the job's finalized_at, else (a retry waits) when the attempt started.
func endedAt(finalized, attempted *time.Time) time.Time {
	switch {
	case finalized != nil:
		return *finalized
	case attempted != nil:
		return *attempted
	}
	return time.Time{}
}

// ProgressMetadataKey is the job metadata key of a task's final progress.
const ProgressMetadataKey = "progress"

// FinalProgress is a task's last progress report as it rides on River's
// state change at the end of an attempt (river.MetadataSet under
// ProgressMetadataKey), for attempts that wrote none to task_progress. It
// holds only what a person reads (River's GIN index on metadata takes an
// entry per key and value, on every later update of the row): the rate
// is not kept and the date is the attempt's end.
//
// In JSON a report of numbers only is the pair [done, total] (total null
// when unknown), which the update trigger copies into the task's grouped
// state event as it is (migration 0027); a report with a stage or message
// is an object. Both forms decode.
type FinalProgress struct {
	Done    int64  `json:"done"`
	Total   *int64 `json:"total,omitempty"`
	Stage   string `json:"stage,omitempty"`
	Message string `json:"message,omitempty"`
}

// finalProgressObject is FinalProgress's object form.
type finalProgressObject FinalProgress

// MarshalJSON writes the pair when the report is numbers only (every
// short task ends with one: it is written by hand, without reflection).
func (f FinalProgress) MarshalJSON() ([]byte, error) {
	if f.Stage == "" && f.Message == "" {
		b := make([]byte, 0, 48)
		b = strconv.AppendInt(append(b, '['), f.Done, 10)
		if f.Total == nil {
			return append(b, ",null]"...), nil
		}
		return append(strconv.AppendInt(append(b, ','), *f.Total, 10), ']'), nil
	}
	return json.Marshal(finalProgressObject(f))
}

// UnmarshalJSON reads either form.
func (f *FinalProgress) UnmarshalJSON(b []byte) error {
	if b = bytes.TrimLeft(b, " \t\r\n"); len(b) > 0 && b[0] == '[' {
		var pair []*int64
		if err := json.Unmarshal(b, &pair); err != nil {
			return err
		}
		if len(pair) != 2 || pair[0] == nil {
			return errors.New("final progress: want [done, total]")
		}
		*f = FinalProgress{Done: *pair[0], Total: pair[1]}
		return nil
	}
	return json.Unmarshal(b, (*finalProgressObject)(f))
}

// NewFinalProgress is p as it is stored in the job's metadata: the message
// cut to 300 characters, as every progress event's is.
func NewFinalProgress(p inbox.Progress) FinalProgress {
	msg := p.Message
	if r := []rune(msg); len(r) > 300 {
		msg = string(r[:300])
	}
	return FinalProgress{Done: p.Done, Total: p.Total, Stage: p.Stage, Message: msg}
}

func decodeFinalProgress(b []byte, at time.Time) *inbox.Progress {
	var f FinalProgress
	if json.Unmarshal(b, &f) != nil {
		return nil
	}
	return &inbox.Progress{Done: f.Done, Total: f.Total, Stage: f.Stage, Message: f.Message, UpdatedAt: at}
}

// TaskCount is a number of tasks of one kind, in one queue and state.
type TaskCount struct {
	Kind  string
	Queue string
	State inbox.TaskState
	Tasks int64
}

// TaskCounts counts tasks by kind, queue and state in the owner scope.
func (s *Store) TaskCounts(ctx context.Context, owner *int64) ([]TaskCount, error) {
	rows, err := s.planned.TaskCountByKindQueueState(ctx, ownerParam(owner))
	if err != nil {
		return nil, translate(err, "counting tasks")
	}
	out := make([]TaskCount, len(rows))
	for i, r := range rows {
		out[i] = TaskCount{Kind: r.Kind, Queue: r.Queue, State: inbox.TaskState(r.TaskState), Tasks: r.Tasks}
	}
	return out, nil
}

// ThroughputPoint is one minute's completions and failures.
type ThroughputPoint struct {
	Minute    time.Time
	Completed int64
	Failed    int64
}

// TaskThroughput returns the last hour, one point per minute, oldest first.
func (s *Store) TaskThroughput(ctx context.Context, owner *int64) ([]ThroughputPoint, error) {
	rows, err := s.planned.TaskThroughput(ctx, ownerParam(owner))
	if err != nil {
		return nil, translate(err, "reading throughput")
	}
	out := make([]ThroughputPoint, len(rows))
	for i, r := range rows {
		out[i] = ThroughputPoint(r)
	}
	return out, nil
}

// TaskStuckCount counts running jobs whose attempt began before cutoff.
func (s *Store) TaskStuckCount(ctx context.Context, cutoff time.Time) (int64, error) {
	n, err := s.q.TaskStuckCount(ctx, &cutoff)
	return n, translate(err, "counting stuck tasks")
}

// Outcomes counts how tasks ended since a time.
type Outcomes struct{ Completed, Failed, Retrying int64 }

// TaskOutcomesSince counts completions, failures and retries since since.
func (s *Store) TaskOutcomesSince(ctx context.Context, since time.Time) (Outcomes, error) {
	r, err := s.q.TaskOutcomesSince(ctx, &since)
	return Outcomes(r), translate(err, "counting outcomes")
}

// jobMetadata is the part of river_job.metadata inboxq reads.
type jobMetadata struct {
	Output     json.RawMessage `json:"output"`
	ScheduleID *int64          `json:"schedule_id"`
	WorkflowID *int64          `json:"workflow_id"`
	// Priority is what an owned task's owner asked for; River's column
	// holds the users' band (tasks.UserBandPriority).
	Priority int `json:"priority"`
}

// attemptError is River's encoding of one attempt's error.
type attemptError struct {
	At      time.Time `json:"at"`
	Attempt int       `json:"attempt"`
	Error   string    `json:"error"`
}

func taskFromRow(j dbsqlc.RiverJob, state, owner string) inbox.Task {
	t := inbox.Task{
		ID:          j.ID,
		Kind:        j.Kind,
		Queue:       j.Queue,
		Owner:       owner,
		Priority:    int(j.Priority),
		State:       inbox.TaskState(state),
		Attempt:     int(j.Attempt),
		MaxAttempts: int(j.MaxAttempts),
		Args:        j.Args,
		Tags:        j.Tags,
		CreatedAt:   j.CreatedAt,
		ScheduledAt: j.ScheduledAt,
		StartedAt:   j.AttemptedAt,
		FinishedAt:  j.FinalizedAt,
	}
	var owned struct {
		OwnerID *int64 `json:"owner_id"`
	}
	if json.Unmarshal(j.Args, &owned) == nil {
		t.OwnerID = owned.OwnerID
	}
	var md jobMetadata
	if json.Unmarshal(j.Metadata, &md) == nil {
		if len(md.Output) > 0 && string(md.Output) != "null" {
			t.Result = md.Output
		}
		t.ScheduleID = md.ScheduleID
		t.WorkflowID = md.WorkflowID
		if md.Priority >= 1 && md.Priority <= 4 {
			t.Priority = md.Priority
		}
	}
	for _, raw := range j.Errors {
		var e attemptError
		if json.Unmarshal(raw, &e) == nil {
			t.Errors = append(t.Errors, inbox.AttemptError{Attempt: e.Attempt, At: e.At, Error: e.Error})
		}
	}
	return t
}

func nilIfEmpty[T any](s []T) []T {
	if len(s) == 0 {
		return nil
	}
	return s
}

// TaskCountUnfinished counts a user's unfinished tasks, stopping at limit.
func (s *Store) TaskCountUnfinished(ctx context.Context, owner int64, limit int) (int, error) {
	n, err := s.q.TaskCountUnfinishedByOwner(ctx, dbsqlc.TaskCountUnfinishedByOwnerParams{
		Queues: inbox.Queues(), Owner: strconv.FormatInt(owner, 10), MaxRows: int32(limit),
	})
	return int(n), translate(err, "counting unfinished tasks")
}
