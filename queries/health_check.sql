-- name: HealthCheckInsert :one
INSERT INTO health_check (db_latency_us, queues)
VALUES (@db_latency_us, @queues)
RETURNING *;

-- name: HealthCheckDeleteBefore :execrows
DELETE FROM health_check WHERE checked_at < @before;
