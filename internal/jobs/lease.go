package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivershared/startstop"
	"github.com/riverqueue/river/rivertype"

	"github.com/inboxq/inboxq/internal/store"
)

// Lease hands back, within about half a minute, the jobs no process will
// finish, which River's rescuer would otherwise leave running for its
// rescue delay (RescueDelay, minutes):
//   - the jobs of a process that died (kill -9, lost machine): every
//     working process beats a heartbeat into inboxq_worker, and the others
//     hand back the jobs of one that has not beaten for DeadAfter. Only a
//     process that has itself beaten for DeadAfter judges: after a
//     database outage every heartbeat is stale, the live ones' too;
//   - the jobs that ended while the database was unreachable, whose end
//     River gave up recording (its completer retries for seconds): the
//     process finds its own running jobs it no longer runs, and a process
//     that stopped gracefully is handed back at once.
//
// A process that cannot beat for FenceAfter (shorter than DeadAfter)
// cancels its running jobs, which snooze: they must not go on calling
// Gmail while another process may already be taking them over.
//
// Lease is a lifecycle service; its Middleware must be in the River client
// of the same process (Config.Lease does that), and ClientID must be that
// client's id.
type Lease struct {
	startstop.BaseStartStop

	store  *store.Store
	logger *slog.Logger
	cfg    LeaseConfig
	host   string

	mu        sync.Mutex
	jobs      map[int64]*leasedJob
	lastBeat  time.Time // last successful heartbeat (monotonic)
	beatError error
	// beatingSince is when the current run of successful heartbeats began.
	// Only after DeadAfter of it may this process judge another dead: after
	// an outage every heartbeat is stale, the live processes' too.
	beatingSince time.Time
}

// LeaseConfig tunes a Lease; zero values take the defaults.
type LeaseConfig struct {
	// ClientID is the River client's id (Config.ID of NewClient).
	ClientID string
	// Beat is how often the heartbeat is written and lost jobs are looked
	// for (5 s).
	Beat time.Duration
	// DeadAfter is how long without a heartbeat makes a process dead
	// (30 s).
	DeadAfter time.Duration
	// FenceAfter is how long this process may go without a heartbeat
	// before it cancels its running jobs (20 s; less than DeadAfter).
	FenceAfter time.Duration
	// Settle is how long after a job's end River may still be recording
	// it (30 s; its completer gives up after three tries of at most 5 s).
	Settle time.Duration
}

type leasedJob struct {
	cancel  context.CancelCauseFunc
	endedAt time.Time // zero while it runs
}

// errFenced is the cause of a job cancelled because the lease lapsed.
var errFenced = errors.New("this process lost its lease (no heartbeat reached the database)")

// NewLease returns a lease for the River client cfg.ClientID.
func NewLease(st *store.Store, cfg LeaseConfig, logger *slog.Logger) *Lease {
	if cfg.Beat <= 0 {
		cfg.Beat = 5 * time.Second
	}
	if cfg.DeadAfter <= 0 {
		cfg.DeadAfter = 30 * time.Second
	}
	if cfg.FenceAfter <= 0 || cfg.FenceAfter >= cfg.DeadAfter {
		cfg.FenceAfter = cfg.DeadAfter * 2 / 3
	}
	if cfg.Settle <= 0 {
		cfg.Settle = 30 * time.Second
	}
	host, _ := os.Hostname()
	return &Lease{store: st, logger: logger, cfg: cfg, host: host, jobs: map[int64]*leasedJob{}}
}

// NewClientID returns a River client id unique to this process start.
func NewClientID() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s_%d_%s_%04x", host, os.Getpid(), time.Now().UTC().Format("20060102T150405"), rand.IntN(1<<16))
}

// Start beats once, then beats and looks for lost jobs until Stop. The
// first heartbeat is written before Start returns: River, started after
// the lease, must fetch no job for a process the others cannot see yet (a
// process killed between its first fetch and its first heartbeat left its
// jobs to River's rescuer, minutes, with a workflow waiting on them). It
// does not wait for the database longer than that one try (at most Beat).
func (l *Lease) Start(ctx context.Context) error {
	ctx, shouldStart, started, stopped := l.StartInit(ctx)
	if !shouldStart {
		return nil
	}
	started()
	l.mu.Lock()
	l.lastBeat = time.Now()
	l.mu.Unlock()
	ok := l.tick(ctx)
	go func() {
		defer stopped()
		for {
			wait := l.cfg.Beat/2 + rand.N(l.cfg.Beat) // on average every Beat
			if !ok {
				wait = min(wait, time.Second) // back as soon as the database is
			}
			select {
			case <-ctx.Done():
				l.stop(context.WithoutCancel(ctx))
				return
			case <-time.After(wait):
			}
			ok = l.tick(ctx)
		}
	}()
	return nil
}

