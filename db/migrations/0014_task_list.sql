-- The task list at any table size.
--
-- River's cleaner keeps finished jobs for days, so river_job holds a million
-- rows on a busy service. TaskList used to filter owners with a JSON
-- containment (args @> '{"owner_id": N}', '{}' for admins) whose selectivity
-- the planner cannot estimate, and task states through inboxq_task_state,
-- which no index can serve: at 10k rows the plan was already a sequential
-- scan with a top-N sort, a cost that grows with the table. A user's list
-- now filters the owner by the jsonb value args -> 'owner_id', which the
-- index below serves in id order so a page stops after `limit` rows, and
-- task states first by River state (inboxq_task_river_states), which
-- River's own indexes and statistics understand.

-- A user's tasks, newest first. Partial and narrow (a small jsonb number
-- and the id): system jobs (no owner) are not indexed, and River's updates,
-- which are never HOT, pay for one small entry per owned job and state
-- change. The key is the jsonb value itself, not inboxq_job_owner(args):
-- extracting it costs 0.4 µs a row where that function's regex and cast
-- cost 2.3 µs (key and predicate, measured over 200,000 rows), it can never
-- fail an insert, and it matches what the containment of the other task
-- queries matches (a JSON number). The predicate is the key's IS NOT NULL,
-- which "args -> 'owner_id' = N" implies: with `args ? 'owner_id'` the query
-- had to repeat a test the planner estimates at 0.1 % without statistics,
-- and then it preferred reading and sorting all of a user's tasks.
CREATE INDEX river_job_inboxq_owner_idx ON river_job ((args -> 'owner_id'), id DESC)
    WHERE (args -> 'owner_id') IS NOT NULL;

-- inboxq_task_river_states returns the River states whose jobs may show as
-- one of the given task states: a coarse, sargable filter. inboxq_task_state
-- (0003) stays the one rule; queries recheck it, so this need only return a
-- superset (running covers cancelling, cancelled covers failed).
CREATE FUNCTION inboxq_task_river_states(task_states text[]) RETURNS river_job_state[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(DISTINCT s), '{}')
    FROM unnest(task_states) AS t (state),
         unnest(CASE t.state
             WHEN 'pending' THEN ARRAY['available', 'pending']
             WHEN 'scheduled' THEN ARRAY['scheduled']
             WHEN 'running' THEN ARRAY['running']
             WHEN 'cancelling' THEN ARRAY['running']
             WHEN 'retrying' THEN ARRAY['retryable']
             WHEN 'completed' THEN ARRAY['completed']
             WHEN 'failed' THEN ARRAY['discarded', 'cancelled']
             WHEN 'cancelled' THEN ARRAY['cancelled']
         END::river_job_state[]) AS s
$$;

-- Dead letters (task state failed: River's discarded, and cancelled by the
-- worker) and cancelled tasks, newest first, for admins and for each user.
-- Only rows that end discarded or cancelled are indexed, so the jobs that
-- complete (nearly all) never touch these; without them a filter on a rare
-- state walks the primary key or the owner index until it has a page.
CREATE INDEX river_job_inboxq_ended_badly_idx ON river_job (id)
    WHERE state IN ('discarded', 'cancelled');
CREATE INDEX river_job_inboxq_owner_ended_badly_idx ON river_job ((args -> 'owner_id'), id DESC)
    WHERE state IN ('discarded', 'cancelled') AND (args -> 'owner_id') IS NOT NULL;
