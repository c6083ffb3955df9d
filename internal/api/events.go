package api

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"

	"github.com/inboxq/inboxq/internal/auth"
	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/progress"
)

// TaskEvent is a task's new state: sent when it changes, and as a snapshot
// on connect.
type TaskEvent struct {
	ID          int64          `json:"id" doc:"Task id"`
	Kind        string         `json:"kind" doc:"The task's kind"`
	Queue       string         `json:"queue" doc:"The task's queue"`
	State       string         `json:"state" enum:"pending,scheduled,running,cancelling,retrying,completed,failed,cancelled" doc:"The task's state after the change"`
	Change      string         `json:"change" enum:"snapshot,created,started,requeued,scheduled,cancelling,retrying,completed,failed,cancelled" doc:"What happened"`
	Attempt     int            `json:"attempt" doc:"Attempts started so far"`
	MaxAttempts int            `json:"max_attempts" doc:"Attempts allowed before the task fails for good"`
	Priority    int            `json:"priority" doc:"1 (highest) to 4"`
	Error       string         `json:"error,omitempty" doc:"The latest attempt's error (retrying, failed)"`
	Result      TaskResult     `json:"result,omitempty" doc:"The task's output when completed (omitted when large: fetch the task)"`
	Progress    *ProgressEvent `json:"progress,omitempty" doc:"Latest progress (snapshots only)"`
	At          time.Time      `json:"at" doc:"When the change happened"`
}

// WorkflowEvent is a workflow's step finishing: the workflow's state and
// counts after it.
type WorkflowEvent struct {
	ID            int64     `json:"id" doc:"Workflow id (get-workflow)"`
	State         string    `json:"state" enum:"pending,running,cancelling,completed,failed,cancelled" doc:"The workflow's state after the change"`
	Run           int       `json:"run" doc:"1, then one more per retry"`
	StepsTotal    int       `json:"steps_total" doc:"Steps in the workflow"`
	StepsFinished int       `json:"steps_finished" doc:"Steps finished, whatever their outcome"`
	StepsFailed   int       `json:"steps_failed" doc:"Steps failed or cancelled"`
	Step          string    `json:"step" doc:"The step that finished"`
	TaskID        int64     `json:"task_id" doc:"That step's task"`
	At            time.Time `json:"at" doc:"When it finished"`
}

// ProgressEvent is a task's newly reported progress.
type ProgressEvent struct {
	ID         int64     `json:"id" doc:"Task id"`
	Done       int64     `json:"done" doc:"Items done so far (messages, rows...)"`
	Total      *int64    `json:"total,omitempty" doc:"Absent while unknown"`
	Percent    *float64  `json:"percent,omitempty" doc:"done ÷ total × 100 (0 to 100); absent while the total is unknown"`
	Stage      string    `json:"stage,omitempty" doc:"The step under way, e.g. fetching or done; absent when the kind reports none"`
	Message    string    `json:"message,omitempty" doc:"Detail for people, e.g. page 3; may be absent"`
	Rate       float64   `json:"rate" doc:"Items per second, recently"`
	ETASeconds *float64  `json:"eta_seconds,omitempty" doc:"Estimated time left at the recent rate"`
	At         time.Time `json:"at" doc:"When the worker reported it"`
}

// AlertEvent is a new notification.
type AlertEvent struct {
	ID       int64     `json:"id" doc:"Alert id"`
	Severity string    `json:"severity" enum:"info,warning,critical" doc:"How urgent: info, warning or critical"`
	Title    string    `json:"title" doc:"One-line summary"`
	Message  string    `json:"message" doc:"What happened, in a sentence or two"`
	TaskID   *int64    `json:"task_id,omitempty" doc:"The task it is about (e.g. one that failed); absent when it concerns no single task"`
	System   bool      `json:"system" doc:"A health alert, for admins"`
	At       time.Time `json:"at" doc:"When it was raised"`
}

func progressEvent(id int64, p inbox.Progress) *ProgressEvent {
	pe := &ProgressEvent{ID: id, Done: p.Done, Total: p.Total, Percent: p.Percent(), Stage: p.Stage, Message: p.Message, Rate: p.Rate, At: p.UpdatedAt}
	if eta := p.ETA(); eta != nil {
		s := eta.Seconds()
		pe.ETASeconds = &s
	}
	return pe
}

