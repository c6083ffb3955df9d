-- name: QueueDepthList :many
-- Jobs per queue and state, with the age of the oldest job waiting to run.
SELECT queue,
       state::text AS state,
       count(*)::bigint AS jobs,
       coalesce(extract(epoch FROM now() - min(scheduled_at) FILTER (WHERE state = 'available')), 0)::float8 AS oldest_wait_seconds
FROM river_job
WHERE state IN ('available', 'running', 'retryable', 'scheduled', 'pending')
GROUP BY queue, state
ORDER BY queue, state;
