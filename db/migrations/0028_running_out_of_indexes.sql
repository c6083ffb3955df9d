-- Running jobs leave inboxq's two indexes on river_job.
--
-- River's updates are never HOT, so each state change of a job writes an
-- entry into every index on river_job whose predicate the new row meets.
-- A no-op task made five entries in inboxq's: the fair-share index for
-- the available and running rows, the owner index for the available,
-- running and completed ones. Paired rounds of the no-op benchmark with
-- running jobs left out of both took inboxq from 0.76 to 0.83 of River's
-- rate and its CPU per job from 1.37 to 1.25 × River's (docs/architecture.md).
--
-- Running jobs are few (at most the workers of every process), and River's
-- own index (state, queue, priority, scheduled_at, id) lists them: a
-- user's task list adds their running tasks from it (TaskListByOwner), and
-- the fair-share counts read running jobs from it once per statement,
-- never once per user: inboxq_fair_rebalance takes a user's running count
-- from its caller when the caller has counted every user's at once (the
-- sweep, admission), and admission counts only for users with work
-- pending.

DROP INDEX river_job_inboxq_owner_idx;
CREATE INDEX river_job_inboxq_owner_idx ON river_job (((args ->> 'owner_id')) COLLATE "C", id DESC)
    WHERE (args ->> 'owner_id') IS NOT NULL AND state <> 'running';

DROP INDEX river_job_inboxq_fair_idx;
CREATE INDEX river_job_inboxq_fair_idx ON river_job (queue, (args ->> 'owner_id'), state, (metadata ->> 'priority'), id)
    WHERE state IN ('available', 'pending', 'scheduled', 'retryable') AND args ? 'owner_id';

-- inboxq_fair_running counts every user's running jobs, per queue, in one
-- scan of River's index: they are at most the workers of every process.
CREATE FUNCTION inboxq_fair_running() RETURNS TABLE (queue text, owner text, n bigint)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT j.queue, j.args ->> 'owner_id', count(*) FROM river_job j
    WHERE j.state = 'running' AND j.args ? 'owner_id'
    GROUP BY 1, 2
$$;

-- inboxq_fair_rebalance brings one user's ready/running count in one queue
-- to the cap: parks the excess or admits pending tasks (0011, 0025's
-- rules). running is the user's running jobs in the queue, counted by the
-- caller.
CREATE FUNCTION inboxq_fair_rebalance(q text, owner text, running bigint) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    cap    integer;
    active bigint;
BEGIN
    SELECT f.user_cap INTO cap FROM fair_queue f WHERE f.queue = q;
    IF cap IS NULL THEN
        RETURN;
    END IF;
    SELECT running + count(*) INTO active FROM river_job j
    WHERE j.queue = q AND j.args ->> 'owner_id' = owner AND j.state = 'available' AND j.args ? 'owner_id';
    IF active > cap THEN
        UPDATE river_job SET state = 'pending'
        WHERE id IN (SELECT j.id FROM river_job j
                     WHERE j.queue = q AND j.args ->> 'owner_id' = owner AND j.state = 'available' AND j.args ? 'owner_id'
                     ORDER BY j.metadata ->> 'priority' DESC, j.id DESC
                     LIMIT active - cap
                     FOR UPDATE SKIP LOCKED);
    ELSIF active < cap THEN
        UPDATE river_job SET state = 'available', scheduled_at = now()
        WHERE id IN (SELECT j.id FROM river_job j
                     WHERE j.queue = q AND j.args ->> 'owner_id' = owner AND j.state = 'pending' AND j.args ? 'owner_id'
                       AND NOT j.metadata ? 'workflow_wait'
                     ORDER BY j.metadata ->> 'priority', j.id
                     LIMIT cap - active
                     FOR UPDATE SKIP LOCKED);
    END IF;
END
$$;

