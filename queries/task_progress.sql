-- name: ProgressSaveMany :exec
-- Saves the progress of many tasks in one statement and announces them,
-- many to a notification (inboxq_notify_progress).
-- Progress is re-reported if lost, so its commit does not wait for the WAL
-- flush (synchronous_commit off, for this transaction only); the job's own
-- completion, committed later and synchronously, flushes it anyway.
WITH cfg AS (
    SELECT set_config('synchronous_commit', 'off', true) AS v
), input AS (
    -- Set-returning functions in one select list advance in lockstep.
    SELECT unnest(@job_ids::bigint[]) AS job_id, unnest(@dones::bigint[]) AS done,
           unnest(@totals::bigint[]) AS total, unnest(@stages::text[]) AS stage,
           unnest(@messages::text[]) AS message, unnest(@rates::float8[]) AS rate,
           unnest(@owners::bigint[]) AS owner, unnest(@kinds::text[]) AS kind
), saved AS (
    INSERT INTO task_progress AS p (job_id, done, total, stage, message, rate, updated_at)
    SELECT i.job_id, i.done, nullif(i.total, -1), i.stage, i.message, i.rate, now()
    FROM input i, cfg
    ON CONFLICT (job_id) DO UPDATE
        SET done = excluded.done, total = excluded.total, stage = excluded.stage,
            message = excluded.message, rate = excluded.rate, updated_at = excluded.updated_at
    RETURNING p.*
)
SELECT inboxq_notify_progress(current_schema() || '.inboxq_events', array_agg(json_build_object(
    't', 'progress', 'id', s.job_id, 'owner', nullif(i.owner, 0), 'kind', i.kind,
    'done', s.done, 'total', s.total, 'stage', s.stage, 'message', left(s.message, 300),
    'rate', s.rate, 'at', s.updated_at)::text ORDER BY s.job_id))
FROM saved s JOIN input i ON i.job_id = s.job_id;

-- name: ProgressGet :one
SELECT * FROM task_progress WHERE job_id = @job_id;
