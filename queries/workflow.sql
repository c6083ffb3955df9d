-- Workflows (db/migrations/0025_workflows.sql): creating, reading,
-- cancelling, retrying and growing them. The trigger there releases steps.

-- name: WorkflowInsert :one
-- A new workflow; nothing when an unfinished one of the owner has the same
-- unique key.
INSERT INTO workflow (owner_id, name, policy, unique_key, schedule_id, steps_total, steps_open)
VALUES (@owner_id, @name, @policy, sqlc.narg('unique_key'), sqlc.narg('schedule_id'), @steps_total, @steps_total)
ON CONFLICT (owner_id, unique_key) WHERE unique_key IS NOT NULL AND finished_at IS NULL DO NOTHING
RETURNING id;

-- name: WorkflowUnfinishedByKey :one
SELECT id FROM workflow
WHERE owner_id = @owner_id AND unique_key = @unique_key AND finished_at IS NULL;

-- name: WorkflowStepInsertMany :exec
-- A workflow's steps; deps and dependents are comma-separated positions.
INSERT INTO workflow_step (workflow_id, step, name, kind, job_id, run_when, deps, dependents, waiting)
SELECT @workflow_id::bigint, unnest(@steps::int[]), unnest(@names::text[]), unnest(@kinds::text[]),
       unnest(@job_ids::bigint[]), unnest(@run_whens::text[]),
       string_to_array(unnest(@deps::text[]), ',')::int[], string_to_array(unnest(@dependents::text[]), ',')::int[],
       unnest(@waitings::int[]);

-- name: WorkflowGet :one
-- One workflow, scoped to an owner (0: any, for admins).
SELECT w.*,
       EXISTS (SELECT 1 FROM workflow_step s JOIN river_job j ON j.id = s.job_id
               WHERE s.workflow_id = w.id AND (s.outcome IS NOT NULL OR j.attempted_at IS NOT NULL))::boolean AS started
FROM workflow w
WHERE w.id = @id AND (@owner_id::bigint = 0 OR w.owner_id = @owner_id);

-- name: WorkflowLock :one
-- Locks a workflow (scoped like WorkflowGet): cancel and retry hold it so
-- no step's trigger changes the workflow meanwhile.
SELECT * FROM workflow w
WHERE w.id = @id AND (@owner_id::bigint = 0 OR w.owner_id = @owner_id)
FOR UPDATE;

-- name: WorkflowList :many
-- A page of workflows, newest first, scoped to an owner (0: any), with
-- their steps counted by outcome.
SELECT w.*,
       (c.first_start IS NOT NULL OR c.finished > 0)::boolean AS started,
       c.completed::int AS completed, c.skipped::int AS skipped, c.running::int AS running, coalesce(c.first_start, 'epoch')::timestamptz AS first_start
FROM workflow w
CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE s.outcome = 'completed') AS completed,
           count(*) FILTER (WHERE s.outcome = 'skipped') AS skipped,
           count(*) FILTER (WHERE s.outcome IS NOT NULL) AS finished,
           count(*) FILTER (WHERE s.outcome IS NULL AND j.state IN ('running', 'retryable')) AS running,
           min(j.attempted_at)::timestamptz AS first_start
    FROM workflow_step s LEFT JOIN river_job j ON j.id = s.job_id
    WHERE s.workflow_id = w.id
) c
WHERE (@owner_id::bigint = 0 OR w.owner_id = @owner_id) AND (@before_id::bigint = 0 OR w.id < @before_id)
ORDER BY w.id DESC
LIMIT @max_rows;

-- name: WorkflowSteps :many
-- A workflow's steps with their tasks' state and progress. The job may be
-- gone (River's cleaner) once the step has finished: the step's outcome
-- stands for it then.
SELECT s.step, s.name, s.kind, s.job_id, s.run_when, s.deps, s.dependents, s.waiting, s.deps_failed,
       s.outcome, s.finished_at, s.result, s.error,
       (j.id IS NOT NULL)::boolean AS job_exists,
       coalesce(inboxq_task_state(j.state, j.metadata, j.errors), '')::text AS task_state,
       coalesce(j.attempt, 0)::int AS attempt, coalesce(j.max_attempts, 0)::int AS max_attempts,
       j.attempted_at, j.created_at AS job_created_at,
       coalesce(p.done, 0)::bigint AS progress_done, p.total AS progress_total,
       coalesce(p.stage, '')::text AS progress_stage, coalesce(p.message, '')::text AS progress_message,
       (p.job_id IS NOT NULL)::boolean AS progress_stored, (j.metadata -> 'progress')::jsonb AS final_progress
FROM workflow_step s
LEFT JOIN river_job j ON j.id = s.job_id
LEFT JOIN task_progress p ON p.job_id = s.job_id
WHERE s.workflow_id = @workflow_id
ORDER BY s.step;

-- name: WorkflowMarkCancelled :exec
UPDATE workflow SET cancelled_at = now() WHERE id = @id AND cancelled_at IS NULL;

-- name: WorkflowCancelQueued :many
-- Cancels the given steps' jobs that are not running (River's own cancel
-- of a queued job, for many at once; running ones go through JobCancelTx,
-- which tells their worker). Each cancel runs the workflow trigger.
UPDATE river_job
SET state = 'cancelled', finalized_at = now(),
    metadata = (metadata - 'workflow_wait') || jsonb_build_object('cancel_attempted_at', now())
