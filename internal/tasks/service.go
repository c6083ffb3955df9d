// Package tasks is the task service: it turns River jobs into tasks that
// people and programs start, see and steer. It creates tasks (validated
// against the kind registry, enqueued transactionally), derives their view
// from river_job, and controls them: cancel, retry, bulk actions, dead
// letters, queues, schedules and stats. Every method is scoped to the
// calling principal: a user sees only their own tasks; admins see all.
package tasks

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/riverqueue/river"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/store"
)

// Limits on listing and bulk actions.
const (
	DefaultPageSize = 50
	MaxPageSize     = 500
	MaxBulk         = 1000
)

// Service is the task service.
type Service struct {
	store  *store.Store
	river  *jobs.Client
	kinds  *jobs.Registry
	limits Limits
	logger *slog.Logger
}

// NewService returns a task service with the default limits. client may be
// insert-only.
func NewService(st *store.Store, client *jobs.Client, kinds *jobs.Registry, logger *slog.Logger) *Service {
	return &Service{store: st, river: client, kinds: kinds, limits: DefaultLimits(), logger: logger}
}

// WithLimits sets the per-user limits; call it before the service is used.
func (s *Service) WithLimits(l Limits) *Service {
	s.limits = l
	return s
}

// Limits returns the per-user limits in force.
func (s *Service) Limits() Limits { return s.limits }

// UserBandPriority is the River priority of every user's task that is ready
// to run: users' tasks compete in one band, taken in turn by admission time
// (db/migrations/0011_fair_share.sql), and the priority a user asks for
// orders only their own backlog. Priority 1 is reserved for admins and the
// system.
const UserBandPriority = jobs.UserBandPriority

// Kinds returns the kind registry.
func (s *Service) Kinds() *jobs.Registry { return s.kinds }

// CreateParams describe a task to start.
type CreateParams struct {
	Kind        string
	Args        json.RawMessage
	Priority    int       // 1 (highest) … 4; 0 keeps the kind's default
	MaxAttempts int       // 0 keeps the kind's default
	RunAt       time.Time // zero: now

	scheduleID   *int64    // set by the scheduler
	scheduleTick time.Time // the tick the scheduler claimed
}

// Create starts a task. When the kind's uniqueness rule finds the same task
// already in flight, it returns that task and duplicate=true instead.
func (s *Service) Create(ctx context.Context, p inbox.Principal, cp CreateParams) (task inbox.Task, duplicate bool, err error) {
	err = s.store.InTx(ctx, func(tx pgx.Tx, st *store.Store) error {
		task, duplicate, err = s.createTx(ctx, tx, st, p, cp)
		return err
	})
	return task, duplicate, err
}

// ValidateArgs checks args for a kind the caller may start and returns
// them decoded, with the caller as their owner.
func (s *Service) ValidateArgs(p inbox.Principal, kind string, raw json.RawMessage) (jobs.Kind, river.JobArgs, error) {
	k, ok := s.kinds.Kind(kind)
	if !ok {
		return k, nil, inbox.Invalid("kind", "unknown kind %q; valid kinds: %s", kind, strings.Join(s.kinds.Names(), ", "))
	}
	if k.AdminOnly && !p.IsAdmin() {
		return k, nil, fmt.Errorf("only admins may start %s tasks: %w", kind, inbox.ErrForbidden)
	}
	args, err := k.NewArgs(raw, p.UserID)
	if err != nil {
		return k, nil, fmt.Errorf("%w: %w", err, inbox.ErrInvalid)
	}
	return k, args, nil
}

