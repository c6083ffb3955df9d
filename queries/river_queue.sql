-- name: QueueOverviewList :many
-- Every known queue with its depth per state, oldest wait and recent throughput,
-- counting the owner's tasks (owner NULL for admins: everyone's).
SELECT q.name::text AS name,
       q.paused_at,
       count(j.id) FILTER (WHERE j.state = 'available')::bigint AS available,
       count(j.id) FILTER (WHERE j.state = 'running')::bigint AS running,
       count(j.id) FILTER (WHERE j.state = 'scheduled')::bigint AS scheduled,
       count(j.id) FILTER (WHERE j.state = 'retryable')::bigint AS retryable,
       count(j.id) FILTER (WHERE j.state = 'pending')::bigint AS pending,
       coalesce(extract(epoch FROM now() - min(j.scheduled_at) FILTER (WHERE j.state = 'available')), 0)::float8 AS oldest_wait_seconds,
       count(j.id) FILTER (WHERE j.state = 'completed' AND j.finalized_at >= now() - interval '1 minute')::bigint AS completed_last_minute,
       count(j.id) FILTER (WHERE j.state = 'completed' AND j.finalized_at >= now() - interval '1 hour')::bigint AS completed_last_hour,
       count(j.id) FILTER (WHERE j.state = 'discarded' AND j.finalized_at >= now() - interval '1 hour')::bigint AS failed_last_hour
FROM (SELECT names.name, rq.paused_at
      FROM (SELECT river_queue.name FROM river_queue UNION SELECT unnest(@known::text[])) AS names (name)
      LEFT JOIN river_queue rq ON rq.name = names.name) AS q
LEFT JOIN river_job j
       ON j.queue = q.name
      AND inboxq_owned(j.state, j.args, sqlc.narg(owner)::text)
      AND (j.state IN ('available', 'running', 'scheduled', 'retryable', 'pending')
           OR (j.state IN ('completed', 'discarded') AND j.finalized_at >= now() - interval '1 hour'))
GROUP BY q.name, q.paused_at
ORDER BY q.name;

-- name: RiverLeaderID :one
SELECT leader_id FROM river_leader WHERE name = 'default' AND expires_at > now();

-- name: CurrentSchema :one
SELECT current_schema()::text;
