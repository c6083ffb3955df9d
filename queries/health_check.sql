-- name: HealthCheckInsert :one
INSERT INTO health_check (db_latency_us, queues, report)
VALUES (@db_latency_us, @queues, @report)
RETURNING *;

-- name: HealthCheckLatest :one
SELECT * FROM health_check ORDER BY checked_at DESC LIMIT 1;

-- name: HealthCheckDeleteBefore :execrows
DELETE FROM health_check WHERE checked_at < @before;
