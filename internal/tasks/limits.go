package tasks

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store"
)

// Limits keep one user from slowing down or starving the others. Each is
// refused with inbox.ErrLimited (the API's 429) or, for input that can never
// be accepted, inbox.ErrInvalid (422). Admins are exempt from the queued,
// rate and schedule limits: they operate the service.
type Limits struct {
	// MaxQueued is how many unfinished tasks one user may have.
	MaxQueued int
	// CreatesPerMinute is how many tasks one user may start per minute
	// (a token bucket: a burst of this many, refilled evenly).
	CreatesPerMinute int
	// MaxSchedules is how many schedules one user may keep.
	MaxSchedules int
	// MinScheduleInterval is the shortest time between two runs of a
	// user's schedule.
	MinScheduleInterval time.Duration
	// RunAtHorizon is how far ahead a task may be scheduled.
	RunAtHorizon time.Duration
}

// DefaultLimits are the limits when the configuration says nothing.
func DefaultLimits() Limits {
	return Limits{
		MaxQueued:           5000,
		CreatesPerMinute:    600,
		MaxSchedules:        50,
		MinScheduleInterval: time.Minute,
		RunAtHorizon:        365 * 24 * time.Hour,
	}
}

// checkCreate applies the per-user limits on starting a task, inside the
// creating transaction. The rate bucket's row lock serializes one user's
// creations, so the queued count cannot be overrun by a burst of parallel
// requests.
func (s *Service) checkCreate(ctx context.Context, st *store.Store, p inbox.Principal, runAt time.Time) error {
	if !runAt.IsZero() && s.limits.RunAtHorizon > 0 && time.Until(runAt) > s.limits.RunAtHorizon {
		return inbox.Invalid("run_at", "run_at may be at most %s ahead", humanDuration(s.limits.RunAtHorizon))
	}
	return s.checkCreateN(ctx, st, p, 1)
}

// checkCreateN applies the rate and queued limits to one start of n tasks
// (a workflow's steps): it takes one start from the rate bucket, and the n
// tasks must fit under the queued limit.
func (s *Service) checkCreateN(ctx context.Context, st *store.Store, p inbox.Principal, n int) error {
	if p.IsAdmin() {
		return nil
	}
	if rate := s.limits.CreatesPerMinute; rate > 0 {
		wait, err := st.QuotaTake(ctx, createBucket(p), 1, float64(rate)/60, float64(rate))
		if err != nil {
			return err
		}
		if wait > 0 {
			return &inbox.LimitError{
				Msg:        fmt.Sprintf("you may start at most %d tasks a minute; try again in %s", rate, humanDuration(wait)),
				RetryAfter: wait,
			}
		}
	}
	if most := s.limits.MaxQueued; most > 0 {
		queued, err := st.TaskCountUnfinished(ctx, p.UserID, most)
		if err != nil {
			return err
		}
		switch {
		case queued >= most:
			return &inbox.LimitError{Msg: fmt.Sprintf("you have %d unfinished tasks, the most allowed; wait for some to finish or cancel some", most)}
		case queued+n > most:
			return &inbox.LimitError{Msg: fmt.Sprintf("these %d tasks and your %d unfinished ones would pass the most allowed, %d; wait for some to finish or cancel some", n, queued, most)}
		}
	}
	return nil
}

// checkScheduleLimits applies the per-user limits on a schedule: how many,
// and how often it may fire. @every must be positive for everyone.
func (s *Service) checkScheduleLimits(ctx context.Context, p inbox.Principal, expr, tz string, creating bool) error {
	if rest, ok := strings.CutPrefix(strings.TrimSpace(expr), "@every "); ok {
		d, err := time.ParseDuration(strings.TrimSpace(rest))
		if err != nil || d <= 0 {
			return inbox.Invalid("cron", "cron %q: @every needs a positive duration such as 5m", expr)
		}
	}
	if p.IsAdmin() {
		return nil
	}
	if min := s.limits.MinScheduleInterval; min > 0 {
		if gap, ok := shortestGap(expr, tz); ok && gap < min {
			return inbox.Invalid("cron", "cron %q fires every %s; schedules may fire at most every %s", expr, humanDuration(gap), humanDuration(min))
		}
	}
	if n := s.limits.MaxSchedules; creating && n > 0 {
		have, err := s.store.ScheduleCount(ctx, p.UserID)
		if err != nil {
			return err
		}
		if have >= n {
			return &inbox.LimitError{Msg: fmt.Sprintf("you have %d schedules, the most allowed; delete one first", have)}
		}
	}
	return nil
}

// shortestGap is the shortest time between the next 50 ticks of a cron
// expression (ok=false if it does not parse; ParseCron reports that).
func shortestGap(expr, tz string) (time.Duration, bool) {
	sched, err := cronParser.Parse(expr)
	if err != nil {
		return 0, false
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		loc = time.UTC
	}
	var gap time.Duration
	prev := sched.Next(time.Now().In(loc))
	for range 50 {
		next := sched.Next(prev)
		if next.IsZero() {
			break
		}
		if d := next.Sub(prev); gap == 0 || d < gap {
			gap = d
		}
		prev = next
	}
	return gap, gap > 0
}

// humanDuration prints a duration as people read it: 1m, 2h, 365 days, 3s.
func humanDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return strconv.Itoa(int(d.Hours()/24)) + " days"
	case d >= time.Hour && d%time.Hour == 0:
		return strconv.Itoa(int(d.Hours())) + "h"
	case d >= time.Minute && d%time.Minute == 0:
		return strconv.Itoa(int(d.Minutes())) + "m"
	case d >= time.Second:
		return strconv.Itoa(int((d+time.Second-1)/time.Second)) + "s"
	}
	return d.String()
}

// CreateQuota is the state of a user's task-creation bucket.
type CreateQuota struct {
	// Limit is the bucket's size: the tasks one may start in a burst (and per minute).
	Limit int
	// Remaining is how many tasks one may start now.
	Remaining int
	// Reset is how long until the bucket is full again.
	Reset time.Duration
}

// CreateQuota reads the caller's creation bucket without taking from it;
// ok is false when no rate limit applies (admins, or none configured).
func (s *Service) CreateQuota(ctx context.Context, p inbox.Principal) (q CreateQuota, ok bool, err error) {
	n := s.limits.CreatesPerMinute
	if n <= 0 || p.IsAdmin() {
		return CreateQuota{}, false, nil
	}
	rate := float64(n) / 60
	tokens, err := s.store.QuotaPeek(ctx, createBucket(p), rate, float64(n))
	if err != nil {
		return CreateQuota{}, false, err
	}
	tokens = max(tokens, 0)
	return CreateQuota{
		Limit: n, Remaining: int(tokens),
		Reset: time.Duration((float64(n) - tokens) / rate * float64(time.Second)),
	}, true, nil
}

// createBucket names a user's task-creation bucket in gmail_quota.
func createBucket(p inbox.Principal) string { return "api:create:" + strconv.FormatInt(p.UserID, 10) }
