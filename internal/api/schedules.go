package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/tasks"
)

// ScheduleOutput is one schedule.
type ScheduleOutput struct {
	Body Schedule
}

// ScheduleListOutput lists schedules.
type ScheduleListOutput struct {
	Body struct {
		Schedules  []Schedule `json:"schedules" doc:"Schedules, oldest first"`
		NextCursor string     `json:"next_cursor,omitempty" doc:"Pass as cursor for the next page; absent on the last page"`
	}
}

// PageInput pages a list: limit and cursor.
type PageInput struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"500" default:"100" doc:"Page size"`
	Cursor string `query:"cursor" maxLength:"64" doc:"next_cursor of the previous page"`
}

// ScheduleIDInput names a schedule.
type ScheduleIDInput struct {
	ID int64 `path:"id" minimum:"1" doc:"Schedule id"`
}

// CreateScheduleInput is a raw body validated per kind.
type CreateScheduleInput struct {
	RawBody []byte
}

// UpdateScheduleInput changes a schedule; absent fields stay.
type UpdateScheduleInput struct {
	ID   int64 `path:"id" minimum:"1" doc:"Schedule id"`
	Body struct {
		Name     *string         `json:"name,omitempty" minLength:"1" maxLength:"100" doc:"New name"`
		Cron     *string         `json:"cron,omitempty" minLength:"1" maxLength:"200" doc:"New cron expression: five fields, an optional leading seconds field, or @hourly / @every 10m" example:"0 3 * * *"`
		Timezone *string         `json:"timezone,omitempty" doc:"New IANA time zone, e.g. Europe/Paris"`
		Args     json.RawMessage `json:"args,omitempty" doc:"New args, checked against the kind's schema"`
		Priority *int            `json:"priority,omitempty" minimum:"1" maximum:"4" doc:"New priority of the tasks it starts, 1 (highest) to 4"`
		Enabled  *bool           `json:"enabled,omitempty" doc:"false pauses the schedule; true resumes it"`
	}
}

type scheduleBody struct {
	Kind string `json:"kind"`
	scheduleFields
}

func registerSchedules(api huma.API, d Deps, ks *kindSchemas) {
	svc := d.Tasks
	tags := []string{"Schedules"}

	huma.Register(api, huma.Operation{
		OperationID: "create-schedule", Method: http.MethodPost, Path: Prefix + "/schedules",
		Summary: "Create a recurring task",
		Description: "At each tick of the cron expression (in its time zone) the task is started once, owned by you. " +
			scheduleLimits(svc.Limits()),
		Tags: tags, Security: bearer, DefaultStatus: http.StatusCreated, MaxBodyBytes: maxBody,
		Errors: []int{http.StatusBadRequest, http.StatusForbidden, http.StatusConflict, http.StatusUnprocessableEntity, http.StatusTooManyRequests},
	}, func(ctx context.Context, in *CreateScheduleInput) (*ScheduleOutput, error) {
		var body scheduleBody
		kind, args, err := ks.decodeBody(in.RawBody, scheduleFields{}, &body, true)
		if err != nil {
			return nil, err
		}
		sp := tasks.ScheduleParams{Name: body.Name, Cron: body.Cron, Timezone: body.Timezone, Kind: kind, Args: args,
			Priority: body.Priority, Enabled: body.Enabled == nil || *body.Enabled}
		if sp.Timezone == "" {
			sp.Timezone = "UTC"
		}
		if sp.Priority == 0 {
			sp.Priority = 2
		}
		s, err := svc.CreateSchedule(ctx, principal(ctx), sp)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		return &ScheduleOutput{Body: scheduleView(s)}, nil
	})
	setJSONBody(api, http.MethodPost, Prefix+"/schedules", ks.bodySchema("CreateScheduleRequest", "Schedule", scheduleFields{}, "name", "cron"), "The schedule: name, cron, time zone, and the task's kind and args")

	huma.Register(api, huma.Operation{
		OperationID: "list-schedules", Method: http.MethodGet, Path: Prefix + "/schedules",
		Summary: "List recurring tasks", Description: "Your schedules, oldest first; admins see every schedule, built-in ones included.",
		Tags: tags, Security: bearer,
	}, func(ctx context.Context, in *PageInput) (*ScheduleListOutput, error) {
		ss, err := svc.Schedules(ctx, principal(ctx))
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		out := &ScheduleListOutput{}
		// Read whole (a user keeps at most Limits.MaxSchedules), then paged.
		ss, out.Body.NextCursor, err = pageOf(ss, func(s inbox.Schedule) int64 { return s.ID }, false, in.Cursor, in.Limit)
		if err != nil {
			return nil, err
		}
		out.Body.Schedules = make([]Schedule, len(ss))
		for i, s := range ss {
			out.Body.Schedules[i] = scheduleView(s)
		}
		return out, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "get-schedule", Method: http.MethodGet, Path: Prefix + "/schedules/{id}",
		Summary: "Get a recurring task", Description: "One of your schedules (admins: any), with its next and last run and the task it last started. Another user's schedule is a 404.",
		Tags: tags, Security: bearer, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *ScheduleIDInput) (*ScheduleOutput, error) {
		s, err := svc.Schedule(ctx, principal(ctx), in.ID)
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		return &ScheduleOutput{Body: scheduleView(s)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "update-schedule", Method: http.MethodPatch, Path: Prefix + "/schedules/{id}",
		Summary:     "Change a recurring task",
		Description: "Changes name, cron, time zone, args, priority or enabled; the kind is fixed. Changing the timing recomputes the next run.",
		Tags:        tags, Security: bearer, Errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity},
	}, func(ctx context.Context, in *UpdateScheduleInput) (*ScheduleOutput, error) {
		b := in.Body
		if b.Args != nil {
			cur, err := svc.Schedule(ctx, principal(ctx), in.ID)
			if err != nil {
				return nil, problem(ctx, d.Logger, err)
			}
			if err := ks.validateArgs(cur.Kind, b.Args); err != nil {
				return nil, err
			}
		}
		s, err := svc.UpdateSchedule(ctx, principal(ctx), in.ID, tasks.ScheduleChange{
			Name: b.Name, Cron: b.Cron, Timezone: b.Timezone, Args: b.Args, Priority: b.Priority, Enabled: b.Enabled,
		})
		if err != nil {
			return nil, problem(ctx, d.Logger, err)
		}
		return &ScheduleOutput{Body: scheduleView(s)}, nil
	})

	huma.Register(api, huma.Operation{
		OperationID: "delete-schedule", Method: http.MethodDelete, Path: Prefix + "/schedules/{id}",
		Summary: "Delete a recurring task", Description: "Tasks it already started are not touched.",
		Tags: tags, Security: bearer, DefaultStatus: http.StatusNoContent, Errors: []int{http.StatusNotFound},
	}, func(ctx context.Context, in *ScheduleIDInput) (*struct{}, error) {
		return nil, problem(ctx, d.Logger, svc.DeleteSchedule(ctx, principal(ctx), in.ID))
	})
}

// scheduleLimits describes the limits on schedules, as configured.
func scheduleLimits(l tasks.Limits) string {
	out := "@every needs a positive duration."
	if l.MinScheduleInterval > 0 {
		out += fmt.Sprintf(" A schedule may fire at most every %s (422 otherwise).", l.MinScheduleInterval)
	}
	if l.MaxSchedules > 0 {
		out += fmt.Sprintf(" You may keep %d schedules (429 beyond).", l.MaxSchedules)
	}
	return out + " Admins are exempt from the interval and count limits. Due schedules are started owner by owner, in turn."
}
