package store

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/inboxq/inboxq/internal/inbox"
	"github.com/inboxq/inboxq/internal/store/dbsqlc"
)

// WorkflowRow is a workflow's own row (db/migrations/0025_workflows.sql).
type WorkflowRow = dbsqlc.Workflow

// WorkflowStepRow is a step's row with its task's state and progress.
type WorkflowStepRow = dbsqlc.WorkflowStepsRow

// NewWorkflowStep is a step to store: its position, its job, and its place
// in the graph (positions).
type NewWorkflowStep struct {
	Step       int
	Name, Kind string
	JobID      int64
	When       string
	Deps       []int
	Dependents []int
	Waiting    int
}

// WorkflowInsert stores a new workflow of total steps. When an unfinished
// workflow of the owner has the same unique key, it stores nothing and
// returns that one's id with duplicate = true.
func (s *Store) WorkflowInsert(ctx context.Context, owner int64, name, policy, uniqueKey string, scheduleID *int64, total int) (id int64, duplicate bool, err error) {
	var key *string
	if uniqueKey != "" {
		key = &uniqueKey
	}
	id, err = s.q.WorkflowInsert(ctx, dbsqlc.WorkflowInsertParams{OwnerID: owner, Name: name, Policy: policy,
		UniqueKey: key, ScheduleID: scheduleID, StepsTotal: int32(total)})
	if err == nil || key == nil {
		return id, false, translate(err, "storing the workflow")
	}
	id, err = s.q.WorkflowUnfinishedByKey(ctx, dbsqlc.WorkflowUnfinishedByKeyParams{OwnerID: owner, UniqueKey: key})
	return id, true, translate(err, "reading the unfinished workflow")
}

// WorkflowStepsInsert stores a workflow's steps.
func (s *Store) WorkflowStepsInsert(ctx context.Context, workflowID int64, steps []NewWorkflowStep) error {
	p := dbsqlc.WorkflowStepInsertManyParams{WorkflowID: workflowID}
	for _, st := range steps {
		p.Steps = append(p.Steps, int32(st.Step))
		p.Names = append(p.Names, st.Name)
		p.Kinds = append(p.Kinds, st.Kind)
		p.JobIds = append(p.JobIds, st.JobID)
		p.RunWhens = append(p.RunWhens, st.When)
		p.Deps = append(p.Deps, joinInts(st.Deps))
		p.Dependents = append(p.Dependents, joinInts(st.Dependents))
		p.Waitings = append(p.Waitings, int32(st.Waiting))
	}
	return translate(s.q.WorkflowStepInsertMany(ctx, p), "storing the workflow's steps")
}

func joinInts(xs []int) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(x)
	}
	return strings.Join(parts, ",")
}

// WorkflowGet returns one workflow with its steps, in the owner scope.
func (s *Store) WorkflowGet(ctx context.Context, id int64, owner *int64) (inbox.Workflow, error) {
	r, err := s.q.WorkflowGet(ctx, dbsqlc.WorkflowGetParams{ID: id, OwnerID: ownerOrZero(owner)})
	if err != nil {
		return inbox.Workflow{}, translate(err, "reading workflow "+strconv.FormatInt(id, 10))
	}
	steps, err := s.WorkflowStepRows(ctx, id)
	if err != nil {
		return inbox.Workflow{}, err
	}
	w := workflowFrom(dbsqlc.Workflow{ID: r.ID, OwnerID: r.OwnerID, Name: r.Name, Policy: r.Policy, ScheduleID: r.ScheduleID,
		StepsTotal: r.StepsTotal, StepsOpen: r.StepsOpen, StepsFailed: r.StepsFailed, StepsCancelled: r.StepsCancelled, CreatedAt: r.CreatedAt,
		CancelledAt: r.CancelledAt, FinishedAt: r.FinishedAt, Run: r.Run}, r.Started)
	w.Steps, w.Progress, w.StartedAt = rollup(steps, w.FinishedAt, time.Now())
	return w, nil
}

// WorkflowStepRows returns a workflow's steps in position order.
func (s *Store) WorkflowStepRows(ctx context.Context, id int64) ([]WorkflowStepRow, error) {
	rows, err := s.q.WorkflowSteps(ctx, id)
	return rows, translate(err, "reading the workflow's steps")
}