WHERE id = ANY (@ids::bigint[]) AND state IN ('available', 'pending', 'scheduled', 'retryable')
RETURNING id;

-- name: WorkflowRetrySteps :exec
-- Resets the steps a retry runs again: no outcome, and waiting for those of
-- their dependencies that run again too.
UPDATE workflow_step s
SET outcome = NULL, finished_at = NULL, result = NULL, error = NULL, deps_failed = 0, waiting = r.waiting
FROM (SELECT unnest(@steps::int[]) AS step, unnest(@waitings::int[]) AS waiting) r
WHERE s.workflow_id = @workflow_id AND s.step = r.step;

-- name: WorkflowRetryReset :exec
UPDATE workflow
SET steps_open = @steps_open, steps_failed = 0, steps_cancelled = 0, finished_at = NULL, cancelled_at = NULL, run = run + 1
WHERE id = @id;

-- name: WorkflowRetryJobs :many
-- Makes the jobs of the steps a retry runs again ready (ready) or waiting,
-- the way River's JobRetry does (a job out of attempts gets one more).
UPDATE river_job j
SET state = CASE WHEN r.ready THEN 'available'::river_job_state ELSE 'pending'::river_job_state END,
    scheduled_at = now(), finalized_at = NULL,
    max_attempts = CASE WHEN j.attempt >= j.max_attempts THEN j.attempt + 1 ELSE j.max_attempts END,
    metadata = (j.metadata - 'workflow_skipped' - 'cancel_attempted_at' - 'output' - 'workflow_wait')
               || CASE WHEN r.ready THEN '{}'::jsonb ELSE '{"workflow_wait": true}'::jsonb END
FROM (SELECT unnest(@ids::bigint[]) AS id, unnest(@ready::boolean[]) AS ready) r
WHERE j.id = r.id AND j.state IN ('completed', 'cancelled', 'discarded')
RETURNING j.id, j.queue;

-- name: WorkflowWakeQueues :exec
-- Wakes River's producers of the given queues (as River does after an insert).
SELECT pg_notify(current_schema() || '.river_insert', json_build_object('queue', q)::text)
FROM unnest(@queues::text[]) AS q;

-- name: WorkflowStepForJob :one
-- The step a job runs, with its workflow's policy.
SELECT s.*, w.owner_id, w.policy FROM workflow_step s JOIN workflow w ON w.id = s.workflow_id
WHERE s.job_id = @job_id;

-- name: WorkflowLockByID :exec
SELECT 1 FROM workflow WHERE id = @id FOR UPDATE;

-- name: WorkflowGrow :exec
-- Adds n steps to a workflow's counts.
UPDATE workflow SET steps_total = steps_total + @n::int, steps_open = steps_open + @n::int WHERE id = @id;

-- name: WorkflowStepAddDependents :exec
UPDATE workflow_step SET dependents = dependents || @added::int[]
WHERE workflow_id = @workflow_id AND step = @step;

-- name: WorkflowStepAddDeps :exec
-- Makes the given steps wait for the added ones too.
UPDATE workflow_step SET deps = deps || @added::int[], waiting = waiting + cardinality(@added::int[])
WHERE workflow_id = @workflow_id AND step = ANY (@steps::int[]) AND outcome IS NULL;

-- name: WorkflowMaxStep :one
SELECT coalesce(max(step), -1)::int FROM workflow_step WHERE workflow_id = @workflow_id;

-- name: WorkflowDeps :many
-- What a step's dependencies ended with: outcome, result, error.
SELECT d.step, d.name, d.kind, d.job_id, d.outcome, d.result, d.error
FROM workflow_step s JOIN workflow_step d ON d.workflow_id = s.workflow_id AND d.step = ANY (s.deps)
WHERE s.job_id = @job_id
ORDER BY d.step;

-- name: WorkflowPrune :execrows
-- Deletes workflows finished before a time (their steps go with them).
DELETE FROM workflow WHERE finished_at < @before;

-- name: WorkflowStepsComplete :many
-- Completes finished workflow steps at once (jobs.StepCompleter), as
-- River's completion would: state, finalized_at, and the attempt's
-- metadata merged. Only a job still running the attempt that finished it;
-- one that something else holds right now (River's completer, a cancel) is
-- skipped, never waited for: River completes it.
UPDATE river_job j
SET state = 'completed', finalized_at = u.finalized_at, metadata = j.metadata || u.metadata
FROM (SELECT unnest(@ids::bigint[]) AS id, unnest(@attempts::int[]) AS attempt,
             unnest(@finalized_at::timestamptz[]) AS finalized_at, unnest(@metadata::jsonb[]) AS metadata) u
WHERE j.id = u.id AND j.attempt = u.attempt
  AND j.id IN (SELECT r.id FROM river_job r WHERE r.id = ANY (@ids::bigint[]) AND r.state = 'running'
               ORDER BY r.id FOR UPDATE SKIP LOCKED)
RETURNING j.id;
