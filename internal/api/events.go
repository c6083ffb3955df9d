package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humachi"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/progress"
)

// TaskEvent is a task's new state: sent when it changes, and as a snapshot
// on connect.
type TaskEvent struct {
	ID          int64           `json:"id" doc:"Task id"`
	Kind        string          `json:"kind"`
	Queue       string          `json:"queue"`
	State       string          `json:"state" enum:"pending,scheduled,running,cancelling,retrying,completed,failed,cancelled"`
	Change      string          `json:"change" enum:"snapshot,created,started,requeued,scheduled,cancelling,retrying,completed,failed,cancelled" doc:"What happened"`
	Attempt     int             `json:"attempt"`
	MaxAttempts int             `json:"max_attempts"`
	Priority    int             `json:"priority"`
	Error       string          `json:"error,omitempty" doc:"The latest attempt's error (retrying, failed)"`
	Result      json.RawMessage `json:"result,omitempty" doc:"The task's output when completed (omitted when large: fetch the task)"`
	Progress    *ProgressEvent  `json:"progress,omitempty" doc:"Latest progress (snapshots only)"`
	At          time.Time       `json:"at"`
}

// ProgressEvent is a task's newly reported progress.
type ProgressEvent struct {
	ID         int64     `json:"id" doc:"Task id"`
	Done       int64     `json:"done"`
	Total      *int64    `json:"total,omitempty" doc:"Absent while unknown"`
	Percent    *float64  `json:"percent,omitempty"`
	Stage      string    `json:"stage,omitempty"`
	Message    string    `json:"message,omitempty"`
	Rate       float64   `json:"rate" doc:"Items per second, recently"`
	ETASeconds *float64  `json:"eta_seconds,omitempty" doc:"Estimated time left at the recent rate"`
	At         time.Time `json:"at"`
}

// AlertEvent is a new notification.
type AlertEvent struct {
	ID       int64     `json:"id"`
	Severity string    `json:"severity" enum:"info,warning,critical"`
	Title    string    `json:"title"`
	Message  string    `json:"message"`
	TaskID   *int64    `json:"task_id,omitempty"`
	System   bool      `json:"system" doc:"A health alert, for admins"`
	At       time.Time `json:"at"`
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
			MaxAttempts: t.MaxAttempts, Priority: t.Priority, Error: t.Error, Result: t.Result, At: t.At}
		if string(te.Result) == "null" {
			te.Result = nil
		}
		if t.Progress != nil {
			te.Progress = progressEvent(e.TaskID(), *t.Progress)
		}
		return "task", te
	case e.Progress != nil:
		p := e.Progress
		return "progress", progressEvent(p.ID, inbox.Progress{Done: p.Done, Total: p.Total, Stage: p.Stage, Message: p.Message, Rate: p.Rate, UpdatedAt: p.At})
	default:
		a := e.Alert
		return "alert", AlertEvent{ID: a.ID, Severity: a.Severity, Title: a.Title, Message: a.Message, TaskID: a.TaskID, System: a.Owner == nil, At: a.At}
	}
}

var eventTypes = map[string]any{"task": TaskEvent{}, "progress": ProgressEvent{}, "alert": AlertEvent{}}

// EventsInput opens the caller's event stream.
type EventsInput struct {
	LastEventID string   `header:"Last-Event-ID" doc:"Resume after this event (browsers send it when they reconnect)"`
	AccessToken string   `query:"access_token" doc:"An events token (create-events-token) for clients that cannot set headers; a full API token is refused here"`
	Kind        []string `query:"kind" doc:"Only tasks of these kinds"`
}

// TaskEventsInput opens one task's event stream.
type TaskEventsInput struct {
	ID          int64  `path:"id" minimum:"1"`
	LastEventID string `header:"Last-Event-ID"`
	AccessToken string `query:"access_token" doc:"An events token (create-events-token) for clients that cannot set headers; a full API token is refused here"`
}

// EventsTokenOutput is a short-lived token for EventSource.
type EventsTokenOutput struct {
	Body struct {
		Token     string    `json:"token" doc:"Pass as ?access_token= to the event streams"`
		ExpiresAt time.Time `json:"expires_at"`
	}
}

// heartbeat is how often an idle stream sends a comment.
const heartbeat = 15 * time.Second

