package store

import (
	"context"
	"time"

	"github.com/inboxq/inboxq/internal/store/dbsqlc"
)

// WorkerHeartbeat records that the working process clientID is alive.
func (s *Store) WorkerHeartbeat(ctx context.Context, clientID, host string, pid int) error {
	return translate(s.q.WorkerHeartbeat(ctx, dbsqlc.WorkerHeartbeatParams{ClientID: clientID, Host: host, Pid: int32(pid)}), "recording a worker heartbeat")
}

// WorkerStopped records that the process clientID stopped gracefully.
func (s *Store) WorkerStopped(ctx context.Context, clientID string) error {
	return translate(s.q.WorkerStopped(ctx, clientID), "recording a worker stop")
}

// WorkerForget deletes the rows of processes gone for a day.
func (s *Store) WorkerForget(ctx context.Context) error {
	return translate(s.q.WorkerForget(ctx), "forgetting old workers")
}

// ReapParams say which running jobs no process will finish.
type ReapParams struct {
	// Me is the calling process; Busy the jobs it still runs or has just
	// finished (River may still be recording them).
	Me   string
	Busy []int64
	// Grace spares jobs fetched this recently (not yet seen as Busy).
	Grace time.Duration
	// DeadAfter is how long without a heartbeat makes a process dead.
	DeadAfter time.Duration
}

// ReapedJob is a job handed back, with its new River state.
type ReapedJob struct {
	ID      int64
	State   string
	Crashed bool // its process died (the attempt counted)
}

// WorkerJobsReap hands back running jobs of dead processes, of processes
// that stopped, and this process's jobs it no longer runs (see
// queries/worker.sql).
func (s *Store) WorkerJobsReap(ctx context.Context, p ReapParams) ([]ReapedJob, error) {
	busy := p.Busy
	if busy == nil {
		busy = []int64{} // = ANY(NULL) would spare every job
	}
	rows, err := s.q.WorkerJobsReap(ctx, dbsqlc.WorkerJobsReapParams{
		Me: p.Me, Busy: busy, GraceSeconds: p.Grace.Seconds(), DeadAfterSeconds: p.DeadAfter.Seconds(),
	})
	if err != nil {
		return nil, translate(err, "handing back lost jobs")
	}
	out := make([]ReapedJob, len(rows))
	for i, r := range rows {
		out[i] = ReapedJob{ID: r.ID, State: r.State, Crashed: r.Crashed != nil && *r.Crashed}
	}
	return out, nil
}
