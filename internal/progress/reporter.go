// Package progress makes tasks observable live. Workers report progress
// through a Reporter, which coalesces reports into a bounded number of
// writes; each write stores the progress and raises a NOTIFY in the same
// statement, and triggers raise one for every task state change. Each
// process holds one LISTEN connection (Hub) and fans events out in memory to
// any number of subscribers.
package progress

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store"
)

// DefaultInterval is the least time between two progress writes of a task:
// at most four writes per second, however often a worker reports.
const DefaultInterval = 250 * time.Millisecond

// firstWrite is how soon after a job starts its first report is written.
const firstWrite = 50 * time.Millisecond

// Reporter records one task's progress. Methods are safe for concurrent use
// (workers fetching pages in parallel may share one). The latest state is
// always written: a report that arrives too soon after the last write is
// written when the interval ends, and Flush writes what is left.
type Reporter struct {
	store  *store.Store
	writer *Writer // nil: write directly
	logger *slog.Logger
	jobID  int64
	args   []byte // decoded for the owner on the first write
	meta   []byte // the job's metadata as fetched: an earlier attempt's final report
	owner  *int64
	kind   string
	every  time.Duration
	ctx    context.Context // for deferred writes; outlives the attempt briefly

	mu        sync.Mutex
	cur       inbox.Progress
	advanced  bool // Done grew during this attempt
	dirty     bool
	lastWrite time.Time
	timer     *time.Timer
	rateDone  int64
	rateAt    time.Time
	loaded    bool
	// stored: the task has a task_progress row (an earlier attempt's, or a
	// write of this one), so its final report goes there too; otherwise
	// it rides on River's state change at the attempt's end.
	stored bool
	// written is what the last write stored: a write that would show a
	// client nothing new (same done, total, stage and message) is skipped,
	// so it raises no event.
	written *inbox.Progress
}

func newReporter(ctx context.Context, st *store.Store, w *Writer, job *rivertype.JobRow, every time.Duration, logger *slog.Logger) *Reporter {
	now := time.Now()
	return &Reporter{store: st, writer: w, logger: logger, jobID: job.ID, args: job.EncodedArgs, meta: job.Metadata, kind: job.Kind, every: every,
		ctx: context.WithoutCancel(ctx), rateAt: now,
		// The first write waits firstWrite: a job that ends sooner writes
		// once, when it ends.
		lastWrite: now.Add(firstWrite - every),
		// A job fetched for the first time has nothing to continue from; one
		// fetched before (retried, snoozed, interrupted) may have.
		loaded: len(job.AttemptedBy) <= 1}
}

// ownerLocked decodes the task's owner from its args, once, for the first
// write that names it: a short task whose only report rides on River's
// state change never needs it.
func (r *Reporter) ownerLocked() *int64 {
	if r.args != nil {
		var owned struct {
			OwnerID *int64 `json:"owner_id"`
		}
		_ = json.Unmarshal(r.args, &owned)
		r.owner, r.args = owned.OwnerID, nil
	}
	return r.owner
}

// loadLocked reads what an earlier attempt reported, once, on the first
// report (a job that never reports costs no query): a retried task
// continues from there.
func (r *Reporter) loadLocked() {
	if r.loaded {
		return
	}
	r.loaded = true
	prev, err := r.store.ProgressGet(r.ctx, r.jobID)
	if err == nil {
		r.stored = true
	} else {
		var m map[string]json.RawMessage
		var f store.FinalProgress
		if json.Unmarshal(r.meta, &m) != nil || json.Unmarshal(m[store.ProgressMetadataKey], &f) != nil {
			return
		}
		prev = inbox.Progress{Done: f.Done, Total: f.Total, Stage: f.Stage, Message: f.Message}
	}
	r.cur = prev
	r.cur.Rate = 0
	r.rateDone = prev.Done
	r.written = &prev
}

// SetTotal sets the number of items the task will process.
func (r *Reporter) SetTotal(total int64) {
	r.update(func(p *inbox.Progress) { p.Total = &total })
}

// Set sets the number of items done.
func (r *Reporter) Set(done int64) {
	r.update(func(p *inbox.Progress) { p.Done = done })
}

// Add adds n items done.
func (r *Reporter) Add(n int64) {
	r.update(func(p *inbox.Progress) { p.Done += n })
}

// Stage names what the task is doing now, with an optional message.
func (r *Reporter) Stage(stage, message string) {
	r.update(func(p *inbox.Progress) { p.Stage, p.Message = stage, message })
}

// Current returns the latest reported progress.
func (r *Reporter) Current() inbox.Progress {
	if r == nil {
		return inbox.Progress{}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cur
}

func (r *Reporter) update(f func(*inbox.Progress)) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.loadLocked()
	before := r.cur.Done
	f(&r.cur)
	if r.cur.Done > before {
		r.advanced = true
	}
	r.dirty = true
	wait := r.every - time.Since(r.lastWrite)
	if wait <= 0 {
		r.writeLocked(r.ctx, false)
		return
	}
	if r.timer == nil {
		r.timer = time.AfterFunc(wait, func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.timer = nil
			if r.dirty {
				r.writeLocked(r.ctx, false)
			}
		})
	}
}

