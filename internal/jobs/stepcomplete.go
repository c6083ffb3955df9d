package jobs

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
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
// its worker returns, without waiting, and completed in one statement with
// whatever else finished meanwhile. River's completer still completes it
// when its batch comes; a completed job stays completed, and the triggers
// record and announce it once (migration 0029). Whatever this cannot
// complete (River holds the row, the statement fails, the process stops)
// River's completion does as before: this only makes it sooner.
type StepCompleter struct {
	store  *store.Store
	logger *slog.Logger
	in     chan store.FinishedStep
}

// stepQueue bounds the steps waiting for a statement; beyond it a step
// is left to River's completer.
const stepQueue = 1000

// NewStepCompleter returns a StepCompleter; run it alongside the client.
func NewStepCompleter(st *store.Store, logger *slog.Logger) *StepCompleter {
	return &StepCompleter{store: st, logger: logger, in: make(chan store.FinishedStep, stepQueue)}
}

// Run completes steps until ctx ends.
func (c *StepCompleter) Run(ctx context.Context) {
	for {
		var batch []store.FinishedStep
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

func (c *StepCompleter) complete(ctx context.Context, batch []store.FinishedStep) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if _, err := c.store.WorkflowStepsComplete(ctx, batch); err != nil {
		// River's completer completes them.
		c.logger.WarnContext(ctx, "workflow_steps_left_to_river", slog.Int("steps", len(batch)), slog.Any("err", err))
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
	select {
	case m.c.in <- store.FinishedStep{JobID: job.ID, Attempt: job.Attempt, FinishedAt: time.Now(), Metadata: final.Metadata()}:
	default: // a backlog: River's completer completes it
	}
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
