-- name: WorkerHeartbeat :exec
-- A working process says it is alive.
INSERT INTO inboxq_worker (client_id, host, pid) VALUES (@client_id, @host, @pid)
ON CONFLICT (client_id) DO UPDATE SET heartbeat_at = now(), stopped_at = NULL;

-- name: WorkerStopped :exec
-- A process stopped gracefully: whatever it still holds is handed back at once.
UPDATE inboxq_worker SET stopped_at = now() WHERE client_id = @client_id;

-- name: WorkerForget :exec
-- Processes gone for a day hold nothing any more (their jobs were handed back).
DELETE FROM inboxq_worker w
WHERE w.heartbeat_at < now() - interval '1 day'
  AND NOT EXISTS (SELECT 1 FROM river_job j
                  WHERE j.state = 'running' AND j.attempted_by[cardinality(j.attempted_by)] = w.client_id);

-- name: WorkerJobsReap :many
-- Hands back the running jobs no process will finish (at most 1000 a call):
--  * crashed: the job's process (the last in attempted_by) has not beaten
--    for @dead_after_seconds. The attempt counts, as with River's rescuer,
--    so a job that kills its process still ends after max_attempts; it
--    is available again at once (not retryable, which would wait for
--    River's scheduler).
--  * orphaned: its process stopped gracefully, or it is this process
--    (@me) and the job is not one it runs (@busy): the job ended while the
--    database was unreachable and River gave up recording it. The attempt
--    is given back, as River does for jobs interrupted by a stop.
-- A job whose cancel was asked is cancelled instead. Jobs of processes
-- without a row here are left to River's rescuer.
WITH lost AS (
    SELECT j.id,
           j.metadata ? 'cancel_attempted_at' AS cancel,
           (w.client_id <> @me AND w.stopped_at IS NULL) AS crashed
    FROM river_job j
    JOIN inboxq_worker w ON w.client_id = j.attempted_by[cardinality(j.attempted_by)]
    WHERE j.state = 'running'
      AND j.attempted_at < now() - make_interval(secs => @grace_seconds::float8)
      AND CASE WHEN w.client_id = @me THEN NOT (j.id = ANY (@busy::bigint[]))
               ELSE w.stopped_at IS NOT NULL
                    OR w.heartbeat_at < now() - make_interval(secs => @dead_after_seconds::float8) END
    ORDER BY j.id
    LIMIT 1000
    FOR UPDATE OF j SKIP LOCKED
)
UPDATE river_job j
SET state = (CASE WHEN lost.cancel THEN 'cancelled'
                  WHEN lost.crashed AND j.attempt >= j.max_attempts THEN 'discarded'
                  ELSE 'available' END)::river_job_state,
    attempt = CASE WHEN lost.crashed OR lost.cancel THEN j.attempt ELSE greatest(j.attempt - 1, 0) END,
    scheduled_at = CASE WHEN lost.cancel THEN j.scheduled_at ELSE now() END,
    finalized_at = CASE WHEN lost.cancel OR (lost.crashed AND j.attempt >= j.max_attempts) THEN now() END,
    -- Like River's rescuer, a dead process's attempt records why it ended;
    -- like River's stop, an orphan handed back records nothing: it did not
    -- fail.
    errors = CASE WHEN lost.crashed OR lost.cancel
                  THEN array_append(j.errors, jsonb_build_object(
                      'at', now(), 'attempt', j.attempt, 'trace', '',
                      'error', CASE WHEN lost.crashed
                                    THEN 'the worker process ' || j.attempted_by[cardinality(j.attempted_by)] || ' stopped responding (crashed or lost); handed back'
                                    ELSE 'cancelled; the worker process ' || j.attempted_by[cardinality(j.attempted_by)] || ' could not record the end of the attempt (database unreachable)' END))
                  ELSE j.errors END
FROM lost
WHERE j.id = lost.id
RETURNING j.id, j.state::text AS state, lost.crashed;
