package api

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store"
)

// Task is a task as the API shows it.
type Task struct {
	ID          int64          `json:"id" doc:"Task id"`
	Kind        string         `json:"kind" doc:"What the task does"`
	Queue       string         `json:"queue" doc:"Queue it runs in (see list-queues)"`
	Owner       string         `json:"owner,omitempty" doc:"Owner's user name; empty for system tasks"`
	Priority    int            `json:"priority" minimum:"1" maximum:"4" doc:"1 is the highest"`
	State       TaskState      `json:"state"`
	Attempt     int            `json:"attempt" doc:"Attempts started so far"`
	MaxAttempts int            `json:"max_attempts" doc:"Attempts allowed before the task fails for good"`
	Errors      []AttemptError `json:"errors" doc:"One entry per failed attempt, oldest first"`
	Args        TaskArgs       `json:"args" doc:"The kind's arguments (the args schema of its kind)"`
	Result      TaskResult     `json:"result,omitempty" doc:"What the task recorded as its output (the result schema of its kind); absent until it completes"`
	CreatedAt   time.Time      `json:"created_at" doc:"When the task was created"`
	ScheduledAt time.Time      `json:"scheduled_at" doc:"When it became (or becomes) eligible to run"`
	StartedAt   *time.Time     `json:"started_at,omitempty" doc:"When its latest attempt started"`
	FinishedAt  *time.Time     `json:"finished_at,omitempty" doc:"When it completed, failed for good or was cancelled; absent while unfinished"`
	WaitSeconds float64        `json:"wait_seconds" doc:"Time spent queued before its latest attempt (so far)"`
	RunSeconds  float64        `json:"run_seconds" doc:"Run time of its latest attempt (so far)"`
	ScheduleID  *int64         `json:"schedule_id,omitempty" doc:"The schedule that started it"`
	WorkflowID  *int64         `json:"workflow_id,omitempty" doc:"The workflow it is a step of (get-workflow)"`
	Progress    *ProgressEvent `json:"progress,omitempty" doc:"What the worker last reported: done, total, percent, stage, message, rate and ETA"`
}

// AttemptError is one failed attempt.
type AttemptError struct {
	Attempt int       `json:"attempt" minimum:"1" doc:"Which attempt failed, from 1"`
	At      time.Time `json:"at" doc:"When it failed"`
	Error   string    `json:"error" doc:"The error the attempt ended with"`
}

// attemptError is an attempt's error as a sentence for people: without
// the Go type River names a permanent failure by ("JobCancelError: …"),
// first letter capitalised.
func attemptError(msg string) string {
	for _, p := range []string{"JobCancelError: ", "jobCancelError: "} {
		msg = strings.TrimPrefix(msg, p)
	}
	if r, size := utf8.DecodeRuneInString(msg); size > 0 && unicode.IsLower(r) {
		msg = string(unicode.ToUpper(r)) + msg[size:]
	}
	return msg
}

func taskView(t inbox.Task, now time.Time) Task {
	v := Task{
		ID: t.ID, Kind: t.Kind, Queue: t.Queue, Owner: t.Owner, Priority: t.Priority, State: TaskState(t.State),
		Attempt: t.Attempt, MaxAttempts: t.MaxAttempts, Errors: make([]AttemptError, len(t.Errors)),
		Args: withoutOwner(t.Args), Result: TaskResult(t.Result), CreatedAt: t.CreatedAt, ScheduledAt: t.ScheduledAt,
		StartedAt: t.StartedAt, FinishedAt: t.FinishedAt, ScheduleID: t.ScheduleID, WorkflowID: t.WorkflowID,
		WaitSeconds: t.WaitDuration(now).Seconds(), RunSeconds: t.RunDuration(now).Seconds(),
	}
	for i, e := range t.Errors {
		v.Errors[i] = AttemptError(e)
		v.Errors[i].Error = attemptError(e.Error)
	}
	if t.Progress != nil {
		v.Progress = progressEvent(t.ID, *t.Progress)
	}
	return v
}

func taskViews(ts []inbox.Task) []Task {
	now := time.Now()
	out := make([]Task, len(ts))
	for i, t := range ts {
		out[i] = taskView(t, now)
	}
	return out
}

