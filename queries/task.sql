-- Tasks are river_job rows seen through inboxq_task_state; the owner is
-- args.owner_id (NULL for system tasks, which only admins see). Queries
-- filter the owner with inboxq_owned(state, args, owner), owner NULL for
-- admins, which the owner, fair-share and River's state indexes serve
-- (0034); a user's task list reads the three in id order (0014, 0026,
-- 0030).

-- name: TaskGet :one
SELECT sqlc.embed(j),
       inboxq_task_state(j.state, j.metadata, j.errors)::text AS task_state,
       coalesce(u.name, '')::text AS owner_name,
       p.done AS progress_done, p.total AS progress_total, p.stage AS progress_stage,
       p.message AS progress_message, p.rate AS progress_rate, p.updated_at AS progress_updated_at
FROM river_job j
LEFT JOIN app_user u ON u.id = inboxq_job_owner(j.args)
LEFT JOIN task_progress p ON p.job_id = j.id
WHERE j.id = @id
  AND inboxq_owned(j.state, j.args, sqlc.narg(owner)::text);

-- name: TaskGetForUpdate :one
-- Locks the task's row for a state change.
SELECT sqlc.embed(j),
       inboxq_task_state(j.state, j.metadata, j.errors)::text AS task_state
FROM river_job j
WHERE j.id = @id
  AND inboxq_owned(j.state, j.args, sqlc.narg(owner)::text)
FOR UPDATE;

-- name: TaskList :many
-- Every task (admins), newest first; after_id is the keyset cursor. The
-- plan is a backward scan of the primary key that applies the filters and
-- stops after max_rows rows, or, for a state that few jobs are in, a scan
-- of one of River's state indexes: never the whole table.
--
-- States are filtered by River state (inboxq_task_river_states, a superset
-- that indexes and statistics understand), then, for the two River states
-- that hold two task states each (running: running or cancelling;
-- cancelled: cancelled or failed), exactly by inboxq_task_state, the one
-- rule. Written as an OR, the recheck does not hide the River state's
-- selectivity from the planner (a bare function = ANY (...) is estimated at
-- 0.5 %, which made dead letters look rare and chose a parallel scan of
-- the table). Owners' names are read separately
-- (UserNamesByIDs) for the rows returned: no join can change the plan.
SELECT sqlc.embed(j),
       inboxq_task_state(j.state, j.metadata, j.errors)::text AS task_state,
       p.done AS progress_done, p.total AS progress_total, p.stage AS progress_stage,
       p.message AS progress_message, p.rate AS progress_rate, p.updated_at AS progress_updated_at
FROM river_job j
LEFT JOIN task_progress p ON p.job_id = j.id
WHERE (sqlc.narg(states)::text[] IS NULL OR (j.state = ANY (inboxq_task_river_states(sqlc.narg(states)::text[]))
                                              AND (j.state NOT IN ('running', 'cancelled')
                                                   OR inboxq_task_state(j.state, j.metadata, j.errors) = ANY (sqlc.narg(states)::text[]))))
  AND (sqlc.narg(kinds)::text[] IS NULL OR j.kind = ANY (sqlc.narg(kinds)::text[]))
  AND (sqlc.narg(queues)::text[] IS NULL OR j.queue = ANY (sqlc.narg(queues)::text[]))
  AND (sqlc.narg(ids)::bigint[] IS NULL OR j.id = ANY (sqlc.narg(ids)::bigint[]))
  AND (sqlc.narg(created_from)::timestamptz IS NULL OR j.created_at >= sqlc.narg(created_from))
  AND (sqlc.narg(created_to)::timestamptz IS NULL OR j.created_at < sqlc.narg(created_to))
  AND (sqlc.narg(after_id)::bigint IS NULL OR j.id < sqlc.narg(after_id))
ORDER BY j.id DESC
LIMIT @max_rows;

-- name: TaskListByOwner :many
-- One user's tasks, newest first, from three sources (0030): finished tasks
-- over river_job_inboxq_owner_idx, read in id order with TaskList's
-- filters and cut at max_rows, so a page costs about max_rows rows (at
-- most the user's own tasks), not the table (dead letters and cancelled
-- tasks over river_job_inboxq_owner_ended_badly_idx); waiting tasks over
-- the fair-share index, which holds at most the user's queued tasks; and
-- running tasks over River's index on state: at most the workers of every
-- process. The filters are written in each source, which must apply them
-- before its cut, and again for the page after the union. A filter on
-- states skips the sources that hold none of them when the statement is
-- planned (its values are known then). A statement of its own rather than
-- an optional owner ("owner IS NULL OR ..."), which only a plan made for
-- the call's values could use an index for.
SELECT sqlc.embed(j),
       inboxq_task_state(j.state, j.metadata, j.errors)::text AS task_state,
       p.done AS progress_done, p.total AS progress_total, p.stage AS progress_stage,
       p.message AS progress_message, p.rate AS progress_rate, p.updated_at AS progress_updated_at
