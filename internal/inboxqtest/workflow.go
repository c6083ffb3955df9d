package inboxqtest

import (
	"context"
	"fmt"

	"github.com/riverqueue/river"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/jobs"
	"github.com/inboxq/inboxq/internal/store"
)

// Workflow test kinds: a step that grows its workflow, a callback that
// records what its dependencies ended with, and a step that fails its
// first attempt for good and completes when retried.

// FanoutArgs adds N echo steps to its workflow as a group.
type FanoutArgs struct {
	jobs.Owned
	N int `json:"n" minimum:"0" maximum:"100"`
}

// Kind implements river.JobArgs.
func (FanoutArgs) Kind() string { return "test_fanout" }

// InsertOpts puts fan-outs on the default queue.
func (FanoutArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: inbox.QueueDefault} }

type fanoutWorker struct {
	river.WorkerDefaults[FanoutArgs]
	st  *store.Store
	reg *jobs.Registry
}

func (w fanoutWorker) Work(ctx context.Context, job *river.Job[FanoutArgs]) error {
	add := make([]jobs.GrowStep, job.Args.N)
	for i := range add {
		add[i] = jobs.GrowStep{Name: fmt.Sprintf("echo-%d", i), Args: EchoArgs{Owned: job.Args.Owned, Message: fmt.Sprint(i)}}
	}
	return jobs.CompleteGrowing(ctx, w.st, w.reg, job.JobRow, add)
}

// CollectArgs records its dependencies' outcomes as its result.
type CollectArgs struct {
	jobs.Owned
}

// Kind implements river.JobArgs.
func (CollectArgs) Kind() string { return "test_collect" }

// InsertOpts puts collects on the default queue.
func (CollectArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: inbox.QueueDefault} }

type collectWorker struct {
	river.WorkerDefaults[CollectArgs]
	st *store.Store
}

func (w collectWorker) Work(ctx context.Context, job *river.Job[CollectArgs]) error {
	deps, err := jobs.StepDeps(ctx, w.st, job.JobRow)
	if err != nil {
		return err
	}
	return jobs.RecordOutput(ctx, map[string]any{"deps": deps})
}

// OnceArgs fails for good on its first attempt and completes on any later
// one (a retry).
type OnceArgs struct {
	jobs.Owned
}

// Kind implements river.JobArgs.
func (OnceArgs) Kind() string { return "test_once" }

// InsertOpts gives it one attempt.
func (OnceArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: inbox.QueueDefault, MaxAttempts: 1}
}

type onceWorker struct{ river.WorkerDefaults[OnceArgs] }

func (onceWorker) Work(ctx context.Context, job *river.Job[OnceArgs]) error {
	if job.Attempt == 1 {
		return river.JobCancel(testError("first attempt fails"))
	}
	return jobs.RecordOutput(ctx, map[string]int{"attempt": job.Attempt})
}

// RegisterWorkflowTestKinds adds the workflow test kinds to reg.
func RegisterWorkflowTestKinds(reg *jobs.Registry, st *store.Store) {
	jobs.Add(reg, fanoutWorker{st: st, reg: reg}, jobs.Info{Description: "Test: adds n echo steps to its workflow."})
	jobs.Add(reg, collectWorker{st: st}, jobs.Info{Description: "Test: records how its dependencies ended."})
	jobs.Add(reg, onceWorker{}, jobs.Info{Description: "Test: fails its first attempt for good."})
}