// sseEvent turns a hub event into its wire name and payload.
func sseEvent(e progress.Event) (string, any) {
	switch {
	case e.Task != nil:
		t := e.Task
		te := TaskEvent{ID: e.TaskID(), Kind: t.Kind, Queue: t.Queue, State: string(t.State), Change: t.Change(), Attempt: t.Attempt,
			MaxAttempts: t.MaxAttempts, Priority: t.Priority, Error: attemptError(t.Error), Result: TaskResult(t.Result), At: t.At}
		if string(te.Result) == "null" {
			te.Result = nil
		}
		if t.Progress != nil {
			te.Progress = progressEvent(e.TaskID(), *t.Progress)
		}
		return "task", te
	case e.Workflow != nil:
		w := e.Workflow
		return "workflow", WorkflowEvent{ID: w.ID, State: string(w.State), Run: w.Run, StepsTotal: w.StepsTotal,
			StepsFinished: w.StepsFinished, StepsFailed: w.StepsFailed, Step: w.Step, TaskID: w.TaskID, At: w.At}
	case e.Progress != nil:
		p := e.Progress
		return "progress", progressEvent(p.ID, inbox.Progress{Done: p.Done, Total: p.Total, Stage: p.Stage, Message: p.Message, Rate: p.Rate, UpdatedAt: p.At})
	default:
		a := e.Alert
		msg := a.Message
		if a.TaskID != nil {
			msg = attemptError(msg)
		}
		return "alert", AlertEvent{ID: a.ID, Severity: a.Severity, Title: a.Title, Message: msg, TaskID: a.TaskID, System: a.Owner == nil, At: a.At}
	}
}

// SnapshotEnd ends the snapshot a stream starts with when it cannot resume
// from Last-Event-ID.
type SnapshotEnd struct {
	Count     int  `json:"count" doc:"How many task events the snapshot held"`
	Truncated bool `json:"truncated" doc:"The snapshot was cut at its limit: older tasks in the window were left out (list them with list-tasks)"`
}

// The events the streams send, for the document.
var (
	taskStreamEvent = streamEvent{name: "task", schema: "TaskEventMessage", data: TaskEvent{},
		doc: "A task's new state (change says what happened; snapshot: its state on connect)."}
	progressStreamEvent = streamEvent{name: "progress", schema: "ProgressEventMessage", data: ProgressEvent{},
		doc: "A task's newly reported progress; sent only when done, total, stage or message changed."}
	workflowStreamEvent = streamEvent{name: "workflow", schema: "WorkflowEventMessage", data: WorkflowEvent{},
		doc: "A step of one of the caller's workflows finished: the workflow's state and counts after it (get-workflow has the rest)."}
	alertStreamEvent = streamEvent{name: "alert", schema: "AlertEventMessage", data: AlertEvent{},
		doc: "A new alert for the caller."}
	snapshotEndStreamEvent = streamEvent{name: "snapshot_end", schema: "SnapshotEndMessage", data: SnapshotEnd{},
		doc: "The end of the snapshot. The snapshot's task events carry no id; this one carries the stream's position " +
			"when the snapshot was read, so a client that drops mid-snapshot reconnects with its previous id and gets the snapshot again."}
)

// resumeDoc tells clients how to read and resume a stream.
const resumeDoc = "\n\nThe response body never ends on its own: read it incrementally, event by event (an SSE client such as EventSource, " +
	"or a streaming read of the body), never as a whole; a client that buffers the body waits forever. " +
	"Each event is an `event:` line naming it, a JSON `data:` line and, on most, an `id:` line. " +
	"The stream first sends `retry: 2000` (the reconnection delay, in ms). " +
	"To resume, send the last id received in the Last-Event-ID header (EventSource does so itself when it reconnects) " +
	"or, from a new connection, as the `last_event_id` query parameter: the server replays what followed it while it still holds it, " +
	"and otherwise sends a fresh snapshot: task events without ids, ended by a `snapshot_end` event that carries the id to resume from."

func lastEventID(header, query string) string {
	if header != "" {
		return header // a reconnecting EventSource: newer than its URL's query
	}
	return query
}

// EventsInput opens the caller's event stream.
type EventsInput struct {
	LastEventID string   `header:"Last-Event-ID" doc:"Resume after this event (browsers send it when they reconnect)"`
	LastEventQ  string   `query:"last_event_id" doc:"Resume after this event, for a new connection (a new EventSource cannot set Last-Event-ID); the header wins"`
	AccessToken string   `query:"access_token" doc:"An events token (create-events-token) for clients that cannot set headers; a full API token is refused here"`
	Kind        []string `query:"kind" doc:"Only tasks of these kinds"`
}

// TaskEventsInput opens one task's event stream.
type TaskEventsInput struct {
	ID          int64  `path:"id" minimum:"1" doc:"Task id"`
	LastEventID string `header:"Last-Event-ID" doc:"Resume after this event (browsers send it when they reconnect)"`
	LastEventQ  string `query:"last_event_id" doc:"Resume after this event, for a new connection (a new EventSource cannot set Last-Event-ID); the header wins"`
	AccessToken string `query:"access_token" doc:"An events token (create-events-token) for clients that cannot set headers; a full API token is refused here"`
}