// tick beats and, when that worked, hands back lost jobs; it reports
// whether the heartbeat reached the database.
func (l *Lease) tick(ctx context.Context) bool {
	bctx, cancel := context.WithTimeout(ctx, l.cfg.Beat)
	err := l.store.WorkerHeartbeat(bctx, l.cfg.ClientID, l.host, os.Getpid())
	cancel()
	l.mu.Lock()
	now := time.Now()
	switch {
	case err == nil && l.beatError != nil, err == nil && l.beatingSince.IsZero():
		l.lastBeat, l.beatError, l.beatingSince = now, nil, now
	case err == nil:
		l.lastBeat = now
	default:
		l.beatError = err
	}
	judge := now.Sub(l.beatingSince) >= l.cfg.DeadAfter
	lapsed := time.Since(l.lastBeat) > l.cfg.FenceAfter
	if lapsed {
		for _, j := range l.jobs {
			if j.endedAt.IsZero() {
				j.cancel(errFenced)
			}
		}
	}
	l.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil {
			l.logger.WarnContext(ctx, "lease_heartbeat_failed", slog.Bool("fenced", lapsed), slog.Any("err", err))
		}
		return false
	}
	deadAfter := l.cfg.DeadAfter
	if !judge {
		deadAfter = neverDead
	}
	l.reap(ctx, l.busy(now), l.cfg.Beat*2, deadAfter)
	if rand.IntN(720) == 0 { // about once an hour per process
		if err := l.store.WorkerForget(ctx); err != nil {
			l.logger.WarnContext(ctx, "lease_forget_failed", slog.Any("err", err))
		}
	}
	return true
}

// stop runs once River has stopped (the supervisor stops the lease after
// the client): whatever this process still holds in the database was not
// finished, so it is handed back, and the stop is recorded for the others.
func (l *Lease) stop(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	l.reap(ctx, l.busy(time.Time{}), 0, neverDead)
	if err := l.store.WorkerStopped(ctx, l.cfg.ClientID); err != nil {
		l.logger.WarnContext(ctx, "lease_stop_unrecorded", slog.String("hint",
			"the jobs this process still held are handed back by another process once the database answers"), slog.Any("err", err))
	}
}

// neverDead, as a reap's dead-after, judges no other process dead.
const neverDead = 100 * 365 * 24 * time.Hour

func (l *Lease) reap(ctx context.Context, busy []int64, grace, deadAfter time.Duration) {
	reaped, err := l.store.WorkerJobsReap(ctx, store.ReapParams{Me: l.cfg.ClientID, Busy: busy, Grace: grace, DeadAfter: deadAfter})
	if err != nil {
		if ctx.Err() == nil {
			l.logger.WarnContext(ctx, "lease_reap_failed", slog.Any("err", err))
		}
		return
	}
	for _, j := range reaped {
		l.logger.WarnContext(ctx, "job_handed_back", slog.Int64("job_id", j.ID), slog.String("state", j.State), slog.Bool("worker_crashed", j.Crashed))
	}
}

// busy lists the jobs this process runs, and those that ended within
// Settle of now (River may still be recording them); a zero now lists only
// the running ones. It forgets jobs that ended before that.
func (l *Lease) busy(now time.Time) []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	ids := make([]int64, 0, len(l.jobs))
	for id, j := range l.jobs {
		switch {
		case j.endedAt.IsZero():
			ids = append(ids, id)
		case now.IsZero():
		case now.Sub(j.endedAt) < l.cfg.Settle:
			ids = append(ids, id)
		default:
			delete(l.jobs, id)
		}
	}
	return ids
}

// Ready is an error while the heartbeat does not reach the database.
func (l *Lease) Ready(context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.beatError != nil {
		return fmt.Errorf("heartbeat failing: %w", l.beatError)
	}
	return nil
}

// Middleware tracks the jobs this process runs and fences them.
func (l *Lease) Middleware() rivertype.WorkerMiddleware { return leaseMiddleware{l} }

type leaseMiddleware struct{ l *Lease }

func (leaseMiddleware) IsMiddleware() bool { return true }

func (m leaseMiddleware) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	m.l.mu.Lock()
	m.l.jobs[job.ID] = &leasedJob{cancel: cancel}
	m.l.mu.Unlock()
	err := doInner(ctx)
	m.l.mu.Lock()
	m.l.jobs[job.ID].endedAt = time.Now()
	m.l.mu.Unlock()
	if err != nil && errors.Is(context.Cause(ctx), errFenced) {
		return river.JobSnooze(outageSnooze) // not the job's failure
	}
	return err
}
