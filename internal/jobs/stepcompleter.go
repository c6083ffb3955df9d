package jobs

import (
	"context"
	"log/slog"
	"slices"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertype"

	"github.com/inboxq/inboxq/internal/store"
)

// StepCompleter completes workflow steps as soon as their work returns,
// instead of leaving them to River's batch completer, which records a
// completion up to 250 ms later when few jobs are finishing: a step's
// dependents are released in the transaction that completes it, so that
// wait would be every fan-in's delay. Steps finishing while a completion
// transaction runs are completed together in the next one (group commit),
// each with river.JobCompleteTx (which also stores what the step
// recorded), in workflow order so that two processes never lock the same
// workflows in opposite orders. When that transaction fails, the steps are
// left to River's completer, as any job: nothing is lost, a release only
// comes later.
type StepCompleter struct {
	river.MiddlewareDefaults
	Store  *store.Store
	Logger *slog.Logger

	mu      sync.Mutex
	queue   []*stepDone
	running bool
}

type stepDone struct {
	ctx  context.Context
	job  *rivertype.JobRow
	done chan struct{}
}

// Work runs the job, then completes it at once if it is a workflow step
// that succeeded.
func (c *StepCompleter) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	err := doInner(ctx)
	if err != nil || WorkflowOf(job) == 0 {
		return err
	}
	d := &stepDone{ctx: ctx, job: job, done: make(chan struct{})}
	c.mu.Lock()
	c.queue = append(c.queue, d)
	lead := !c.running
	c.running = true
	c.mu.Unlock()
	if lead {
		c.flush()
	}
	<-d.done
	return nil
}

// flush completes what is queued, again while more arrived meanwhile; the
// goroutine that found the completer idle runs it.
func (c *StepCompleter) flush() {
	for {
		c.mu.Lock()
		batch := c.queue
		c.queue = nil
		if len(batch) == 0 {
			c.running = false
			c.mu.Unlock()
			return
		}
		c.mu.Unlock()
		c.complete(batch)
		for _, d := range batch {
			close(d.done)
		}
	}
}

func (c *StepCompleter) complete(batch []*stepDone) {
	slices.SortFunc(batch, func(a, b *stepDone) int {
		if wa, wb := WorkflowOf(a.job), WorkflowOf(b.job); wa != wb {
			return int(min(max(wa-wb, -1), 1))
		}
		return int(min(max(a.job.ID-b.job.ID, -1), 1))
	})
	ctx := context.WithoutCancel(batch[0].ctx)
	err := c.Store.InTx(ctx, func(tx pgx.Tx, _ *store.Store) error {
		for _, d := range batch {
			// A step that completed itself (CompleteGrowing) is not
			// running any more: River says so with ErrNotFound.
			_, err := river.JobCompleteTx[*riverpgxv5.Driver](context.WithoutCancel(d.ctx), tx, &river.Job[noArgs]{JobRow: d.job})
			if err != nil && err != rivertype.ErrNotFound {
				return err
			}
		}
		return nil
	})
	if err != nil && c.Logger != nil {
		c.Logger.WarnContext(ctx, "workflow_step_completion_deferred", slog.Int("steps", len(batch)), slog.Any("err", err))
	}
}