// WorkflowList returns a page of workflows, newest first, in the owner
// scope, with their counts (no steps).
func (s *Store) WorkflowList(ctx context.Context, owner *int64, beforeID int64, limit int) ([]inbox.Workflow, error) {
	rows, err := s.q.WorkflowList(ctx, dbsqlc.WorkflowListParams{OwnerID: ownerOrZero(owner), BeforeID: beforeID, MaxRows: int32(limit)})
	if err != nil {
		return nil, translate(err, "listing workflows")
	}
	out := make([]inbox.Workflow, len(rows))
	for i, r := range rows {
		w := workflowFrom(dbsqlc.Workflow{ID: r.ID, OwnerID: r.OwnerID, Name: r.Name, Policy: r.Policy, ScheduleID: r.ScheduleID,
			StepsTotal: r.StepsTotal, StepsOpen: r.StepsOpen, StepsFailed: r.StepsFailed, StepsCancelled: r.StepsCancelled, CreatedAt: r.CreatedAt,
			CancelledAt: r.CancelledAt, FinishedAt: r.FinishedAt, Run: r.Run}, r.Started)
		w.Progress.Completed, w.Progress.Skipped, w.Progress.Running = int(r.Completed), int(r.Skipped), int(r.Running)
		w.Progress.Waiting = max(0, int(r.StepsOpen)-int(r.Running))
		if r.FirstStart.After(time.Unix(0, 0)) { // the query's epoch: none started
			w.StartedAt = &r.FirstStart
		}
		out[i] = w
	}
	return out, nil
}

// WorkflowLock locks a workflow's row in the owner scope (call in InTx).
func (s *Store) WorkflowLock(ctx context.Context, id int64, owner *int64) (WorkflowRow, error) {
	w, err := s.q.WorkflowLock(ctx, dbsqlc.WorkflowLockParams{ID: id, OwnerID: ownerOrZero(owner)})
	return w, translate(err, "locking workflow "+strconv.FormatInt(id, 10))
}

// WorkflowMarkCancelled records that someone cancelled the workflow: steps
// released from now on are skipped.
func (s *Store) WorkflowMarkCancelled(ctx context.Context, id int64) error {
	return translate(s.q.WorkflowMarkCancelled(ctx, id), "cancelling the workflow")
}

// WorkflowCancelQueued cancels the jobs among ids that are not running,
// and returns those it cancelled.
func (s *Store) WorkflowCancelQueued(ctx context.Context, ids []int64) ([]int64, error) {
	out, err := s.q.WorkflowCancelQueued(ctx, nonNilInt64(ids))
	return out, translate(err, "cancelling the workflow's steps")
}

// WorkflowRetry resets the given steps (positions, with how many of their
// dependencies run again) and their jobs (ready now, or waiting), and wakes
// the queues of the ready ones.
func (s *Store) WorkflowRetry(ctx context.Context, id int64, steps, waiting []int32, jobs []int64, ready []bool) error {
	if err := s.q.WorkflowRetrySteps(ctx, dbsqlc.WorkflowRetryStepsParams{WorkflowID: id, Steps: steps, Waitings: waiting}); err != nil {
		return translate(err, "resetting the workflow's steps")
	}
	if err := s.q.WorkflowRetryReset(ctx, dbsqlc.WorkflowRetryResetParams{ID: id, StepsOpen: int32(len(steps))}); err != nil {
		return translate(err, "resetting the workflow")
	}
	rows, err := s.q.WorkflowRetryJobs(ctx, dbsqlc.WorkflowRetryJobsParams{Ids: jobs, Ready: ready})
	if err != nil {
		return translate(err, "retrying the workflow's tasks")
	}
	if len(rows) != len(jobs) {
		return translate(inbox.ErrConflict, "retrying the workflow's tasks: some were removed or are running")
	}
	var queues []string
	for i, r := range rows {
		if ready[i] {
			queues = append(queues, r.Queue)
		}
	}
	return s.WakeQueues(ctx, queues)
}

// WakeQueues tells River's producers of the queues that jobs are ready.
func (s *Store) WakeQueues(ctx context.Context, queues []string) error {
	if len(queues) == 0 {
		return nil
	}
	return translate(s.q.WorkflowWakeQueues(ctx, queues), "waking queues")
}

// WorkflowStepForJob returns the step a job runs (inbox.ErrNotFound: the
// job is no workflow's step).
func (s *Store) WorkflowStepForJob(ctx context.Context, jobID int64) (dbsqlc.WorkflowStepForJobRow, error) {
	r, err := s.q.WorkflowStepForJob(ctx, jobID)
	return r, translate(err, "reading the job's workflow step")
}

