package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/inboxq/inboxq/internal/tasks"
)

// QueueListOutput lists the queues.
type QueueListOutput struct {
	Body struct {
		Queues []Queue `json:"queues" doc:"Every queue, by name"`
	}
}

// QueueNameInput names a queue.
type QueueNameInput struct {
	Name string `path:"name" maxLength:"64" doc:"Queue name"`
}

// StatsOutput is what the dashboard's charts read.
type StatsOutput struct {
	Body struct {
		Counts     []TaskCount       `json:"counts" doc:"Tasks by kind, queue and state"`
		Throughput []ThroughputPoint `json:"throughput" doc:"Completions and failures per minute over the last hour, oldest first"`
	}
}

// TaskCount is a number of tasks of one kind, in one queue and state.
type TaskCount struct {
	Kind  string `json:"kind" doc:"Task kind"`
	Queue string `json:"queue" doc:"Queue name"`
	State string `json:"state" doc:"Task state (one of TaskState)"`
	Tasks int64  `json:"tasks" doc:"How many tasks"`
}

// ThroughputPoint is one minute.
type ThroughputPoint struct {
	Minute    time.Time `json:"minute" doc:"Start of the minute"`
	Completed int64     `json:"completed" doc:"Tasks completed during that minute"`
	Failed    int64     `json:"failed" doc:"Tasks that failed for good during that minute"`
}

// AlertListInput filters alerts.
type AlertListInput struct {
	Unread   bool   `query:"unread" doc:"Only unread alerts"`
	BeforeID int64  `query:"before_id" minimum:"0" deprecated:"true" doc:"Deprecated: use cursor. Alerts older than this id"`
	Limit    int    `query:"limit" minimum:"1" maximum:"500" default:"50" doc:"Page size"`
	Cursor   string `query:"cursor" maxLength:"64" doc:"next_cursor of the previous page"`
}

// AlertListOutput lists alerts, newest first.
type AlertListOutput struct {
	Body struct {
		Alerts     []Alert `json:"alerts" doc:"Alerts, newest first"`
		NextCursor string  `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last page"`
	}
}

// MarkReadInput names alerts to mark read.
type MarkReadInput struct {
	Body struct {
		IDs []int64 `json:"ids" minItems:"1" maxItems:"1000" doc:"Alert ids (1 to 1000); ids that are not yours are ignored"`
	}
}

// MarkReadOutput says how many alerts changed.
type MarkReadOutput struct {
	Body struct {
		Marked int64 `json:"marked" doc:"Alerts that were unread and are now read"`
	}
}

// SystemHealthOutput is the latest health check.
type SystemHealthOutput struct {
	Body struct {
		CheckedAt   time.Time    `json:"checked_at" doc:"When the check ran"`
		DBLatencyMS float64      `json:"db_latency_ms" doc:"One database round trip, in milliseconds"`
		Queues      []QueueDepth `json:"queues" doc:"Unfinished jobs per queue and state when the check ran"`
		Report      healthReport `json:"report" doc:"The monitor's full report: stuck jobs, failure rate, alerts raised and resolved"`
	}
}

