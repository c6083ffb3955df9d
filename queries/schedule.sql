-- name: ScheduleInsert :one
INSERT INTO schedule (owner_id, name, cron, timezone, kind, args, priority, enabled, next_run_at)
VALUES (sqlc.narg(owner_id), @name, @cron, @timezone, @kind, @args, @priority, @enabled, sqlc.narg(next_run_at))
RETURNING *;

-- name: ScheduleGet :one
-- owner_id NULL: any schedule (admins); else only the owner's.
SELECT s.*, coalesce(u.name, '')::text AS owner_name
FROM schedule s LEFT JOIN app_user u ON u.id = s.owner_id
WHERE s.id = @id AND (sqlc.narg(owner_id)::bigint IS NULL OR s.owner_id = sqlc.narg(owner_id));

-- name: ScheduleList :many
SELECT s.*, coalesce(u.name, '')::text AS owner_name
FROM schedule s LEFT JOIN app_user u ON u.id = s.owner_id
WHERE (sqlc.narg(owner_id)::bigint IS NULL OR s.owner_id = sqlc.narg(owner_id))
ORDER BY s.id;

-- name: ScheduleUpdate :one
UPDATE schedule
SET name = @name, cron = @cron, timezone = @timezone, args = @args, priority = @priority,
    enabled = @enabled, next_run_at = sqlc.narg(next_run_at), updated_at = now()
WHERE id = @id
RETURNING *;

-- name: ScheduleDelete :execrows
DELETE FROM schedule WHERE id = @id AND (sqlc.narg(owner_id)::bigint IS NULL OR owner_id = sqlc.narg(owner_id));

-- name: ScheduleClaimDue :many
-- Due schedules, locked for this transaction; concurrent claimers skip them.
-- Owners take turns: each owner's most overdue schedule first, then each
-- one's second, so one owner's many schedules cannot push another's past
-- the per-tick limit.
SELECT s.* FROM schedule s
WHERE s.id IN (
    SELECT d.id FROM (
        SELECT id, next_run_at, row_number() OVER (PARTITION BY owner_id ORDER BY next_run_at, id) AS turn
        FROM schedule
        WHERE enabled AND next_run_at <= now()
    ) d
    ORDER BY d.turn, d.next_run_at
    LIMIT @max_rows
)
ORDER BY s.next_run_at
FOR UPDATE SKIP LOCKED;

-- name: ScheduleCountByOwner :one
SELECT count(*)::bigint FROM schedule WHERE owner_id = @owner_id;

-- name: ScheduleAdvance :execrows
-- Moves a claimed schedule to its next tick, only if nobody else did.
UPDATE schedule
SET next_run_at = @next_run_at, last_run_at = @ran_at, last_task_id = sqlc.narg(last_task_id)
WHERE id = @id AND next_run_at = @expected_run_at;