// WorkflowLockByID locks a workflow's row, unscoped (for its own steps).
func (s *Store) WorkflowLockByID(ctx context.Context, id int64) error {
	return translate(s.q.WorkflowLockByID(ctx, id), "locking the workflow")
}

// WorkflowNextStep is the position the next added step takes.
func (s *Store) WorkflowNextStep(ctx context.Context, id int64) (int, error) {
	n, err := s.q.WorkflowMaxStep(ctx, id)
	return int(n) + 1, translate(err, "reading the workflow's steps")
}

// WorkflowGrow wires steps added by a running step into its workflow: the
// growing step's dependents wait for the added sinks too, the added steps
// become the growing step's dependents, and the workflow counts them.
func (s *Store) WorkflowGrow(ctx context.Context, id int64, step int, dependents, sinks, added []int32) error {
	if err := s.q.WorkflowStepAddDeps(ctx, dbsqlc.WorkflowStepAddDepsParams{WorkflowID: id, Steps: dependents, Added: sinks}); err != nil {
		return translate(err, "growing the workflow")
	}
	if err := s.q.WorkflowStepAddDependents(ctx, dbsqlc.WorkflowStepAddDependentsParams{WorkflowID: id, Step: int32(step), Added: added}); err != nil {
		return translate(err, "growing the workflow")
	}
	return translate(s.q.WorkflowGrow(ctx, dbsqlc.WorkflowGrowParams{ID: id, N: int32(len(added))}), "growing the workflow")
}

// WorkflowPrune deletes workflows finished before before.
func (s *Store) WorkflowPrune(ctx context.Context, before time.Time) (int64, error) {
	n, err := s.q.WorkflowPrune(ctx, &before)
	return n, translate(err, "pruning workflows")
}

// WorkflowDeps returns how a step's dependencies ended.
func (s *Store) WorkflowDeps(ctx context.Context, jobID int64) ([]inbox.StepOutcome, error) {
	rows, err := s.q.WorkflowDeps(ctx, jobID)
	if err != nil {
		return nil, translate(err, "reading the step's dependencies")
	}
	out := make([]inbox.StepOutcome, len(rows))
	for i, r := range rows {
		out[i] = inbox.StepOutcome{Name: r.Name, Kind: r.Kind, TaskID: r.JobID, Outcome: deref(r.Outcome), Error: deref(r.Error)}
		if len(r.Result) > 0 && string(r.Result) != "null" {
			out[i].Result = json.RawMessage(r.Result)
		}
	}
	return out, nil
}

func ownerOrZero(owner *int64) int64 {
	if owner == nil {
		return 0
	}
	return *owner
}

func nonNilInt64(xs []int64) []int64 {
	if xs == nil {
		return []int64{}
	}
	return xs
}

func workflowFrom(r dbsqlc.Workflow, started bool) inbox.Workflow {
	w := inbox.Workflow{ID: r.ID, OwnerID: r.OwnerID, Name: r.Name, Policy: r.Policy, Run: int(r.Run), ScheduleID: r.ScheduleID,
		CreatedAt: r.CreatedAt, FinishedAt: r.FinishedAt, CancelledAt: r.CancelledAt}
	w.State = WorkflowState(int(r.StepsFailed), int(r.StepsCancelled), r.CancelledAt, r.FinishedAt, started)
	w.Progress = inbox.WorkflowProgress{Total: int(r.StepsTotal), Failed: int(r.StepsFailed), Cancelled: int(r.StepsCancelled)}
	if r.StepsTotal > 0 {
		w.Progress.Fraction = float64(r.StepsTotal-r.StepsOpen) / float64(r.StepsTotal)
	}
	return w
}

// WorkflowState is inboxq_workflow_state (0025) for rows read whole: the
// same rule, which the trigger's events use.
func WorkflowState(failed, cancelled int, cancelledAt, finishedAt *time.Time, started bool) inbox.TaskState {
	switch {
	case finishedAt != nil && failed > 0 && cancelledAt == nil:
		return inbox.TaskFailed
	case finishedAt != nil && (cancelledAt != nil || cancelled > 0):
		return inbox.TaskCancelled
	case finishedAt != nil:
		return inbox.TaskCompleted
	case cancelledAt != nil:
		return inbox.TaskCancelling
	case started:
		return inbox.TaskRunning
	}
	return inbox.TaskPending
}

