-- The task view is derived from river_job; nothing mirrors its state.
--
-- inboxq_task_state maps River's job state to the state people see:
--   available, pending          -> pending
--   scheduled                   -> scheduled (also snoozed jobs)
--   running                     -> running, or cancelling once a cancel was asked
--   retryable                   -> retrying
--   completed                   -> completed
--   discarded                   -> failed (attempts exhausted)
--   cancelled                   -> cancelled when someone asked, failed when the
--                                  worker gave up for good (river.JobCancel(err))
CREATE FUNCTION inboxq_task_state(state river_job_state, metadata jsonb, errors jsonb[])
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT CASE state
        WHEN 'available' THEN 'pending'
        WHEN 'pending' THEN 'pending'
        WHEN 'scheduled' THEN 'scheduled'
        WHEN 'running' THEN CASE WHEN metadata ? 'cancel_attempted_at' THEN 'cancelling' ELSE 'running' END
        WHEN 'retryable' THEN 'retrying'
        WHEN 'completed' THEN 'completed'
        WHEN 'discarded' THEN 'failed'
        WHEN 'cancelled' THEN
            CASE WHEN metadata ? 'cancel_attempted_at' OR coalesce(array_length(errors, 1), 0) = 0
                 THEN 'cancelled' ELSE 'failed' END
    END
$$;

-- Tasks people start carry their owner in args.owner_id; list them fast.
CREATE INDEX river_job_owner_id_idx ON river_job ((args ->> 'owner_id'), id DESC);
