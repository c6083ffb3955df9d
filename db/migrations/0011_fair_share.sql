-- Fair sharing between users, and triggers that need no planner setting.
--
-- This migration replaces inboxq_notify_inserted_jobs (0007) and
-- inboxq_notify_updated_jobs (0010) whole: their current bodies are here.
--
-- 1. No SET clauses. 0007 declared both functions `SET enable_sort = off`;
--    a stock server then costs the ORDER BY of a transition table at ~1e10,
--    which is over jit_above_cost, so with jit = on (the default) every
--    cancel compiled the statement: 1.5 s for one row. The queries below
--    plan cheaply with stock settings (transition tables carry their row
--    count; sorting a few rows is cheap), and nothing here changes a
--    planner setting.
--
-- 2. Admission control per user and queue. A user's tasks that are ready
--    or running in a queue (River states available + running) are at most
--    fair_queue.user_cap; the rest wait in River's `pending` state, which
--    River never fetches, schedules or cleans. When a user's task leaves the
--    ready/running set (completes, fails, is cancelled, snoozes, is rescued)
--    the statement that moved it admits that user's next pending tasks, in
--    the same transaction, ordered by the priority they asked for, then age.
--    Admitted tasks get scheduled_at = now(), so River's own fetch order
--    (priority, scheduled_at, id) takes users in turn (round robin by
--    admission), and owned tasks share one River priority band (see
--    tasks.Service.createTx): a user's own priority orders only their own
--    backlog (metadata.priority). System tasks (no owner) are not capped.
--    Parking is the mirror image: an insert beyond the cap is written as
--    pending at once (inboxq_fair_park); a statement that makes a user's
--    tasks ready beyond the cap (River's scheduler promoting scheduled or
--    retryable jobs, a retry) parks the excess, lowest priority and newest
--    first. Row locks are taken with SKIP LOCKED, so these updates
--    never wait on a worker or a cancel; a race that leaves a user under
--    the cap with work pending is repaired by inboxq_fair_sweep(), which the
--    scheduler runs every few seconds.

-- Per queue: how many of one user's tasks may be ready or running. Written
-- by each process at start from its configuration (no row: no cap).
CREATE TABLE fair_queue (
    queue    text PRIMARY KEY,
    user_cap integer NOT NULL CHECK (user_cap >= 1)
);

-- Counts a user's ready/running tasks, finds their pending ones, and counts
-- their unfinished tasks (the queued-tasks limit). Only owned jobs in
-- unfinished states are indexed, so the index stays small.
CREATE INDEX river_job_inboxq_fair_idx ON river_job (queue, (args ->> 'owner_id'), state, (metadata ->> 'priority'), id)
    WHERE state IN ('available', 'running', 'pending', 'scheduled', 'retryable') AND args ? 'owner_id';

-- inboxq_fair_rebalance brings one user's ready/running count in one queue
-- to the cap: parks the excess or admits pending tasks.
CREATE FUNCTION inboxq_fair_rebalance(q text, owner text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    cap    integer;
    active integer;
BEGIN
    SELECT f.user_cap INTO cap FROM fair_queue f WHERE f.queue = q;
    IF cap IS NULL THEN
        RETURN;
    END IF;
    SELECT count(*) INTO active FROM river_job j
    WHERE j.queue = q AND j.args ->> 'owner_id' = owner AND j.state IN ('available', 'running') AND j.args ? 'owner_id';
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
                     ORDER BY j.metadata ->> 'priority', j.id
                     LIMIT cap - active
                     FOR UPDATE SKIP LOCKED);
    END IF;
END
$$;