// rollup turns step rows into steps and the workflow's progress: each step
// weighs one, a finished step counts whole and a running one by its own
// done/total; the ETA is the time so far scaled to what is left.
func rollup(rows []WorkflowStepRow, finishedAt *time.Time, now time.Time) ([]inbox.WorkflowStep, inbox.WorkflowProgress, *time.Time) {
	names := make(map[int32]string, len(rows))
	for _, r := range rows {
		names[r.Step] = r.Name
	}
	var p inbox.WorkflowProgress
	var started *time.Time
	var sum float64
	steps := make([]inbox.WorkflowStep, len(rows))
	for i, r := range rows {
		st := inbox.WorkflowStep{Name: r.Name, Kind: r.Kind, TaskID: r.JobID, When: r.RunWhen, Outcome: deref(r.Outcome),
			Attempt: int(r.Attempt), MaxAttempts: int(r.MaxAttempts), StartedAt: r.AttemptedAt, FinishedAt: r.FinishedAt,
			Error: deref(r.Error), Deps: make([]string, 0, len(r.Deps))}
		for _, d := range r.Deps {
			st.Deps = append(st.Deps, names[d])
		}
		if len(r.Result) > 0 && string(r.Result) != "null" {
			st.Result = json.RawMessage(r.Result)
		}
		st.State = inbox.TaskState(r.TaskState)
		if !r.JobExists {
			st.State = map[string]inbox.TaskState{"completed": inbox.TaskCompleted, "failed": inbox.TaskFailed}[st.Outcome]
			if st.State == "" {
				st.State = inbox.TaskCancelled
			}
		}
		switch {
		case r.ProgressStored:
			st.Progress = &inbox.Progress{Done: r.ProgressDone, Total: r.ProgressTotal, Stage: r.ProgressStage, Message: r.ProgressMessage}
		case len(r.FinalProgress) > 0:
			st.Progress = decodeFinalProgress(r.FinalProgress, time.Time{})
		}
		switch st.Outcome {
		case "completed":
			p.Completed++
		case "failed":
			p.Failed++
		case "cancelled":
			p.Cancelled++
		case "skipped":
			p.Skipped++
		case "":
			st.Waiting = r.Waiting > 0
			switch st.State {
			case inbox.TaskRunning, inbox.TaskCancelling, inbox.TaskRetrying:
				p.Running++
			default:
				p.Waiting++
			}
		}
		switch {
		case st.Outcome != "":
			st.Fraction = 1
		case st.Progress != nil && st.Progress.Total != nil && *st.Progress.Total > 0:
			// Unfinished: never whole, even when its work is all done and
			// its completion not yet recorded.
			st.Fraction = min(0.99, float64(st.Progress.Done)/float64(*st.Progress.Total))
		}
		sum += st.Fraction
		for _, t := range []*time.Time{r.AttemptedAt, r.FinishedAt} {
			if t != nil && (started == nil || t.Before(*started)) {
				started = t
			}
		}
		steps[i] = st
	}
	p.Total = len(rows)
	if p.Total > 0 {
		p.Fraction = sum / float64(p.Total)
	}
	if finishedAt == nil && started != nil && p.Fraction > 0 && p.Fraction < 1 {
		elapsed := now.Sub(*started)
		eta := time.Duration(float64(elapsed) * (1 - p.Fraction) / p.Fraction).Round(time.Second)
		p.ETA = &eta
	}
	return steps, p, started
}

// FinishedStep is a workflow step whose work returned: its job, the
// attempt that ran it, when it ended and the metadata the attempt leaves.
type FinishedStep struct {
	JobID      int64
	Attempt    int
	FinishedAt time.Time
	Metadata   []byte // a JSON object; nil merges nothing
}

// WorkflowStepsComplete completes finished steps' jobs at once and returns
// the ids it completed (see the query: one held elsewhere is skipped).
func (s *Store) WorkflowStepsComplete(ctx context.Context, steps []FinishedStep) ([]int64, error) {
	p := dbsqlc.WorkflowStepsCompleteParams{
		Ids: make([]int64, len(steps)), Attempts: make([]int32, len(steps)),
		FinalizedAt: make([]time.Time, len(steps)), Metadata: make([][]byte, len(steps)),
	}
	for i, st := range steps {
		p.Ids[i], p.Attempts[i], p.FinalizedAt[i] = st.JobID, int32(st.Attempt), st.FinishedAt
		p.Metadata[i] = st.Metadata
		if len(st.Metadata) == 0 {
			p.Metadata[i] = []byte("{}")
		}
	}
	ids, err := s.q.WorkflowStepsComplete(ctx, p)
	return ids, translate(err, "completing workflow steps")
}