func registerQueues(api huma.API, d Deps) {
	svc := d.Tasks
	huma.Register(api, huma.Operation{
		OperationID: "list-queues", Method: http.MethodGet, Path: Prefix + "/queues",
		Summary: "List queues", Description: "Every queue with its paused flag and, for your own tasks (admins: everyone's), depth per state, running tasks, oldest wait and recent throughput. Tasks beyond your fair share of a queue wait as pending.",
		Tags: []string{"Queues"}, Security: bearer,
	}, func(ctx context.Context, _ *struct{}) (*QueueListOutput, error) {
		qs, err := svc.Queues(ctx, principal(ctx))
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		out := &QueueListOutput{}
		out.Body.Queues = make([]Queue, len(qs))
		for i, q := range qs {
			out.Body.Queues[i] = queueView(q)
		}
		return out, nil
	})
	for _, pause := range []bool{true, false} {
		id, verb, path := "pause-queue", "Pause", "/pause"
		if !pause {
			id, verb, path = "resume-queue", "Resume", "/resume"
		}
		huma.Register(api, huma.Operation{
			OperationID: id, Method: http.MethodPost, Path: Prefix + "/queues/{name}" + path,
			Summary:     verb + " a queue (admins)",
			Description: "Pausing stops every process from taking new jobs from the queue (running jobs finish); it survives restarts.",
			Tags:        []string{"Queues"}, Security: bearer, DefaultStatus: http.StatusNoContent,
			Errors: []int{http.StatusForbidden, http.StatusNotFound},
		}, func(ctx context.Context, in *QueueNameInput) (*struct{}, error) {
			var err error
			if pause {
				err = svc.PauseQueue(ctx, principal(ctx), in.Name)
			} else {
				err = svc.ResumeQueue(ctx, principal(ctx), in.Name)
			}
			return nil, problem(ctx, d.Logger, err)
		})
	}

	huma.Register(api, huma.Operation{
		OperationID: "get-stats", Method: http.MethodGet, Path: Prefix + "/stats",
		Summary: "Task statistics", Description: "Your tasks (admins: all) by kind and state, and completions and failures per minute over the last hour.",
		Tags: []string{"Stats"}, Security: bearer,
	}, func(ctx context.Context, _ *struct{}) (*StatsOutput, error) {
		st, err := svc.Stats(ctx, principal(ctx))
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		out := &StatsOutput{}
		out.Body.Counts = make([]TaskCount, len(st.Counts))
		for i, c := range st.Counts {
			out.Body.Counts[i] = TaskCount{Kind: c.Kind, Queue: c.Queue, State: string(c.State), Tasks: c.Tasks}
		}
		out.Body.Throughput = make([]ThroughputPoint, len(st.Throughput))
		for i, p := range st.Throughput {
			out.Body.Throughput[i] = ThroughputPoint(p)
		}
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "list-alerts", Method: http.MethodGet, Path: Prefix + "/alerts",
		Summary: "List alerts", Description: "Your alerts, newest first; admins also see the health monitor's.",
		Tags: []string{"Alerts"}, Security: bearer,
	}, func(ctx context.Context, in *AlertListInput) (out *AlertListOutput, err error) {
		before := in.BeforeID
		if in.Cursor != "" {
			if before, err = tasks.DecodeCursor(in.Cursor); err != nil {
				return nil, badCursor(in.Cursor)
			}
		}
		// One more than asked says whether there is a next page.
		as, err := svc.Alerts(ctx, principal(ctx), in.Unread, before, in.Limit+1)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		out = &AlertListOutput{}
		if len(as) > in.Limit {
			as = as[:in.Limit]
			out.Body.NextCursor = tasks.EncodeCursor(as[len(as)-1].ID)
		}
		out.Body.Alerts = make([]Alert, len(as))
		for i, a := range as {
			out.Body.Alerts[i] = alertView(a)
		}
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "mark-alerts-read", Method: http.MethodPost, Path: Prefix + "/alerts/read",
		Summary: "Mark alerts read", Description: "Marks your alerts (admins: system alerts too) read; ids that are not yours are ignored. Returns how many changed.",
		Tags: []string{"Alerts"}, Security: bearer,
	}, func(ctx context.Context, in *MarkReadInput) (*MarkReadOutput, error) {
		n, err := svc.MarkAlertsRead(ctx, principal(ctx), in.Body.IDs)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		out := &MarkReadOutput{}
		out.Body.Marked = n
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "get-system-health", Method: http.MethodGet, Path: Prefix + "/system/health",
		Summary: "Latest health check (admins)", Description: "What the health monitor (a system task, every minute) measured last: database latency, queue depths and waits, stuck jobs, failure rate, and the alerts it raised or resolved. 404 before its first run.",
		Tags: []string{"Stats"}, Security: bearer,
		Errors: []int{http.StatusForbidden, http.StatusNotFound},
	}, func(ctx context.Context, _ *struct{}) (*SystemHealthOutput, error) {
		if !principal(ctx).IsAdmin() {
			return nil, huma.Error403Forbidden("admins only")
		}
		hc, err := svc.Health(ctx)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		out := &SystemHealthOutput{}
		out.Body.CheckedAt, out.Body.DBLatencyMS, out.Body.Queues = hc.CheckedAt, float64(hc.DBLatency.Microseconds())/1000, depthViews(hc.Queues)
		out.Body.Report = healthReport(hc.Report)
		return out, nil
	})
}