// EventsTokenOutput is a short-lived token for EventSource.
type EventsTokenOutput struct {
	Body struct {
		Token     string    `json:"token" doc:"Pass as ?access_token= to the event streams"`
		ExpiresAt time.Time `json:"expires_at" doc:"When the token stops working; ask for a new one before then"`
	}
}

// heartbeat is how often an idle stream sends a comment, and re-checks its
// token.
const heartbeat = 15 * time.Second

// reconnectMS is the reconnection delay a stream asks of its client.
const reconnectMS = 2000

func registerEvents(api huma.API, d Deps) {
	tags := []string{"Events"}
	slots := newStreamSlots(d.streamsPerUser())
	limits := fmt.Sprintf("\n\nLimits: each user may hold %d open event streams per server process (both operations count; "+
		"admins too); one more is refused with 429 and Retry-After. A stream ends when the token it was opened with, "+
		"or the API token that minted that events token, is revoked or expires, and after at most %s: "+
		"the server then sends a retry hint and closes it, and the client reconnects with a fresh token.",
		d.streamsPerUser(), shortDuration(d.streamMaxLife()))
	opAll := huma.Operation{
		OperationID: "stream-events", Method: http.MethodGet, Path: Prefix + "/events",
		Summary: "Stream your tasks' events",
		Description: "Server-Sent Events for every change of your tasks (admins: all tasks), their progress, and your alerts. " +
			fmt.Sprintf("It starts with a snapshot of tasks in flight or finished in the last 10 minutes (the newest %d at most; ", d.snapshotTasks()) +
			"each without arguments, and without its result when that is large: fetch the task), then streams live. " +
			"It sends task, progress, alert and snapshot_end events." + resumeDoc + limits,
		Tags: tags, Security: bearer, Metadata: map[string]any{"events": true}, Errors: []int{http.StatusTooManyRequests},
	}
	streamDoc(api, &opAll, []streamEvent{taskStreamEvent, progressStreamEvent, workflowStreamEvent, alertStreamEvent, snapshotEndStreamEvent})
	huma.Register(api, opAll, func(ctx context.Context, in *EventsInput) (*huma.StreamResponse, error) {
		p := principal(ctx)
		release, err := slots.acquire(p.UserID)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		return &huma.StreamResponse{Body: func(hctx huma.Context) {
			defer release()
			f := progress.Filter{Caller: p, Kinds: in.Kind}
			snapshot := func(ctx context.Context) ([]progress.Event, bool, error) {
				// One more than the limit tells whether the snapshot is cut.
				limit := d.snapshotTasks()
				ts, err := d.Tasks.Snapshot(ctx, p, 10*time.Minute, limit+1)
				if err != nil {
					return nil, false, err
				}
				truncated := len(ts) > limit
				if truncated {
					ts = ts[:limit] // newest first: the oldest goes
				}
				evs := make([]progress.Event, 0, len(ts))
				for i := len(ts) - 1; i >= 0; i-- {
					if len(in.Kind) == 0 || contains(in.Kind, ts[i].Kind) {
						evs = append(evs, progress.SnapshotEvent(ts[i]))
					}
				}
				return evs, truncated, nil
			}
			serveStream(hctx, d, grant(ctx), f, lastEventID(in.LastEventID, in.LastEventQ), snapshot, nil)
		}}, nil
	})

	opOne := huma.Operation{
		OperationID: "stream-task-events", Method: http.MethodGet, Path: Prefix + "/tasks/{id}/events",
		Summary: "Stream one task's events",
		Description: "Server-Sent Events for one task: its current state first, then every change and progress report; " +
			"the stream ends after the task finishes. It sends task, progress and snapshot_end events (alerts go to stream-events only)." +
			resumeDoc + limits,
		Tags: tags, Security: bearer, Metadata: map[string]any{"events": true},
		Errors: []int{http.StatusNotFound, http.StatusTooManyRequests},
	}
	streamDoc(api, &opOne, []streamEvent{taskStreamEvent, progressStreamEvent, snapshotEndStreamEvent})
	huma.Register(api, opOne, func(ctx context.Context, in *TaskEventsInput) (*huma.StreamResponse, error) {
		p := principal(ctx)
		if _, err := d.Tasks.Get(ctx, p, in.ID); err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		release, err := slots.acquire(p.UserID)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		return &huma.StreamResponse{Body: func(hctx huma.Context) {
			defer release()
			snapshot := func(ctx context.Context) ([]progress.Event, bool, error) {
				t, err := d.Tasks.Get(ctx, p, in.ID)
				if err != nil {
					return nil, false, err
				}
				return []progress.Event{progress.SnapshotEvent(t)}, false, nil
			}
			done := func(e progress.Event) bool { return e.Task != nil && e.Task.State.Finished() }
			serveStream(hctx, d, grant(ctx), progress.Filter{Caller: p, TaskID: in.ID}, lastEventID(in.LastEventID, in.LastEventQ), snapshot, done)
		}}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "create-events-token", Method: http.MethodPost, Path: Prefix + "/events/token",
		Summary: "Get a token for EventSource",
		Description: "Browsers' EventSource cannot send an Authorization header: this returns a token that opens your event streams " +
			"(and nothing else) for two minutes, to pass as ?access_token=. It dies with the API token that minted it: " +
			"revoking that ends the streams it opened.",
		Tags: tags, Security: bearer,
	}, func(ctx context.Context, _ *struct{}) (*EventsTokenOutput, error) {
		tok, exp, err := d.Auth.CreateEventsToken(ctx, grant(ctx))
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		out := &EventsTokenOutput{}
		out.Body.Token, out.Body.ExpiresAt = tok, exp
		return out, nil
	})
}