-- inboxq_fair_sweep rebalances every user with pending work: the repair
-- for races between concurrent transactions (an insert parked while the
-- user's last running task completed). Returns how many (queue, user) pairs
-- it looked at.
CREATE FUNCTION inboxq_fair_sweep() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    n integer := 0;
BEGIN
    FOR r IN SELECT DISTINCT j.queue, j.args ->> 'owner_id' AS owner FROM river_job j
             WHERE j.state = 'pending' AND j.args ? 'owner_id' LOOP
        PERFORM inboxq_fair_rebalance(r.queue, r.owner);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;

-- The task priority a person sees: what they asked for (metadata.priority)
-- when the task is owned, River's column otherwise.
CREATE FUNCTION inboxq_task_priority(priority smallint, metadata jsonb) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN metadata ->> 'priority' IN ('1', '2', '3', '4') THEN (metadata ->> 'priority')::smallint ELSE priority END
$$;

-- inboxq_fair_park parks, as they are inserted, a user's tasks beyond the
-- cap (before the row is written: no second write). The free slots of each
-- (queue, user) are counted once per transaction and kept in a transaction-
-- local setting while the transaction inserts more; a count that goes stale
-- meanwhile can only park too much, which the next admission or the sweep
-- repairs.
CREATE FUNCTION inboxq_fair_park() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    owner text    := NEW.args ->> 'owner_id';
    key   text    := 'inboxq.fair_' || md5(NEW.queue || '/' || owner);
    free  text    := current_setting(key, true);
    n     integer;
BEGIN
    IF coalesce(free, '') = '' THEN
        SELECT f.user_cap - (SELECT count(*) FROM river_job j
                             WHERE j.queue = NEW.queue AND j.args ->> 'owner_id' = owner
                               AND j.state IN ('available', 'running') AND j.args ? 'owner_id')
        INTO n FROM fair_queue f WHERE f.queue = NEW.queue;
        n := coalesce(n, 2147483647); -- no cap for this queue
    ELSE
        n := free::integer;
    END IF;
    IF n <= 0 THEN
        NEW.state := 'pending';
    ELSE
        n := n - 1;
    END IF;
    PERFORM set_config(key, n::text, true);
    RETURN NEW;
END
$$;

CREATE TRIGGER river_job_inboxq_fair_park
    BEFORE INSERT ON river_job
    FOR EACH ROW WHEN (NEW.state = 'available' AND NEW.args ? 'owner_id')
    EXECUTE FUNCTION inboxq_fair_park();

CREATE OR REPLACE FUNCTION inboxq_notify_inserted_jobs() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ch  text := TG_TABLE_SCHEMA || '.inboxq_events';
    msg text;
    r   record;
BEGIN
    FOR msg IN
        SELECT '{"t":"jobs","h":' || json_build_object(
                   'state', n.state, 'created', true, 'kind', n.kind, 'queue', n.queue, 'owner', n.args ->> 'owner_id',
                   'attempt', n.attempt, 'max_attempts', n.max_attempts,
                   'priority', inboxq_task_priority(n.priority, n.metadata), 'at', clock_timestamp())::text
               || ',"ids":[' || string_agg(n.id::text, ',') || ']}'
        FROM new_jobs n
        GROUP BY n.state, n.kind, n.queue, n.args ->> 'owner_id', n.attempt, n.max_attempts,
                 inboxq_task_priority(n.priority, n.metadata), n.id / 350
    LOOP
        PERFORM pg_notify(ch, msg);
    END LOOP;

    -- Admission happened row by row, before the rows were written
    -- (inboxq_fair_park).
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION inboxq_notify_updated_jobs() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ch  text := TG_TABLE_SCHEMA || '.inboxq_events';
    msg text;
    r   record;
BEGIN
    -- Only statements that set state or attempt (see inboxq_mark_state_update
    -- in 0010): River's checkpoints update metadata alone.
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
    FOR msg IN
        SELECT '{"t":"jobs","h":' || json_build_object(
                   'state', n.state, 'kind', n.kind, 'queue', n.queue,
                   'owner', n.args ->> 'owner_id', 'attempt', n.attempt, 'max_attempts', n.max_attempts,
                   'priority', inboxq_task_priority(n.priority, n.metadata), 'cancel', n.metadata ? 'cancel_attempted_at',
                   'errors', cardinality(n.errors) > 0, 'at', clock_timestamp())::text
               || ',"ids":[' || string_agg(n.id::text, ',') || ']}'
        FROM new_jobs n
        WHERE n.state NOT IN ('retryable', 'discarded', 'cancelled')
          AND NOT (n.state = 'completed' AND n.metadata ? 'output')
        GROUP BY n.state, n.kind, n.queue, n.args ->> 'owner_id', n.attempt, n.max_attempts,
                 inboxq_task_priority(n.priority, n.metadata),
                 n.metadata ? 'cancel_attempted_at', cardinality(n.errors) > 0, n.id / 350
    LOOP
        PERFORM pg_notify(ch, msg);
    END LOOP;

    -- Admission. A statement that took users' tasks out of the ready/running
    -- set admits their next pending ones, all users in one statement; one
    -- that made tasks ready (a retry, River's scheduler) parks any excess.
    -- Jobs starting (available -> running, the most frequent statement)
    -- change nothing and cost one scan of the batch here.
    IF EXISTS (SELECT 1 FROM fair_queue) THEN
        UPDATE river_job SET state = 'available', scheduled_at = now()
        WHERE id IN (
            SELECT p.id
            FROM (SELECT DISTINCT n.queue, n.args ->> 'owner_id' AS owner FROM new_jobs n
                  WHERE n.state NOT IN ('running', 'available', 'pending') AND n.args ? 'owner_id') l
            JOIN fair_queue f ON f.queue = l.queue
            CROSS JOIN LATERAL (
                SELECT count(*) AS active FROM river_job j
                WHERE j.queue = l.queue AND j.args ->> 'owner_id' = l.owner
                  AND j.state IN ('available', 'running') AND j.args ? 'owner_id') a
            CROSS JOIN LATERAL (
                SELECT j.id FROM river_job j
                WHERE j.queue = l.queue AND j.args ->> 'owner_id' = l.owner AND j.state = 'pending' AND j.args ? 'owner_id'
                ORDER BY j.metadata ->> 'priority', j.id
                LIMIT greatest(f.user_cap - a.active, 0)
                FOR UPDATE SKIP LOCKED) p);
        FOR r IN SELECT DISTINCT n.queue, n.args ->> 'owner_id' AS owner FROM new_jobs n
                 WHERE n.state = 'available' AND n.args ? 'owner_id' LOOP
            PERFORM inboxq_fair_rebalance(r.queue, r.owner);
        END LOOP;
    END IF;

    -- The rest concerns rare rows; most batches (jobs starting, or completing
    -- without output) end here after one cheap scan.
    IF NOT EXISTS (SELECT 1 FROM new_jobs n
                   WHERE n.state IN ('retryable', 'discarded', 'cancelled')
                      OR (n.state = 'completed' AND (n.metadata ? 'output' OR n.metadata ? 'notify'))) THEN
        RETURN NULL;
    END IF;

    -- Changes that carry an error or a result, one by one, in id order.
    FOR msg IN
        SELECT json_build_object(
                   't', 'task', 'id', n.id, 'kind', n.kind, 'queue', n.queue,
                   'owner', inboxq_job_owner(n.args), 'state', inboxq_task_state(n.state, n.metadata, n.errors),
                   'attempt', n.attempt, 'max_attempts', n.max_attempts,
                   'priority', inboxq_task_priority(n.priority, n.metadata),
                   'error', CASE WHEN cardinality(n.errors) > 0 THEN left(n.errors[cardinality(n.errors)] ->> 'error', 300) END,
                   'result', CASE WHEN n.state = 'completed' AND octet_length((n.metadata -> 'output')::text) <= 500
                                  THEN n.metadata -> 'output' END,
                   'at', clock_timestamp())::text
        FROM new_jobs n
        WHERE n.state IN ('retryable', 'discarded', 'cancelled') OR (n.state = 'completed' AND n.metadata ? 'output')
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

-- inboxq_quota_take of 0008, whole, with one fix: the clock is read after
-- the row lock is granted (a caller that waited for the lock computed a
-- negative refill and a needless wait). Used for Gmail's quotas and now for
-- per-user API limits too (buckets named api:...).
CREATE OR REPLACE FUNCTION inboxq_quota_take(p_bucket text, p_units float8, p_rate float8, p_burst float8) RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE
    q         gmail_quota;
    available float8;
    now_ts    timestamptz;
BEGIN
    INSERT INTO gmail_quota (bucket, tokens, updated_at) VALUES (p_bucket, p_burst, clock_timestamp())
    ON CONFLICT (bucket) DO NOTHING;
    SELECT * INTO q FROM gmail_quota WHERE bucket = p_bucket FOR UPDATE;
    now_ts := greatest(clock_timestamp(), q.updated_at);
    available := least(p_burst, q.tokens + extract(epoch FROM now_ts - q.updated_at) * p_rate);
    IF q.blocked_until > now_ts THEN
        UPDATE gmail_quota SET tokens = available, updated_at = now_ts WHERE bucket = p_bucket;
        RETURN extract(epoch FROM q.blocked_until - now_ts);
    END IF;
    IF available >= p_units THEN
        UPDATE gmail_quota SET tokens = available - p_units, updated_at = now_ts WHERE bucket = p_bucket;
        RETURN 0;
    END IF;
    UPDATE gmail_quota SET tokens = available, updated_at = now_ts WHERE bucket = p_bucket;
    RETURN (p_units - available) / p_rate;
END
$$;
