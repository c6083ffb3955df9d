package tasks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/robfig/cron/v3"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store"
)

// cronParser accepts standard five-field expressions, an optional leading
// seconds field, and descriptors such as @hourly or @every 10m.
var cronParser = cron.NewParser(cron.SecondOptional | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ParseCron validates a cron expression and time zone and returns the
// schedule's next tick after now.
func ParseCron(expr, tz string, now time.Time) (time.Time, error) {
	if strings.Contains(expr, "TZ=") {
		return time.Time{}, inbox.Invalid("cron", "put the time zone in the timezone field, not the cron expression")
	}
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "" || strings.EqualFold(tz, "local") {
		return time.Time{}, inbox.Invalid("timezone", "timezone %q is not an IANA time zone such as UTC or Europe/Paris", tz)
	}
	sched, err := cronParser.Parse(expr)
	if err != nil {
		return time.Time{}, inbox.Invalid("cron", "cron %q: %s", expr, err.Error())
	}
	next := sched.Next(now.In(loc))
	if next.IsZero() {
		return time.Time{}, inbox.Invalid("cron", "cron %q never fires", expr)
	}
	return next.UTC(), nil
}

// ScheduleParams are a schedule's settable fields.
type ScheduleParams struct {
	Name     string
	Cron     string
	Timezone string
	Kind     string // fixed once created
	Args     json.RawMessage
	Priority int
	Enabled  bool
}

func (s *Service) checkSchedule(ctx context.Context, p inbox.Principal, sp ScheduleParams, creating bool) (*time.Time, error) {
	if n := len(strings.TrimSpace(sp.Name)); n == 0 || n > 100 {
		return nil, inbox.Invalid("name", "name must be 1-100 characters")
	}
	if sp.Priority < 1 || sp.Priority > 4 {
		return nil, inbox.Invalid("priority", "priority must be 1-4")
	}
	if sp.Priority == 1 && !p.IsAdmin() {
		return nil, inbox.Invalid("priority", "priority 1 is reserved for admins and system tasks; use 2 (high) to 4 (low)")
	}
	k, args, err := s.ValidateArgs(p, sp.Kind, sp.Args)
	if err != nil {
		return nil, err
	}
	if k.Check != nil {
		if err := k.Check(ctx, s.store, p.UserID, args); err != nil {
			return nil, err
		}
	}
	next, err := ParseCron(sp.Cron, sp.Timezone, time.Now())
	if err != nil {
		return nil, err
	}
	if err := s.checkScheduleLimits(ctx, p, sp.Cron, sp.Timezone, creating); err != nil {
		return nil, err
	}
	if !sp.Enabled {
		return nil, nil
	}
	return &next, nil
}

// CreateSchedule creates a schedule owned by the caller.
func (s *Service) CreateSchedule(ctx context.Context, p inbox.Principal, sp ScheduleParams) (inbox.Schedule, error) {
	next, err := s.checkSchedule(ctx, p, sp, true)
	if err != nil {
		return inbox.Schedule{}, err
	}
	owner := p.UserID
	args := sp.Args
	if len(args) == 0 {
		args = json.RawMessage(`{}`)
	}
	sc, err := s.store.ScheduleInsert(ctx, inbox.Schedule{
		OwnerID: &owner, Owner: p.Name, Name: strings.TrimSpace(sp.Name), Cron: sp.Cron, Timezone: sp.Timezone,
		Kind: sp.Kind, Args: args, Priority: sp.Priority, Enabled: sp.Enabled, NextRunAt: next,
	})
	if errors.Is(err, inbox.ErrConflict) {
		return inbox.Schedule{}, fmt.Errorf("you already have a schedule named %q: %w", sp.Name, inbox.ErrConflict)
	}
	return sc, err
}

// Schedules lists the caller's schedules (admins: all).
func (s *Service) Schedules(ctx context.Context, p inbox.Principal) ([]inbox.Schedule, error) {
	return s.store.ScheduleList(ctx, p.OwnerScope())
}

// Schedule returns one of the caller's schedules.
func (s *Service) Schedule(ctx context.Context, p inbox.Principal, id int64) (inbox.Schedule, error) {
	return s.store.ScheduleGet(ctx, id, p.OwnerScope())
}

// ScheduleChange is a partial update; nil fields stay as they are.
type ScheduleChange struct {
	Name     *string
	Cron     *string
	Timezone *string
	Args     json.RawMessage
	Priority *int
	Enabled  *bool
}

// UpdateSchedule changes one of the caller's schedules (admins: any). A
// change of cron, time zone or enabled recomputes the next run.
func (s *Service) UpdateSchedule(ctx context.Context, p inbox.Principal, id int64, ch ScheduleChange) (inbox.Schedule, error) {
	cur, err := s.store.ScheduleGet(ctx, id, p.OwnerScope())
	if err != nil {
		return inbox.Schedule{}, err
	}
	sp := ScheduleParams{Name: cur.Name, Cron: cur.Cron, Timezone: cur.Timezone, Kind: cur.Kind, Args: cur.Args, Priority: cur.Priority, Enabled: cur.Enabled}
	if ch.Name != nil {
		sp.Name = *ch.Name
	}
	if ch.Cron != nil {
		sp.Cron = *ch.Cron
	}
	if ch.Timezone != nil {
		sp.Timezone = *ch.Timezone
	}
	if ch.Args != nil {
		sp.Args = ch.Args
	}
	if ch.Priority != nil {
		sp.Priority = *ch.Priority
	}
	if ch.Enabled != nil {
		sp.Enabled = *ch.Enabled
	}
	// Args are checked as the schedule's owner would start them.
	owner := p
	if cur.OwnerID != nil && *cur.OwnerID != p.UserID {
		owner = inbox.Principal{UserID: *cur.OwnerID, Role: inbox.RoleUser}
	} else if cur.OwnerID == nil {
		owner = inbox.Principal{Role: inbox.RoleAdmin}
	}
	next, err := s.checkSchedule(ctx, owner, sp, false)
	if err != nil {
		return inbox.Schedule{}, err
	}
	timing := ch.Cron != nil || ch.Timezone != nil || ch.Enabled != nil
	if !timing && sp.Enabled {
		next = cur.NextRunAt // keep the pending tick
	}
	updated, err := s.store.ScheduleUpdate(ctx, inbox.Schedule{
		ID: id, Owner: cur.Owner, Name: strings.TrimSpace(sp.Name), Cron: sp.Cron, Timezone: sp.Timezone,
		Args: sp.Args, Priority: sp.Priority, Enabled: sp.Enabled, NextRunAt: next,
	})
	if errors.Is(err, inbox.ErrConflict) {
		return inbox.Schedule{}, fmt.Errorf("a schedule named %q already exists: %w", sp.Name, inbox.ErrConflict)
	}
	return updated, err
}

// DeleteSchedule deletes one of the caller's schedules (admins: any).
func (s *Service) DeleteSchedule(ctx context.Context, p inbox.Principal, id int64) error {
	return s.store.ScheduleDelete(ctx, id, p.OwnerScope())
}

// Scheduler starts the tasks of due schedules. Every process runs one, but
// only the process whose River client leads acts; and each tick is claimed
// with a row lock and a compare-and-set on next_run_at in the transaction
// that inserts the task, so a tick enqueues exactly once even while
// leadership moves. A tick missed while nobody led runs once, late; the
// ticks in between are not replayed.
type Scheduler struct {
	svc      *Service
	clientID func() string
	interval time.Duration
	logger   *slog.Logger
}

// NewScheduler returns a scheduler that checks for due schedules every
// interval on behalf of the River client with the given id.
func NewScheduler(svc *Service, clientID func() string, interval time.Duration, logger *slog.Logger) *Scheduler {
	return &Scheduler{svc: svc, clientID: clientID, interval: interval, logger: logger}
}

// fairSweepEvery is how many scheduler ticks pass between two repairs of
// the fair-share admission (inboxq_fair_sweep): rare races only.
const fairSweepEvery = 5

// Run checks for due schedules until ctx ends; the leader also repairs the
// fair-share admission every few ticks.
func (sc *Scheduler) Run(ctx context.Context) {
	t := time.NewTicker(sc.interval)
	defer t.Stop()
	sweep := 0
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		leader, err := sc.svc.store.RiverLeaderID(ctx)
		if err != nil {
			if ctx.Err() == nil {
				sc.logger.WarnContext(ctx, "scheduler_leader_check_failed", slog.Any("err", err))
			}
			continue
		}
		if leader != sc.clientID() {
			continue
		}
		if _, err := sc.Tick(ctx); err != nil && ctx.Err() == nil {
			sc.logger.ErrorContext(ctx, "scheduler_tick_failed", slog.Any("err", err))
		}
		if sweep++; sweep%fairSweepEvery == 0 {
			if _, err := sc.svc.store.FairSweep(ctx); err != nil && ctx.Err() == nil {
				sc.logger.WarnContext(ctx, "fair_sweep_failed", slog.Any("err", err))
			}
		}
	}
}