func registerEvents(api huma.API, d Deps) {
	tags := []string{"Events"}
	opAll := huma.Operation{
		OperationID: "stream-events", Method: http.MethodGet, Path: Prefix + "/events",
		Summary: "Stream your tasks' events",
		Description: "Server-Sent Events for every change of your tasks (admins: all tasks), their progress, and your alerts. " +
			"It starts with a snapshot of tasks in flight or finished in the last 10 minutes, then streams live. " +
			"Reconnect with Last-Event-ID to resume without gaps.",
		Tags: tags, Security: bearer, Metadata: map[string]any{"events": true},
	}
	streamDoc(api, &opAll, eventTypes)
	huma.Register(api, opAll, func(ctx context.Context, in *EventsInput) (*huma.StreamResponse, error) {
		p := principal(ctx)
		return &huma.StreamResponse{Body: func(hctx huma.Context) {
			f := progress.Filter{Caller: p, Kinds: in.Kind}
			snapshot := func(ctx context.Context) ([]progress.Event, error) {
				ts, err := d.Tasks.Snapshot(ctx, p, 10*time.Minute, 200)
				if err != nil {
					return nil, err
				}
				evs := make([]progress.Event, 0, len(ts))
				for i := len(ts) - 1; i >= 0; i-- {
					if len(in.Kind) == 0 || contains(in.Kind, ts[i].Kind) {
						evs = append(evs, progress.SnapshotEvent(ts[i]))
					}
				}
				return evs, nil
			}
			serveStream(hctx, d, f, in.LastEventID, snapshot, nil)
		}}, nil
	})

	opOne := huma.Operation{
		OperationID: "stream-task-events", Method: http.MethodGet, Path: Prefix + "/tasks/{id}/events",
		Summary:     "Stream one task's events",
		Description: "Server-Sent Events for one task: its current state first, then every change and progress report; the stream ends after the task finishes.",
		Tags:        tags, Security: bearer, Metadata: map[string]any{"events": true}, Errors: []int{http.StatusNotFound},
	}
	streamDoc(api, &opOne, eventTypes)
	huma.Register(api, opOne, func(ctx context.Context, in *TaskEventsInput) (*huma.StreamResponse, error) {
		p := principal(ctx)
		if _, err := d.Tasks.Get(ctx, p, in.ID); err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		return &huma.StreamResponse{Body: func(hctx huma.Context) {
			snapshot := func(ctx context.Context) ([]progress.Event, error) {
				t, err := d.Tasks.Get(ctx, p, in.ID)
				if err != nil {
					return nil, err
				}
				return []progress.Event{progress.SnapshotEvent(t)}, nil
			}
			done := func(e progress.Event) bool { return e.Task != nil && e.Task.State.Finished() }
			serveStream(hctx, d, progress.Filter{Caller: p, TaskID: in.ID}, in.LastEventID, snapshot, done)
		}}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "create-events-token", Method: http.MethodPost, Path: Prefix + "/events/token",
		Summary:     "Get a token for EventSource",
		Description: "Browsers' EventSource cannot send an Authorization header: this returns a token that opens your event streams (and nothing else) for two minutes, to pass as ?access_token=.",
		Tags:        tags, Security: bearer,
	}, func(ctx context.Context, _ *struct{}) (*EventsTokenOutput, error) {
		tok, exp, err := d.Auth.CreateEventsToken(ctx, principal(ctx))
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
// client, or done says the stream is complete.
func serveStream(hctx huma.Context, d Deps, f progress.Filter, lastID string,
	snapshot func(context.Context) ([]progress.Event, error), done func(progress.Event) bool) {
	ctx := hctx.Context()
	_, w := humachi.Unwrap(hctx)
	sub, replay, caughtUp, cursor := d.Hub.Subscribe(f, lastID)
	defer sub.Close()

	s := newStream(w)
	if s.retry(2000) != nil {
		return
	}
	// Subscribed before reading the snapshot: nothing can fall in between.
	if !caughtUp {
		evs, err := snapshot(ctx)
		if err != nil {
			d.Logger.WarnContext(ctx, "event_snapshot_failed", "err", err)
			return
		}
		replay = evs
	}
	for _, e := range replay {
		id := e.ID
		if id == "" {
			id = cursor
		}
		name, data := sseEvent(e)
		if s.event(name, id, data) != nil {
			return
		}
		if done != nil && done(e) {
			return
		}
	}

	tick := time.NewTicker(d.heartbeat())
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if s.comment("keep-alive") != nil {
				return
			}
		case batch, ok := <-sub.C:
			if !ok {
				return // dropped for falling behind: the client reconnects and resumes
			}
			for _, e := range batch {
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

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