// Schedule is a recurring task as the API shows it.
type Schedule struct {
	ID         int64      `json:"id" doc:"Schedule id"`
	Owner      string     `json:"owner,omitempty" doc:"Owner's user name; empty for built-in schedules"`
	Name       string     `json:"name" doc:"A name for people"`
	Cron       string     `json:"cron" doc:"Cron expression: five fields, an optional leading seconds field, or @hourly / @every 10m"`
	Timezone   string     `json:"timezone" doc:"IANA time zone the cron expression is read in"`
	Kind       string     `json:"kind" doc:"Kind of the tasks it starts (see list-kinds)"`
	Args       TaskArgs   `json:"args" doc:"The args each task gets (the args schema of its kind)"`
	Priority   int        `json:"priority" minimum:"1" maximum:"4" doc:"Priority of the tasks it starts"`
	Enabled    bool       `json:"enabled" doc:"False: the schedule starts no tasks until enabled again"`
	NextRunAt  *time.Time `json:"next_run_at,omitempty" doc:"Next tick; absent when disabled"`
	LastRunAt  *time.Time `json:"last_run_at,omitempty" doc:"The last tick that started a task; absent before the first"`
	LastTaskID *int64     `json:"last_task_id,omitempty" doc:"The task started at the last tick"`
	CreatedAt  time.Time  `json:"created_at" doc:"When the schedule was created"`
	UpdatedAt  time.Time  `json:"updated_at" doc:"When it was last changed"`
}

func scheduleView(s inbox.Schedule) Schedule {
	return Schedule{ID: s.ID, Owner: s.Owner, Name: s.Name, Cron: s.Cron, Timezone: s.Timezone, Kind: s.Kind,
		Args: TaskArgs(s.Args), Priority: s.Priority, Enabled: s.Enabled, NextRunAt: s.NextRunAt, LastRunAt: s.LastRunAt,
		LastTaskID: s.LastTaskID, CreatedAt: s.CreatedAt, UpdatedAt: s.UpdatedAt}
}

// Queue is a queue's load as the API shows it.
type Queue struct {
	Name                string     `json:"name" doc:"Queue name"`
	Paused              bool       `json:"paused" doc:"True: workers start no new tasks from it until it is resumed"`
	PausedAt            *time.Time `json:"paused_at,omitempty" doc:"When it was paused; absent while running"`
	Available           int64      `json:"available" doc:"Jobs waiting for a worker"`
	Running             int64      `json:"running" doc:"Tasks running now"`
	Scheduled           int64      `json:"scheduled" doc:"Tasks waiting for their start time"`
	Retryable           int64      `json:"retryable" doc:"Tasks that failed an attempt and wait to run again"`
	Pending             int64      `json:"pending" doc:"Tasks held back beyond their owner's fair share of the queue"`
	OldestWaitSeconds   float64    `json:"oldest_wait_seconds" doc:"Age of the oldest job waiting"`
	CompletedLastMinute int64      `json:"completed_last_minute" doc:"Tasks completed in the last 60 seconds"`
	CompletedLastHour   int64      `json:"completed_last_hour" doc:"Tasks completed in the last 60 minutes"`
	FailedLastHour      int64      `json:"failed_last_hour" doc:"Tasks that failed for good in the last 60 minutes"`
}

func queueView(q inbox.Queue) Queue {
	return Queue{Name: q.Name, Paused: q.Paused, PausedAt: q.PausedAt, Available: q.Available, Running: q.Running,
		Scheduled: q.Scheduled, Retryable: q.Retryable, Pending: q.Pending, OldestWaitSeconds: q.OldestWait.Seconds(),
		CompletedLastMinute: q.CompletedLastMinute, CompletedLastHour: q.CompletedLastHour, FailedLastHour: q.FailedLastHour}
}

// Alert is a notification as the API shows it.
type Alert struct {
	ID         int64      `json:"id" doc:"Alert id"`
	Severity   string     `json:"severity" enum:"info,warning,critical" doc:"How urgent: info, warning or critical"`
	Title      string     `json:"title" doc:"One-line summary"`
	Message    string     `json:"message" doc:"What happened, in a sentence or two"`
	System     bool       `json:"system" doc:"Raised for admins by the health monitor"`
	TaskID     *int64     `json:"task_id,omitempty" doc:"The task it is about (a failure, a completion), if any: get-task reads it"`
	CreatedAt  time.Time  `json:"created_at" doc:"When it was raised"`
	ResolvedAt *time.Time `json:"resolved_at,omitempty" doc:"When the condition cleared"`
	ReadAt     *time.Time `json:"read_at,omitempty" doc:"When it was marked read; absent while unread"`
}

func alertView(a inbox.Alert) Alert {
	msg := a.Message
	if a.TaskID != nil {
		msg = attemptError(msg) // a task's error, as its page shows it
	}
	return Alert{ID: a.ID, Severity: a.Severity, Title: a.Title, Message: msg, System: a.UserID == nil, TaskID: a.TaskID,
		CreatedAt: a.CreatedAt, ResolvedAt: a.ResolvedAt, ReadAt: a.ReadAt}
}

// QueueDepth is one queue's jobs in one River state: the store's record,
// which the health check's report (a task result) carries too, so the
// document has one QueueDepth.
type QueueDepth = store.QueueDepth

func depthViews(ds []store.QueueDepth) []QueueDepth { return ds }