// Tick starts the tasks of every due schedule and returns how many it
// started.
func (sc *Scheduler) Tick(ctx context.Context) (int, error) {
	started := 0
	err := sc.svc.store.InTx(ctx, func(tx pgx.Tx, st *store.Store) error {
		due, err := st.ScheduleClaimDue(ctx, 100)
		if err != nil {
			return err
		}
		now := time.Now()
		for _, s := range due {
			next, err := ParseCron(s.Cron, s.Timezone, now)
			if err != nil {
				next = now.Add(24 * time.Hour) // unparseable (edited by hand): back off
			}
			taskID, err := sc.start(ctx, tx, st, s)
			if err != nil {
				sc.logger.WarnContext(ctx, "schedule_start_failed", slog.Int64("schedule_id", s.ID), slog.Any("err", err))
				if _, _, aerr := st.AlertRaise(ctx, inbox.Alert{
					UserID: s.OwnerID, Key: fmt.Sprintf("schedule:%d:failed", s.ID), Severity: inbox.SeverityWarning,
					Title: "Schedule " + s.Name + " could not start its task", Message: err.Error(),
				}); aerr != nil {
					return aerr
				}
			}
			ok, err := st.ScheduleAdvance(ctx, s.ID, *s.NextRunAt, next, now, taskID)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("schedule %d moved under its lock", s.ID)
			}
			if taskID != nil {
				started++
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return started, nil
}

// start inserts the schedule's task inside a savepoint, so a refusal (a kind
// no longer registered, args no longer valid) skips this tick only.
func (sc *Scheduler) start(ctx context.Context, tx pgx.Tx, st *store.Store, s inbox.Schedule) (*int64, error) {
	owner := inbox.Principal{Role: inbox.RoleAdmin} // built-in schedules
	if s.OwnerID != nil {
		owner = inbox.Principal{UserID: *s.OwnerID, Role: inbox.RoleUser}
		if u, err := st.UserGetByID(ctx, *s.OwnerID); err == nil {
			owner = u
		}
	}
	sp, err := tx.Begin(ctx)
	if err != nil {
		return nil, err
	}
	id := s.ID
	tick := *s.NextRunAt
	task, _, err := sc.svc.createTx(ctx, sp, store.WithTx(sp), owner, CreateParams{Kind: s.Kind, Args: s.Args, Priority: s.Priority, scheduleID: &id, scheduleTick: tick})
	if err != nil {
		_ = sp.Rollback(ctx)
		return nil, err
	}
	if err := sp.Commit(ctx); err != nil {
		return nil, err
	}
	return &task.ID, nil
}