-- The two-argument form, for one user (the insert and update triggers,
-- workflows): counts the user's running jobs in the queue through River's
-- index, a scan of the queue's running jobs, only when the queue has a cap.
CREATE OR REPLACE FUNCTION inboxq_fair_rebalance(q text, owner text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM fair_queue f WHERE f.queue = q) THEN
        RETURN;
    END IF;
    PERFORM inboxq_fair_rebalance(q, owner, (SELECT count(*) FROM river_job j
                                             WHERE j.state = 'running' AND j.queue = q AND j.args ->> 'owner_id' = owner));
END
$$;

-- inboxq_fair_sweep (0011) rebalances every user with pending work, with
-- every user's running jobs counted in one scan.
CREATE OR REPLACE FUNCTION inboxq_fair_sweep() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    n integer := 0;
BEGIN
    FOR r IN SELECT p.queue, p.owner, coalesce(c.n, 0) AS running
             FROM (SELECT DISTINCT j.queue, j.args ->> 'owner_id' AS owner FROM river_job j
                   WHERE j.state = 'pending' AND j.args ? 'owner_id') p
             LEFT JOIN inboxq_fair_running() c ON c.queue = p.queue AND c.owner = p.owner
    LOOP
        PERFORM inboxq_fair_rebalance(r.queue, r.owner, r.running);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;