FROM river_job j
LEFT JOIN task_progress p ON p.job_id = j.id
WHERE j.id IN ((SELECT o.id FROM river_job o
                WHERE (o.args ->> 'owner_id') COLLATE "C" = (@owner::bigint)::text
                  AND o.state IN ('completed', 'cancelled', 'discarded')
                  AND (sqlc.narg(states)::text[] IS NULL
                       OR inboxq_task_river_states(sqlc.narg(states)::text[]) && '{completed,cancelled,discarded}'::river_job_state[])
                  AND (sqlc.narg(states)::text[] IS NULL OR (o.state = ANY (inboxq_task_river_states(sqlc.narg(states)::text[]))
                                                              AND (o.state <> 'cancelled'
                                                                   OR inboxq_task_state(o.state, o.metadata, o.errors) = ANY (sqlc.narg(states)::text[]))))
                  -- COLLATE "C" (equality is the same for every deterministic
                  -- collation) keeps River's index on kind out of this plan
                  -- while its statistics still count: with it the planner
                  -- ANDed the user's index with every job of the kind
                  -- (44,601 entries at 1M jobs, 13 ms) instead of reading the
                  -- user's tasks in order until a page is found (about 1 ms).
                  AND (sqlc.narg(kinds)::text[] IS NULL OR o.kind COLLATE "C" = ANY (sqlc.narg(kinds)::text[]))
                  AND (sqlc.narg(queues)::text[] IS NULL OR o.queue = ANY (sqlc.narg(queues)::text[]))
                  AND (sqlc.narg(ids)::bigint[] IS NULL OR o.id = ANY (sqlc.narg(ids)::bigint[]))
                  AND (sqlc.narg(created_from)::timestamptz IS NULL OR o.created_at >= sqlc.narg(created_from))
                  AND (sqlc.narg(created_to)::timestamptz IS NULL OR o.created_at < sqlc.narg(created_to))
                  AND (sqlc.narg(after_id)::bigint IS NULL OR o.id < sqlc.narg(after_id))
                ORDER BY o.id DESC
                LIMIT @max_rows)
               UNION ALL
               (SELECT o.id FROM river_job o
                WHERE o.args ->> 'owner_id' = (@owner::bigint)::text
                  AND o.state IN ('available', 'pending', 'scheduled', 'retryable')
                  AND o.args ? 'owner_id'
                  AND (sqlc.narg(states)::text[] IS NULL
                       OR inboxq_task_river_states(sqlc.narg(states)::text[]) && '{available,pending,scheduled,retryable}'::river_job_state[])
                  AND (sqlc.narg(states)::text[] IS NULL OR o.state = ANY (inboxq_task_river_states(sqlc.narg(states)::text[])))
                  AND (sqlc.narg(kinds)::text[] IS NULL OR o.kind COLLATE "C" = ANY (sqlc.narg(kinds)::text[]))
                  AND (sqlc.narg(queues)::text[] IS NULL OR o.queue = ANY (sqlc.narg(queues)::text[]))
                  AND (sqlc.narg(ids)::bigint[] IS NULL OR o.id = ANY (sqlc.narg(ids)::bigint[]))
                  AND (sqlc.narg(created_from)::timestamptz IS NULL OR o.created_at >= sqlc.narg(created_from))
                  AND (sqlc.narg(created_to)::timestamptz IS NULL OR o.created_at < sqlc.narg(created_to))
                  AND (sqlc.narg(after_id)::bigint IS NULL OR o.id < sqlc.narg(after_id))
                ORDER BY o.id DESC
                LIMIT @max_rows)
               UNION ALL
               SELECT r.id FROM river_job r
               WHERE r.state = 'running' AND (r.args ->> 'owner_id') COLLATE "C" = (@owner::bigint)::text)
  AND (sqlc.narg(states)::text[] IS NULL OR (j.state = ANY (inboxq_task_river_states(sqlc.narg(states)::text[]))
                                              AND (j.state NOT IN ('running', 'cancelled')
                                                   OR inboxq_task_state(j.state, j.metadata, j.errors) = ANY (sqlc.narg(states)::text[]))))
  AND (sqlc.narg(kinds)::text[] IS NULL OR j.kind = ANY (sqlc.narg(kinds)::text[]))
  AND (sqlc.narg(queues)::text[] IS NULL OR j.queue = ANY (sqlc.narg(queues)::text[]))
  AND (sqlc.narg(ids)::bigint[] IS NULL OR j.id = ANY (sqlc.narg(ids)::bigint[]))
  AND (sqlc.narg(created_from)::timestamptz IS NULL OR j.created_at >= sqlc.narg(created_from))
  AND (sqlc.narg(created_to)::timestamptz IS NULL OR j.created_at < sqlc.narg(created_to))
  AND (sqlc.narg(after_id)::bigint IS NULL OR j.id < sqlc.narg(after_id))