func (s *Service) createTx(ctx context.Context, tx pgx.Tx, st *store.Store, p inbox.Principal, cp CreateParams) (inbox.Task, bool, error) {
	k, args, err := s.ValidateArgs(p, cp.Kind, cp.Args)
	if err != nil {
		return inbox.Task{}, false, err
	}
	if k.Check != nil {
		if err := k.Check(ctx, st, p.UserID, args); err != nil {
			return inbox.Task{}, false, err
		}
	}
	if cp.Priority < 0 || cp.Priority > 4 {
		return inbox.Task{}, false, inbox.Invalid("priority", "priority must be 1-4")
	}
	if cp.Priority == 1 && !p.IsAdmin() {
		return inbox.Task{}, false, inbox.Invalid("priority", "priority 1 is reserved for admins and system tasks; use 2 (high) to 4 (low)")
	}
	if cp.MaxAttempts < 0 || cp.MaxAttempts > 100 {
		return inbox.Task{}, false, inbox.Invalid("max_attempts", "max_attempts must be 1-100")
	}
	if err := s.checkCreate(ctx, st, p, cp.RunAt); err != nil {
		return inbox.Task{}, false, err
	}
	opts := k.Opts // the kind's queue and uniqueness always hold
	if cp.Priority > 0 {
		opts.Priority = cp.Priority
	}
	if cp.MaxAttempts > 0 {
		opts.MaxAttempts = cp.MaxAttempts
	}
	opts.ScheduledAt = cp.RunAt
	md := map[string]any{}
	if !k.AdminOnly {
		// An owned task: its own priority orders its owner's backlog; River
		// sees the users' band (see UserBandPriority).
		md["priority"] = max(opts.Priority, 1)
		if opts.Priority != 1 {
			opts.Priority = UserBandPriority
		}
	}
	if cp.scheduleID != nil {
		md["schedule_id"], md["schedule_tick"] = *cp.scheduleID, cp.scheduleTick
	}
	if k.Notify {
		md["notify"] = true // read by the river_job trigger
	}
	if k.OnFailure != nil && k.Owned {
		return s.createWithCleanup(ctx, tx, st, p, k, args, cp, md)
	}
	if len(md) > 0 {
		opts.Metadata, _ = json.Marshal(md)
	}
	res, err := s.river.InsertTx(ctx, tx, args, &opts)
	if err != nil {
		return inbox.Task{}, false, fmt.Errorf("inserting task: %w", err)
	}
	task, err := st.TaskGet(ctx, res.Job.ID, p.OwnerScope())
	if errors.Is(err, inbox.ErrNotFound) && res.UniqueSkippedAsDuplicate {
		return inbox.Task{}, false, fmt.Errorf("an identical task is already in flight: %w", inbox.ErrConflict)
	}
	if err != nil {
		return inbox.Task{}, false, err
	}
	return task, res.UniqueSkippedAsDuplicate, nil
}

// Get returns one of the caller's tasks.
func (s *Service) Get(ctx context.Context, p inbox.Principal, id int64) (inbox.Task, error) {
	return s.store.TaskGet(ctx, id, p.OwnerScope())
}

// List returns a page of the caller's tasks, newest first, and the cursor
// of the next page ("" at the end).
func (s *Service) List(ctx context.Context, p inbox.Principal, f inbox.TaskFilter, cursor string) ([]inbox.Task, string, error) {
	if f.Limit <= 0 {
		f.Limit = DefaultPageSize
	}
	f.Limit = min(f.Limit, MaxPageSize)
	if cursor != "" {
		after, err := DecodeCursor(cursor)
		if err != nil {
			return nil, "", err
		}
		f.AfterID = after
	}
	want := f.Limit
	f.Limit++ // one more tells whether there is a next page
	tasks, err := s.store.TaskList(ctx, f, p.OwnerScope())
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(tasks) > want {
		tasks = tasks[:want]
		next = EncodeCursor(tasks[want-1].ID)
	}
	return tasks, next, nil
}

// Cancel cancels a queued task at once, or asks a running one to stop (it
// shows cancelling until its worker returns).
func (s *Service) Cancel(ctx context.Context, p inbox.Principal, id int64) (inbox.Task, error) {
	var out inbox.Task
	err := s.store.InTx(ctx, func(tx pgx.Tx, st *store.Store) error {
		var err error
		out, err = s.cancelTx(ctx, tx, st, p, id)
		return err
	})
	return out, err
}

func (s *Service) cancelTx(ctx context.Context, tx pgx.Tx, st *store.Store, p inbox.Principal, id int64) (inbox.Task, error) {
	t, err := st.TaskLock(ctx, id, p.OwnerScope())
	if err != nil {
		return inbox.Task{}, err
	}
	switch {
	case t.State.Finished():
		return inbox.Task{}, fmt.Errorf("task %d is already %s: %w", id, t.State, inbox.ErrConflict)
	case t.State == inbox.TaskCancelling:
		return inbox.Task{}, fmt.Errorf("task %d is already cancelling: %w", id, inbox.ErrConflict)
	}
	if _, err := s.river.JobCancelTx(ctx, tx, id); err != nil {
		return inbox.Task{}, fmt.Errorf("cancelling task %d: %w", id, err)
	}
	return st.TaskGet(ctx, id, p.OwnerScope())
}

// Retry runs a failed or cancelled task again, now, with a fresh attempt.
func (s *Service) Retry(ctx context.Context, p inbox.Principal, id int64) (inbox.Task, error) {
	var out inbox.Task
	err := s.store.InTx(ctx, func(tx pgx.Tx, st *store.Store) error {
		var err error
		out, err = s.retryTx(ctx, tx, st, p, id)
		return err
	})
	return out, err
}

