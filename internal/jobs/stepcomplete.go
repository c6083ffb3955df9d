package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/inboxq/inboxq/internal/progress"
	"github.com/inboxq/inboxq/internal/store"
)

// StepCompleter completes workflow steps as soon as their work returns.
//
// River's completer commits completions in batches, every 250 ms unless
// 100 are waiting, and a step's completion is what releases its dependents
// (the workflow trigger, in the completing statement): a workflow's next
// step started up to a quarter of a second after the last of its
// dependencies had finished. Here each finished step is handed over as
// its worker returns and completed in one statement with whatever else
// finished meanwhile. River's completer still completes it when its batch
// comes; a completed job stays completed, and the triggers record and
// announce it once (migration 0029). Whatever this cannot complete (River
// holds the row, the statement fails, the process stops) River's
// completion does as before: this only makes it sooner.
//
// River's completion of a step waits until the statement that completes
// it here has ended (stepPilot), so that it finds the step completed and
// counted: it waits for no row this statement holds and takes no
// workflow's lock. Both completers otherwise raced for the same steps:
// River's statement waited for the rows this one held, and where River
// locked a step first (this statement skips it) River's counted it and held
// the workflow's row lock until its whole batch committed, while this
// statement waited for it (make bench, 2026-12-06: 35 lock waits over 10 ms
// in one BenchmarkWorkflowGroup, callback p99 44 ms). River's completer
// waits, not the worker: a worker held until the statement ended halved a
// 1,000-step group's throughput on 10 workers.
type StepCompleter struct {
	store   *store.Store
	logger  *slog.Logger
	in      chan handedStep
	stopped chan struct{} // closed when Run returns

	mu       sync.Mutex
	handed   map[int64]chan struct{} // by job id: steps whose statement has not ended
	awaitMax time.Duration           // the longest River's completer waits for them
}

// handedStep is a finished step and the channel closed once the statement
// that tried to complete it has ended.
type handedStep struct {
	store.FinishedStep
	done chan struct{}
}

// stepQueue bounds the steps waiting for a statement; beyond it a step
// is left to River's completer.
const stepQueue = 1000

// NewStepCompleter returns a StepCompleter; run it alongside the client.
func NewStepCompleter(st *store.Store, logger *slog.Logger) *StepCompleter {
	return &StepCompleter{store: st, logger: logger, in: make(chan handedStep, stepQueue),
		stopped: make(chan struct{}), handed: map[int64]chan struct{}{}, awaitMax: 30 * time.Second}
}

// Run completes steps until ctx ends; call it once. Steps handed over and
// not completed by then are River's to complete.
func (c *StepCompleter) Run(ctx context.Context) {
	defer close(c.stopped)
	for {
		var batch []handedStep
		select {
		case <-ctx.Done():
			return
		case s := <-c.in:
			batch = append(batch, s)
		}
	collect: // whatever finished meanwhile joins this statement
		for len(batch) < stepQueue {
			select {
			case s := <-c.in:
				batch = append(batch, s)
			default:
				break collect
			}
		}
		c.complete(ctx, batch)
	}
}

func (c *StepCompleter) complete(ctx context.Context, batch []handedStep) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	steps := make([]store.FinishedStep, len(batch))
	for i, s := range batch {
		steps[i] = s.FinishedStep
	}
	if _, err := c.store.WorkflowStepsComplete(ctx, steps); err != nil {
		// River's completer completes them.
		c.logger.WarnContext(ctx, "workflow_steps_left_to_river", slog.Int("steps", len(batch)), slog.Any("err", err))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range batch {
		delete(c.handed, s.JobID)
		close(s.done)
	}
}

// hand queues a finished step for the next statement; false when the
// queue is full.
func (c *StepCompleter) hand(step store.FinishedStep) bool {
	h := handedStep{step, make(chan struct{})}
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case c.in <- h:
		c.handed[step.JobID] = h.done
		return true
	default:
		return false
	}
}

// await returns once no statement still to end here is to complete any of
// the jobs; at once when ctx ends or the completer has stopped, and after
// awaitMax at the latest (a completer never run, a database that hangs:
// River's completion is then as it was without this one).
func (c *StepCompleter) await(ctx context.Context, ids []int64) {
	var wait []chan struct{}
	c.mu.Lock()
	if len(c.handed) > 0 {
		for _, id := range ids {
			if done, ok := c.handed[id]; ok {
				wait = append(wait, done)
			}
		}
	}
	c.mu.Unlock()
	if len(wait) == 0 {
		return
	}
	limit := time.NewTimer(c.awaitMax)
	defer limit.Stop()
	for _, done := range wait {
		select {
		case <-done:
		case <-c.stopped:
			return
		case <-ctx.Done():
			return
		case <-limit.C:
			c.logger.WarnContext(ctx, "workflow_steps_not_awaited", slog.Int("steps", len(wait)))
			return
		}
	}
}

// Middleware returns the worker middleware that hands finished workflow
// steps over. It must come before (outside) progress.Middleware: the last
// progress report is set as the attempt ends, and rides on the completion.
func (c *StepCompleter) Middleware() rivertype.WorkerMiddleware { return stepMiddleware{c} }

type stepMiddleware struct{ c *StepCompleter }

func (stepMiddleware) IsMiddleware() bool { return true }

var workflowKey = []byte(`"workflow_id"`)

func (m stepMiddleware) Work(ctx context.Context, job *rivertype.JobRow, doInner func(context.Context) error) error {
	// Most jobs are no workflow's steps: a byte search spares them the rest.
	if !bytes.Contains(job.Metadata, workflowKey) || WorkflowOf(job) == 0 {
		return doInner(ctx)
	}
	ctx, final := progress.WithFinal(ctx)
	err := doInner(ctx)
	// Only an attempt that plainly succeeded: a failed resumable step
	// (River records its error after this returns), a cancel or a timeout
	// are River's to record.
	if err != nil || ctx.Err() != nil || final.Failed() {
		return err
	}
	// River's completion of a step completed here must still reach River's
	// subscribers (metrics count outcomes from them). River's completer
	// updates a row that is no longer running only when it has metadata to
	// merge, and reads the rows it did not update from its statement's
	// snapshot: a step completed here while that statement ran came back
	// "running", and River dropped its event (about one step in ten of a
	// 1,000-step group, BenchmarkWorkflowGroup). A key merged with the
	// value the row holds makes River update the row whatever its state,
	// changing nothing, and report the completed row.
	if step, ok := stepName(job.Metadata); ok {
		_ = river.MetadataSet(ctx, "workflow_step", step) // outside River's work (none here) there is nothing to merge
	}
	// A backlog (false) is River's completer's to complete.
	m.c.hand(store.FinishedStep{JobID: job.ID, Attempt: job.Attempt, FinishedAt: time.Now(), Metadata: final.Metadata()})
	return nil
}

// stepName is the step's name as its metadata holds it (raw JSON).
func stepName(metadata []byte) (json.RawMessage, bool) {
	var m struct {
		Step json.RawMessage `json:"workflow_step"`
	}
	if json.Unmarshal(metadata, &m) != nil || len(m.Step) == 0 {
		return nil, false
	}
	return m.Step, true
}

// RecordOutput records a task's result (river.RecordOutput), mirrored for
// a step completed before River's completer comes (see StepCompleter).
// Workers record results through it only.
func RecordOutput(ctx context.Context, output any) error {
	b, err := json.Marshal(output)
	if err != nil {
		return err
	}
	if err := river.RecordOutput(ctx, json.RawMessage(b)); err != nil {
		return err
	}
	progress.Mirror(ctx, rivertype.MetadataKeyOutput, b)
	return nil
}
