-- name: ProgressSave :exec
-- Saves a task's progress and announces it, in one statement.
WITH saved AS (
    INSERT INTO task_progress AS p (job_id, done, total, stage, message, rate, updated_at)
    VALUES (@job_id, @done, sqlc.narg(total), @stage, @message, @rate, now())
    ON CONFLICT (job_id) DO UPDATE
        SET done = excluded.done, total = excluded.total, stage = excluded.stage,
            message = excluded.message, rate = excluded.rate, updated_at = excluded.updated_at
    RETURNING p.*
)
SELECT pg_notify(current_schema() || '.inboxq_events', json_build_object(
    't', 'progress', 'id', s.job_id, 'owner', sqlc.narg(owner_id)::bigint, 'kind', @kind::text,
    'done', s.done, 'total', s.total, 'stage', s.stage, 'message', left(s.message, 300),
    'rate', s.rate, 'at', s.updated_at)::text)
FROM saved s;

-- name: ProgressGet :one
SELECT * FROM task_progress WHERE job_id = @job_id;