func (s *Service) retryTx(ctx context.Context, tx pgx.Tx, st *store.Store, p inbox.Principal, id int64) (inbox.Task, error) {
	t, err := st.TaskLock(ctx, id, p.OwnerScope())
	if err != nil {
		return inbox.Task{}, err
	}
	if t.State != inbox.TaskFailed && t.State != inbox.TaskCancelled {
		return inbox.Task{}, fmt.Errorf("task %d is %s; only failed or cancelled tasks can be retried: %w", id, t.State, inbox.ErrConflict)
	}
	if t.WorkflowID != nil {
		// Its dependents were settled when it ended: retrying it alone
		// would leave them skipped. The workflow's retry runs it and them.
		return inbox.Task{}, fmt.Errorf("task %d is a step of workflow %d; retry the workflow: %w", id, *t.WorkflowID, inbox.ErrConflict)
	}
	if _, err := s.river.JobRetryTx(ctx, tx, id); err != nil {
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23505" {
			return inbox.Task{}, fmt.Errorf("an identical task is already in flight: %w", inbox.ErrConflict)
		}
		return inbox.Task{}, fmt.Errorf("retrying task %d: %w", id, err)
	}
	return st.TaskGet(ctx, id, p.OwnerScope())
}

// Selection picks tasks for a bulk action: explicit ids, or a filter.
type Selection struct {
	IDs    []int64
	Filter inbox.TaskFilter
	// All must be set to act on every visible task when neither ids nor a
	// filter narrow the selection: an empty selection is refused.
	All bool
}

// BulkResult reports a bulk action: which tasks it changed, which it
// skipped and why.
type BulkResult struct {
	Changed []inbox.Task
	Skipped []Skipped
}

// Skipped is a task a bulk action left alone.
type Skipped struct {
	ID     int64
	Reason string
}

// Selected reports whether the selection names tasks: ids, a filter, or all.
func (sel Selection) Selected() bool {
	f := sel.Filter
	return sel.All || len(sel.IDs) > 0 || len(f.States) > 0 || len(f.Kinds) > 0 || len(f.Queues) > 0 ||
		len(f.IDs) > 0 || !f.CreatedFrom.IsZero() || !f.CreatedTo.IsZero()
}

// CancelMany cancels up to MaxBulk tasks, in one transaction.
func (s *Service) CancelMany(ctx context.Context, p inbox.Principal, sel Selection) (BulkResult, error) {
	return s.bulk(ctx, p, sel, s.cancelTx)
}

// RetryMany retries up to MaxBulk failed or cancelled tasks, in one transaction.
func (s *Service) RetryMany(ctx context.Context, p inbox.Principal, sel Selection) (BulkResult, error) {
	return s.bulk(ctx, p, sel, s.retryTx)
}

type actionTx func(ctx context.Context, tx pgx.Tx, st *store.Store, p inbox.Principal, id int64) (inbox.Task, error)

func (s *Service) bulk(ctx context.Context, p inbox.Principal, sel Selection, act actionTx) (BulkResult, error) {
	if !sel.Selected() {
		return BulkResult{}, fmt.Errorf("say which tasks: ids, a filter (state, kind, queue, created_from, created_to), or all: true: %w", inbox.ErrInvalid)
	}
	ids := sel.IDs
	if len(ids) > MaxBulk {
		return BulkResult{}, fmt.Errorf("at most %d ids per request: %w", MaxBulk, inbox.ErrInvalid)
	}
	if len(ids) == 0 {
		f := sel.Filter
		f.Limit = MaxBulk
		found, err := s.store.TaskList(ctx, f, p.OwnerScope())
		if err != nil {
			return BulkResult{}, err
		}
		for _, t := range found {
			ids = append(ids, t.ID)
		}
	}
	res := BulkResult{Changed: []inbox.Task{}, Skipped: []Skipped{}}
	err := s.store.InTx(ctx, func(tx pgx.Tx, st *store.Store) error {
		for _, id := range ids {
			// A savepoint per task keeps one refusal from aborting the rest.
			sp, err := tx.Begin(ctx)
			if err != nil {
				return err
			}
			t, err := act(ctx, sp, store.WithTx(sp), p, id)
			switch {
			case err == nil:
				if err := sp.Commit(ctx); err != nil {
					return err
				}
				res.Changed = append(res.Changed, t)
			case errors.Is(err, inbox.ErrNotFound), errors.Is(err, inbox.ErrConflict):
				if err := sp.Rollback(ctx); err != nil {
					return err
				}
				res.Skipped = append(res.Skipped, Skipped{ID: id, Reason: reason(err)})
			default:
				return err
			}
		}
		return nil
	})
	if err != nil {
		return BulkResult{}, err
	}
	return res, nil
}