-- inboxq_fair_admit admits the next pending tasks of users whose tasks
-- just left the ready/running set (qs[i], owners[i]: a queue and a user,
-- repeats allowed), all users in one statement. Only users with work
-- pending in a capped queue are counted, and their running jobs in one
-- scan of those queues' running jobs.
CREATE FUNCTION inboxq_fair_admit(qs text[], owners text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    wq text[];
    wo text[];
BEGIN
    SELECT array_agg(l.queue), array_agg(l.owner) INTO wq, wo
    FROM (SELECT DISTINCT u.queue, u.owner FROM unnest(qs, owners) AS u (queue, owner)) l
    WHERE EXISTS (SELECT 1 FROM fair_queue f WHERE f.queue = l.queue)
      AND EXISTS (SELECT 1 FROM river_job j
                  WHERE j.queue = l.queue AND j.args ->> 'owner_id' = l.owner AND j.state = 'pending' AND j.args ? 'owner_id'
                    AND NOT j.metadata ? 'workflow_wait');
    IF wq IS NULL THEN
        RETURN;
    END IF;
    UPDATE river_job SET state = 'available', scheduled_at = now()
    WHERE id IN (
        SELECT p.id
        FROM unnest(wq, wo) AS l (queue, owner)
        JOIN fair_queue f ON f.queue = l.queue
        LEFT JOIN inboxq_fair_running() r ON r.queue = l.queue AND r.owner = l.owner
        CROSS JOIN LATERAL (
            SELECT count(*) AS n FROM river_job j
            WHERE j.queue = l.queue AND j.args ->> 'owner_id' = l.owner AND j.state = 'available' AND j.args ? 'owner_id') a
        CROSS JOIN LATERAL (
            SELECT j.id FROM river_job j
            WHERE j.queue = l.queue AND j.args ->> 'owner_id' = l.owner AND j.state = 'pending' AND j.args ? 'owner_id'
              AND NOT j.metadata ? 'workflow_wait'
            ORDER BY j.metadata ->> 'priority', j.id
            LIMIT greatest(f.user_cap - a.n - coalesce(r.n, 0), 0)
            FOR UPDATE SKIP LOCKED) p);
END
$$;

-- AFTER UPDATE, per statement (river_job_inboxq_updated). Supersedes 0027;
-- changed here: admission is inboxq_fair_admit's, and a statement that
-- made tasks ready counts its users' running jobs once.
CREATE OR REPLACE FUNCTION inboxq_notify_updated_jobs() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ch  text := TG_TABLE_SCHEMA || '.inboxq_events';
    msg text;
    r   record;
BEGIN
    -- Only statements that set state or attempt (see inboxq_mark_state_update):
    -- River's checkpoints update metadata alone.
    IF coalesce(current_setting('inboxq.state_update', true), '') <> 'on' THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('inboxq.state_update', '', true);
    -- Nested statements are this function's own admissions and parkings:
    -- pending and available are the same task state, so they announce
    -- nothing and need no rebalancing.
    IF pg_trigger_depth() > 1 THEN
        RETURN NULL;
    END IF;

    -- Plain changes, grouped. Only the new rows are read: River updates a
    -- job only to change its state (or, for a cancel, its metadata), and
    -- joining the old rows cost more than the rare repeated event it avoids.
    -- A completed attempt's final progress when it is numbers only
    -- (metadata.progress = [done, total], see store.FinalProgress) rides
    -- along as "p" per id (null for an id without), in groups of at most
    -- 100 ids so that the payload stays under 8,000 bytes
    -- (inboxq_final_progress bounds each pair). Every test on a row here is
    -- a lookup of one key: this statement runs for every batch of jobs
    -- that start or complete.
    -- Each row's keys are computed once (OFFSET 0 keeps the subquery
    -- whole: inlined, the report's test ran four times a row), text keys
    -- compare as bytes, and the id bucket leads the sort, so that rows,
    -- which share every other key, rarely compare more than one.
    FOR msg IN
        SELECT '{"t":"jobs","h":' || json_build_object(
                   'state', g.st, 'kind', g.kind, 'queue', g.queue, 'owner', g.owner, 'attempt', g.attempt,
                   'max_attempts', g.max_attempts, 'priority', g.prio, 'at', clock_timestamp())::text
               || ',"ids":[' || string_agg(g.id::text, ',' ORDER BY g.id) || ']'
               || CASE WHEN g.fp IS NULL THEN '' ELSE ',"p":[' || string_agg(g.fp, ',' ORDER BY g.id) || ']' END
               || '}'
        FROM (SELECT n.id, n.kind COLLATE "C" AS kind, n.queue COLLATE "C" AS queue,
                     (n.args ->> 'owner_id') COLLATE "C" AS owner, n.attempt, n.max_attempts,
                     inboxq_task_state(n.state, n.metadata, n.errors) COLLATE "C" AS st,
                     inboxq_task_priority(n.priority, n.metadata) AS prio,
                     inboxq_final_progress(n.state, n.metadata) AS fp
              FROM new_jobs n
              WHERE n.state NOT IN ('retryable', 'discarded', 'cancelled')
                AND NOT (n.state = 'completed' AND (n.metadata ? 'output'
                                                    OR coalesce(jsonb_typeof(n.metadata -> 'progress'), '') = 'object'))
              OFFSET 0) g
        GROUP BY g.id / CASE WHEN g.fp IS NULL THEN 350 ELSE 100 END, g.fp IS NULL,
                 g.st, g.kind, g.queue, g.owner, g.attempt, g.max_attempts, g.prio
    LOOP
        PERFORM pg_notify(ch, msg);
    END LOOP;

    -- Admission. A statement that took users' tasks out of the ready/running
    -- set admits their next pending ones, all users in one statement; one
    -- that made tasks ready (a retry, River's scheduler) parks any excess.
    -- Jobs starting (available -> running, the most frequent statement)
    -- change nothing and cost one scan of the batch here.
    IF EXISTS (SELECT 1 FROM fair_queue) THEN
        PERFORM inboxq_fair_admit(l.qs, l.owners)
        FROM (SELECT array_agg(n.queue::text) AS qs, array_agg(n.args ->> 'owner_id') AS owners FROM new_jobs n
              WHERE n.state NOT IN ('running', 'available', 'pending') AND n.args ? 'owner_id') l
        WHERE l.qs IS NOT NULL;
        FOR r IN SELECT l.queue, l.owner, coalesce(c.n, 0) AS running
                 FROM (SELECT DISTINCT n.queue, n.args ->> 'owner_id' AS owner FROM new_jobs n
                       JOIN fair_queue f ON f.queue = n.queue
                       WHERE n.state = 'available' AND n.args ? 'owner_id') l
                 LEFT JOIN inboxq_fair_running() c ON c.queue = l.queue AND c.owner = l.owner LOOP
            PERFORM inboxq_fair_rebalance(r.queue, r.owner, r.running);
        END LOOP;
    END IF;

    -- The rest concerns rare rows; most batches (jobs starting, or completing
    -- without output) end here after one cheap scan.
    IF NOT EXISTS (SELECT 1 FROM new_jobs n
                   WHERE n.state IN ('retryable', 'discarded', 'cancelled')
                      OR (n.state = 'completed' AND (n.metadata ? 'output' OR n.metadata ? 'notify'
                                                     OR coalesce(jsonb_typeof(n.metadata -> 'progress'), '') = 'object'))) THEN
        RETURN NULL;
    END IF;

    -- Changes that carry an error, a result or a final report with words,
    -- one by one, in id order.
    FOR msg IN
        SELECT json_build_object(
                   't', 'task', 'id', n.id, 'kind', n.kind, 'queue', n.queue,
                   'owner', inboxq_job_owner(n.args), 'state', inboxq_task_state(n.state, n.metadata, n.errors),
                   'attempt', n.attempt, 'max_attempts', n.max_attempts,
                   'priority', inboxq_task_priority(n.priority, n.metadata),
                   'error', CASE WHEN cardinality(n.errors) > 0 THEN left(n.errors[cardinality(n.errors)] ->> 'error', 300) END,
                   'result', CASE WHEN n.state = 'completed' AND octet_length((n.metadata -> 'output')::text) <= 500
                                  THEN n.metadata -> 'output' END,
                   'p', coalesce(inboxq_final_progress_full(n.state, n.metadata), inboxq_final_progress(n.state, n.metadata)::jsonb),
                   'at', clock_timestamp())::text
        FROM new_jobs n
        WHERE n.state IN ('retryable', 'discarded', 'cancelled')
           OR (n.state = 'completed' AND (n.metadata ? 'output' OR coalesce(jsonb_typeof(n.metadata -> 'progress'), '') = 'object'))
        ORDER BY n.id
    LOOP
        PERFORM pg_notify(ch, msg);
    END LOOP;

    -- Owners hear of failures, and of completions their kind asks for; after
    -- the task events, so a client sees the failure before its alert. One per
    -- task and outcome: the key of an earlier identical alert blocks a repeat.
    INSERT INTO alert (user_id, key, severity, title, message, task_id, resolved_at)
    SELECT c.owner, 'task:' || c.id || ':' || c.st || ':' || c.attempt,
           CASE c.st WHEN 'failed' THEN 'critical' ELSE 'info' END,
           replace(c.kind, '_', ' ') || ' ' || c.st, coalesce(c.err, ''), c.id, now()
    FROM (
        SELECT n.id, n.kind, n.attempt, inboxq_job_owner(n.args) AS owner, n.metadata,
               inboxq_task_state(n.state, n.metadata, n.errors) AS st,
               CASE WHEN cardinality(n.errors) > 0 THEN left(n.errors[cardinality(n.errors)] ->> 'error', 300) END AS err
        FROM new_jobs n
        WHERE n.state IN ('discarded', 'cancelled') OR (n.state = 'completed' AND n.metadata ? 'notify')
    ) c
    WHERE c.owner IS NOT NULL
      AND (c.st = 'failed' OR (c.st = 'completed' AND c.metadata ? 'notify'))
      AND NOT EXISTS (SELECT 1 FROM alert a WHERE a.task_id = c.id AND a.key = 'task:' || c.id || ':' || c.st || ':' || c.attempt);
    RETURN NULL;
END
$$;