ORDER BY j.id DESC
LIMIT @max_rows;

-- name: TaskCountByKindQueueState :many
SELECT j.kind, j.queue, inboxq_task_state(j.state, j.metadata, j.errors)::text AS task_state, count(*)::bigint AS tasks
FROM river_job j
WHERE inboxq_owned(j.state, j.args, sqlc.narg(owner)::text)
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3;

-- name: TaskThroughput :many
-- Completions and failures per minute over the last hour.
SELECT m.minute::timestamptz AS minute,
       count(j.id) FILTER (WHERE inboxq_task_state(j.state, j.metadata, j.errors) = 'completed')::bigint AS completed,
       count(j.id) FILTER (WHERE inboxq_task_state(j.state, j.metadata, j.errors) = 'failed')::bigint AS failed
FROM generate_series(date_trunc('minute', now()) - interval '59 minutes', date_trunc('minute', now()), interval '1 minute') AS m (minute)
LEFT JOIN river_job j
       ON j.finalized_at >= m.minute AND j.finalized_at < m.minute + interval '1 minute'
      AND j.state IN ('completed', 'discarded', 'cancelled')
      AND (sqlc.narg(owner)::text IS NULL OR (j.args ->> 'owner_id') COLLATE "C" = sqlc.narg(owner)::text)
GROUP BY m.minute
ORDER BY m.minute;

-- name: TaskStuckCount :one
-- Running jobs whose attempt started before the cutoff.
SELECT count(*)::bigint FROM river_job WHERE state = 'running' AND attempted_at < @cutoff;

-- name: TaskOutcomesSince :one
SELECT count(*) FILTER (WHERE inboxq_task_state(state, metadata, errors) = 'completed')::bigint AS completed,
       count(*) FILTER (WHERE inboxq_task_state(state, metadata, errors) = 'failed')::bigint AS failed,
       count(*) FILTER (WHERE state = 'retryable')::bigint AS retrying
FROM river_job
WHERE (finalized_at >= @since) OR (state = 'retryable' AND attempted_at >= @since);

-- name: TaskActiveOrFinishedSince :many
-- Tasks in flight, and tasks finished since a time: what an event stream
-- sends on connect and what a listener that was away must re-read. Running
-- tasks first, then the rest in flight, then finished ones, each newest
-- first: when the limit cuts, it drops old finished tasks, never a task
-- someone watches run (the 200 newest by id left an older running task out
-- of a reconnect's snapshot). Only what a task event carries, as the live
-- events of 0006/0007 do: never the args, the result only when small, the
-- latest error cut.
SELECT j.id, j.kind, j.queue, inboxq_task_priority(j.priority, j.metadata)::smallint AS priority, j.attempt, j.max_attempts,
       j.created_at, j.attempted_at, j.finalized_at,
       coalesce(CASE WHEN j.args ->> 'owner_id' ~ '^[0-9]{1,18}$' THEN (j.args ->> 'owner_id')::bigint END, 0)::bigint AS owner_id,
       inboxq_task_state(j.state, j.metadata, j.errors)::text AS task_state,
       (CASE WHEN octet_length((j.metadata -> 'output')::text) <= 1000 THEN j.metadata -> 'output' END)::jsonb AS result,
       coalesce(left(j.errors[cardinality(j.errors)] ->> 'error', 500), '')::text AS last_error,
       (j.metadata -> 'progress')::jsonb AS final_progress,
       p.done AS progress_done, p.total AS progress_total, p.stage AS progress_stage,
       p.message AS progress_message, p.rate AS progress_rate, p.updated_at AS progress_updated_at
FROM river_job j
LEFT JOIN task_progress p ON p.job_id = j.id
WHERE inboxq_owned(j.state, j.args, sqlc.narg(owner)::text)
  AND (j.state IN ('available', 'pending', 'running', 'retryable', 'scheduled') OR j.finalized_at >= @since)
ORDER BY j.state = 'running' DESC, j.finalized_at IS NULL DESC, j.id DESC
LIMIT @max_rows;

-- name: TaskCountUnfinishedByOwner :one
-- A user's tasks not finished yet (the queued-tasks limit): those waiting
-- counted through the fair-share index, stopping at max_rows, and those
-- running through River's index on state (0028).
SELECT (SELECT count(*) FROM (
            SELECT 1 FROM river_job j
            WHERE j.queue = ANY (@queues::text[])
              AND j.args ->> 'owner_id' = @owner::text
              AND j.state IN ('available', 'pending', 'scheduled', 'retryable')
              AND j.args ? 'owner_id'
            LIMIT @max_rows) t)
     + (SELECT count(*) FROM river_job j
        WHERE j.state = 'running' AND j.queue = ANY (@queues::text[]) AND j.args ->> 'owner_id' = @owner::text)::bigint AS count;