// reason is an error's message without the sentinel's suffix.
func reason(err error) string {
	if errors.Is(err, inbox.ErrNotFound) {
		return "not found"
	}
	return strings.TrimSuffix(err.Error(), ": "+inbox.ErrConflict.Error())
}

// Queues lists every queue with its load: the caller's own tasks, or
// everyone's for admins.
func (s *Service) Queues(ctx context.Context, p inbox.Principal) ([]inbox.Queue, error) {
	return s.store.QueueOverview(ctx, inbox.Queues(), p.OwnerScope())
}

// PauseQueue stops a queue's workers from taking new jobs (admins only).
func (s *Service) PauseQueue(ctx context.Context, p inbox.Principal, name string) error {
	return s.queueControl(ctx, p, name, true)
}

// ResumeQueue lets a paused queue's workers take jobs again (admins only).
func (s *Service) ResumeQueue(ctx context.Context, p inbox.Principal, name string) error {
	return s.queueControl(ctx, p, name, false)
}

func (s *Service) queueControl(ctx context.Context, p inbox.Principal, name string, pause bool) error {
	if !p.IsAdmin() {
		return fmt.Errorf("only admins may pause or resume queues: %w", inbox.ErrForbidden)
	}
	var err error
	if pause {
		err = s.river.QueuePause(ctx, name, nil)
	} else {
		err = s.river.QueueResume(ctx, name, nil)
	}
	if errors.Is(err, river.ErrNotFound) {
		return fmt.Errorf("queue %q: %w", name, inbox.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("changing queue %s: %w", name, err)
	}
	return nil
}

// Stats are the numbers the dashboard's charts read.
type Stats struct {
	Counts     []store.TaskCount
	Throughput []store.ThroughputPoint
}

// Stats counts the caller's tasks by kind and state, and their completions
// and failures per minute over the last hour.
func (s *Service) Stats(ctx context.Context, p inbox.Principal) (Stats, error) {
	counts, err := s.store.TaskCounts(ctx, p.OwnerScope())
	if err != nil {
		return Stats{}, err
	}
	tp, err := s.store.TaskThroughput(ctx, p.OwnerScope())
	if err != nil {
		return Stats{}, err
	}
	return Stats{Counts: counts, Throughput: tp}, nil
}

// Alerts lists the caller's alerts (admins also see system alerts).
func (s *Service) Alerts(ctx context.Context, p inbox.Principal, unreadOnly bool, beforeID int64, limit int) ([]inbox.Alert, error) {
	// MaxPageSize+1: a full page and one more, to tell whether another follows.
	if limit <= 0 || limit > MaxPageSize+1 {
		limit = DefaultPageSize
	}
	return s.store.AlertList(ctx, p, unreadOnly, beforeID, limit)
}

// MarkAlertsRead marks the caller's alerts read.
func (s *Service) MarkAlertsRead(ctx context.Context, p inbox.Principal, ids []int64) (int64, error) {
	if len(ids) > MaxBulk {
		return 0, fmt.Errorf("at most %d ids per request: %w", MaxBulk, inbox.ErrInvalid)
	}
	return s.store.AlertMarkRead(ctx, p, ids)
}

// Health returns the latest recorded health check.
func (s *Service) Health(ctx context.Context) (store.HealthCheck, error) {
	return s.store.HealthCheckLatest(ctx)
}

// EncodeCursor makes the opaque page cursor that resumes a list after the
// item with id. Every paged list of the API uses it.
func EncodeCursor(id int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte("t" + strconv.FormatInt(id, 10)))
}

// DecodeCursor reads a cursor made by EncodeCursor (inbox.ErrInvalid if it
// is not one).
func DecodeCursor(c string) (int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err == nil && len(raw) > 1 && raw[0] == 't' {
		if id, err := strconv.ParseInt(string(raw[1:]), 10, 64); err == nil && id > 0 {
			return id, nil
		}
	}
	return 0, inbox.Invalid("cursor", "cursor %q is not one this API returned", c)
}

// Snapshot returns the caller's tasks in flight and those finished within
// the window, newest first: what an event stream sends on connect.
func (s *Service) Snapshot(ctx context.Context, p inbox.Principal, window time.Duration, limit int) ([]inbox.Task, error) {
	return s.store.TaskActiveOrFinishedSince(ctx, p.OwnerScope(), time.Now().Add(-window), limit)
}