// serveStream subscribes, sends the replay or the snapshot, then streams
// live events with heartbeats until the client leaves, the hub drops a slow
// client, done says the stream is complete, the grant's token is revoked
// (announced by the hub, or found by the re-check at each heartbeat when
// the announcement was missed), or the stream has lived its maximum life.
func serveStream(hctx huma.Context, d Deps, g auth.Grant, f progress.Filter, lastID string,
	snapshot func(context.Context) (evs []progress.Event, truncated bool, err error), done func(progress.Event) bool) {
	ctx := hctx.Context()
	_, w := humachi.Unwrap(hctx)
	f.Tokens = g.Tokens()
	sub, replay, caughtUp, cursor := d.Hub.Subscribe(f, lastID)
	defer sub.Close()

	s := newStream(w)
	if s.retry(reconnectMS) != nil {
		return
	}
	// Subscribed before reading the snapshot: nothing can fall in between.
	if !caughtUp {
		// The snapshot's events carry no id: a client that drops in the
		// middle keeps the id it came with and gets the whole snapshot
		// again. Only the closing snapshot_end carries one, the hub's
		// position when the snapshot was read, which resumes after it.
		evs, truncated, err := snapshot(ctx)
		if err != nil {
			d.Logger.WarnContext(ctx, "event_snapshot_failed", "err", err)
			return
		}
		finished := false
		for _, e := range evs {
			name, data := sseEvent(e)
			if s.event(name, "", data) != nil {
				return
			}
			finished = finished || (done != nil && done(e))
		}
		if s.event(snapshotEndStreamEvent.name, cursor, SnapshotEnd{Count: len(evs), Truncated: truncated}) != nil || finished {
			return
		}
	}
	for _, e := range replay {
		if e.Revoked != nil {
			_ = s.comment("token revoked")
			return
		}
		name, data := sseEvent(e)
		if s.event(name, e.ID, data) != nil {
			return
		}
		if done != nil && done(e) {
			return
		}
	}

	// Streams opened together (after a deploy) should not all end together.
	life := d.streamMaxLife()
	life -= rand.N(life/10 + 1)
	expire := time.NewTimer(life)
	defer expire.Stop()
	tick := time.NewTicker(d.heartbeat())
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-expire.C:
			// The client reconnects, authenticating again (a fresh events
			// token), and resumes from its last event id.
			if s.retry(reconnectMS) == nil {
				_ = s.comment("stream expired: reconnect")
			}
			return
		case <-tick.C:
			if valid, err := d.Auth.StillValid(ctx, g); err != nil {
				if ctx.Err() != nil {
					return
				}
				// The database is unreachable: keep streaming (nothing new
				// arrives either), check again at the next heartbeat.
				d.Logger.WarnContext(ctx, "event_stream_token_check_failed", "err", err)
			} else if !valid {
				// Revoked or expired (or, for an events token past its two
				// minutes, deleted by cleanup_expired_tokens: then the client
				// simply reconnects with a fresh one).
				_ = s.comment("token no longer valid")
				return
			}
			if s.comment("keep-alive") != nil {
				return
			}
		case batch, ok := <-sub.C:
			if !ok {
				return // dropped for falling behind: the client reconnects and resumes
			}
			for _, e := range batch {
				if e.Revoked != nil {
					_ = s.comment("token revoked")
					return
				}
				if s.write(e.Encoded(liveFrame)) != nil {
					return
				}
				if done != nil && done(e) {
					return
				}
			}
		}
	}
}

// liveFrame encodes a live event; each is encoded once for all streams.
func liveFrame(e progress.Event) []byte {
	name, data := sseEvent(e)
	return encodeEvent(name, e.ID, data)
}

// shortDuration writes 1h for 1h0m0s and 30m for 30m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