// Flush writes any unwritten progress now and returns once it is stored.
func (r *Reporter) Flush(ctx context.Context) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	if r.dirty {
		r.writeLocked(ctx, true)
	}
}

// writeLocked saves the current progress; r.mu is held. Periodic writes go
// to the process's Writer without waiting; final ones (wait) return once
// stored. A failed write is logged, not returned: progress must never fail
// the work it describes.
func (r *Reporter) writeLocked(ctx context.Context, wait bool) {
	if r.written != nil && sameVisible(*r.written, r.cur) {
		// Nothing a client shows changed (a report repeated the numbers):
		// no write, no event. The rate is left as last written.
		r.dirty = false
		return
	}
	now := time.Now()
	if dt := now.Sub(r.rateAt).Seconds(); dt >= 0.05 {
		inst := float64(r.cur.Done-r.rateDone) / dt
		if r.cur.Rate == 0 {
			r.cur.Rate = inst
		} else {
			r.cur.Rate = 0.5*inst + 0.5*r.cur.Rate
		}
		r.rateDone, r.rateAt = r.cur.Done, now
	}
	r.cur.UpdatedAt = now
	// The final report of an attempt that stored none rides on River's
	// state change (one statement per batch of jobs, already made): no
	// statement, no NOTIFY of its own, no wait. The update trigger
	// announces it. Outside River's work (a test's Reporter) MetadataSet
	// fails and the report is written as any other.
	if wait && !r.stored && SetMetadata(ctx, store.ProgressMetadataKey, store.NewFinalProgress(r.cur)) == nil {
		r.dirty = false
		written := r.cur
		r.written = &written
		return
	}
	up := store.ProgressUpdate{JobID: r.jobID, Owner: r.ownerLocked(), Kind: r.kind, Progress: r.cur}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var err error
	if r.writer != nil {
		err = r.writer.save(wctx, up, wait)
	} else {
		err = r.store.ProgressSave(wctx, up)
	}
	if err != nil {
		r.logger.WarnContext(ctx, "progress_write_failed", slog.Int64("job_id", r.jobID), slog.Any("err", err))
		return
	}
	r.dirty, r.lastWrite, r.stored = false, now, true
	written := r.cur
	r.written = &written
}

// sameVisible reports whether two progress reports show the same: done,
// total, stage and message (rate and time alone change every write).
func sameVisible(a, b inbox.Progress) bool {
	return a.Done == b.Done && a.Stage == b.Stage && a.Message == b.Message &&
		(a.Total == nil) == (b.Total == nil) && (a.Total == nil || *a.Total == *b.Total)
}

type reporterKey struct{}

// From returns the task's Reporter inside River's Work; outside a task (or
// without the middleware) it returns nil, whose methods do nothing.
func From(ctx context.Context) *Reporter {
	r, _ := ctx.Value(reporterKey{}).(*Reporter)
	return r
}

// Middleware gives every job a Reporter (see From) and flushes it when the
// attempt ends, whatever the outcome.
type Middleware struct {
	river.MiddlewareDefaults
	Store *store.Store
	// Writer batches the writes of all tasks; nil writes each directly.
	Writer   *Writer
	Interval time.Duration
	Logger   *slog.Logger
}

// Work implements rivertype.WorkerMiddleware.
func (m *Middleware) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	every := m.Interval
	if every <= 0 {
		every = DefaultInterval
	}
	r := newReporter(ctx, m.Store, m.Writer, job, every, m.Logger)
	err := doInner(context.WithValue(ctx, reporterKey{}, r))
	r.Flush(context.WithoutCancel(ctx))
	r.mu.Lock()
	advanced := r.advanced
	r.mu.Unlock()
	return overran(ctx, err, advanced, m.Logger)
}

// Overran applies the middleware's overrun rule to an error returned
// inside one of River's resumable steps (see jobs.Step): River reports a
// step's error from outside every middleware, where Middleware never sees
// it. ctx is the step's; on a timeout it has expired itself, so only a
// cancellation (a cancel, a shutdown) keeps the error as it is.
func Overran(ctx context.Context, err error) error {
	r := From(ctx)
	if r == nil || err == nil || errors.Is(ctx.Err(), context.Canceled) {
		return err
	}
	r.mu.Lock()
	advanced := r.advanced
	r.mu.Unlock()
	return overran(context.WithoutCancel(ctx), err, advanced, r.logger)
}

// overran turns the timeout of an attempt that made progress into a snooze:
// the job was working, slowly (a loaded machine, a slow page), and resumes
// from its checkpoint in a fresh attempt without spending one. A timeout
// with no progress stays an error, so a job that can never finish still
// runs out of attempts.
func overran(ctx context.Context, err error, advanced bool, logger *slog.Logger) error {
	// River sets the attempt's deadline inside this middleware, so ctx (the
	// outer context) is still live when the deadline fired; a cancel or a
	// shutdown ends ctx itself and is never turned into a snooze.
	if err == nil || !advanced || !errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		return err
	}
	if logger != nil {
		logger.WarnContext(context.WithoutCancel(ctx), "attempt_overran_its_timeout", slog.Any("err", err))
	}
	return river.JobSnooze(time.Second)
}
