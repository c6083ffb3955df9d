-- Every trigger function, and every function a trigger calls, whole: the
-- bodies in force are the ones below, whatever the earlier migrations say.
-- Each function says which migrations it supersedes; the triggers
-- themselves (CREATE TRIGGER) are unchanged and named with their function.
-- Not here, because no trigger runs them: inboxq_fair_sweep (0011, run by
-- the scheduler) and the Gmail quota functions (inboxq_quota_take, 0011;
-- inboxq_quota_take_all, 0017).
--
-- One change of behaviour, inside the database only: the task events of
-- river_job's statement triggers carry the task state, computed by
-- inboxq_task_state, instead of River's state and the two facts ("cancel",
-- "errors") from which the event hub recomputed it in Go. The rule River
-- state -> task state now exists once, in inboxq_task_state; every reader
-- (the task queries, the export, the events) gets its result.
-- inboxq_task_river_states, the coarse inverse used by the task list's
-- filter, is derived from it instead of being written out a second time.

-- ---------------------------------------------------------------------------
-- The rule. Supersedes 0003 (same body; the comment is the reference).
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
-- A SQL function of one expression: PostgreSQL inlines it where it is
-- called, so a trigger pays for a CASE per row, not for a function call.
-- It reads metadata only for the cancel marker and errors only for being
-- empty (inboxq_task_river_states relies on that).
CREATE OR REPLACE FUNCTION inboxq_task_state(state river_job_state, metadata jsonb, errors jsonb[])
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

-- inboxq_task_river_states returns the River states whose jobs may show as
-- one of the given task states: a coarse, sargable filter that indexes and
-- statistics understand (queries recheck inboxq_task_state where one River
-- state holds two task states). Supersedes 0014, which listed the states
-- by hand: they are now the River states for which inboxq_task_state gives
-- one of task_states with or without a cancel marker, with or without
-- errors. Immutable, so a plan made for a call's values (the task list's,
-- see internal/store/plan.go) computes it once, while planning.
CREATE OR REPLACE FUNCTION inboxq_task_river_states(task_states text[]) RETURNS river_job_state[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(s.state ORDER BY s.state), '{}')
    FROM unnest(enum_range(NULL::river_job_state)) AS s (state)
    WHERE EXISTS (SELECT FROM (VALUES ('{}'::jsonb), ('{"cancel_attempted_at": true}'::jsonb)) AS m (metadata),
                              (VALUES ('{}'::jsonb[]), (ARRAY['{}'::jsonb])) AS e (errors)
                  WHERE inboxq_task_state(s.state, m.metadata, e.errors) = ANY (task_states))
$$;

-- ---------------------------------------------------------------------------
-- Helpers the triggers call.

-- A job's owner: args.owner_id when it is a plain number. Supersedes 0007
-- (same body).
CREATE OR REPLACE FUNCTION inboxq_job_owner(args jsonb) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN args ->> 'owner_id' ~ '^[0-9]{1,18}$' THEN (args ->> 'owner_id')::bigint END
$$;

-- The task priority a person sees: what they asked for (metadata.priority)
-- when the task is owned, River's column otherwise. Supersedes 0011 (same
-- body).
CREATE OR REPLACE FUNCTION inboxq_task_priority(priority smallint, metadata jsonb) RETURNS smallint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN metadata ->> 'priority' IN ('1', '2', '3', '4') THEN (metadata ->> 'priority')::smallint ELSE priority END
$$;

-- inboxq_fair_rebalance brings one user's ready/running count in one queue
-- to the cap (fair_queue.user_cap): parks the excess or admits pending
-- tasks. Called by inboxq_notify_updated_jobs and inboxq_fair_sweep.
-- Supersedes 0011 (same body; 0011 explains fair sharing).
CREATE OR REPLACE FUNCTION inboxq_fair_rebalance(q text, owner text) RETURNS void
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

-- ---------------------------------------------------------------------------
-- river_job's triggers, in the order they fire.
--
-- Task events go to NOTIFY "<schema>.inboxq_events", in the transaction
-- that made the change, whoever made it (a worker, River's rescuer or
-- scheduler, River UI, the API). River changes jobs in batches, so the
-- statement triggers describe a batch compactly: changes that differ only
-- by job id share one notification,
--   {"t":"jobs","h":{"state":task state,"kind":…,"queue":…,"owner":…,"attempt":…,
--    "max_attempts":…,"priority":…,"at":…},"ids":[…]}
-- (inserts carry "created":true; at most 350 ids, so always under 8000
-- bytes). Only the rare change that carries an error or a result is
-- described on its own ({"t":"task", …}), and only failures and asked-for
-- completions touch the alert table. Per row they build no JSON (0007
-- measured 27 µs a row for a per-row trigger, about 5 for these).

-- BEFORE INSERT, per row (river_job_inboxq_fair_park, 0011): parks a
-- user's tasks beyond the cap as they are inserted (before the row is
-- written: no second write). The free slots of each (queue, user) are
-- counted once per transaction and kept in a transaction-local setting
-- while the transaction inserts more; a count that goes stale meanwhile can
-- only park too much, which the next admission or the sweep repairs.
-- Supersedes 0011 (same body).
CREATE OR REPLACE FUNCTION inboxq_fair_park() RETURNS trigger
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

-- AFTER INSERT, per statement, with the new rows (river_job_inboxq_inserted,
-- 0007): one "jobs" event per group of inserted jobs. Supersedes 0007 and
-- 0011; changed here: "state" is the task state (grouped by it), not
-- River's.
CREATE OR REPLACE FUNCTION inboxq_notify_inserted_jobs() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ch  text := TG_TABLE_SCHEMA || '.inboxq_events';
    msg text;
BEGIN
    FOR msg IN
        SELECT '{"t":"jobs","h":' || json_build_object(
                   'state', inboxq_task_state(n.state, n.metadata, n.errors), 'created', true,
                   'kind', n.kind, 'queue', n.queue, 'owner', n.args ->> 'owner_id',
                   'attempt', n.attempt, 'max_attempts', n.max_attempts,
                   'priority', inboxq_task_priority(n.priority, n.metadata), 'at', clock_timestamp())::text
               || ',"ids":[' || string_agg(n.id::text, ',') || ']}'
        FROM new_jobs n
        GROUP BY inboxq_task_state(n.state, n.metadata, n.errors), n.kind, n.queue, n.args ->> 'owner_id',
                 n.attempt, n.max_attempts, inboxq_task_priority(n.priority, n.metadata), n.id / 350
    LOOP
        PERFORM pg_notify(ch, msg);
    END LOOP;

    -- Admission happened row by row, before the rows were written
    -- (inboxq_fair_park).
    RETURN NULL;
END
$$;

-- AFTER UPDATE OF state, attempt, per statement, no transition table
-- (river_job_inboxq_mark, 0010): marks the statement for
-- inboxq_notify_updated_jobs. River's checkpoints
-- (ResumableSetStepCursorTx) and recorded output update only metadata and
-- must announce nothing; Postgres allows no column list on a trigger with
-- transition tables, so this cheap trigger marks the statements that set
-- state or attempt. AFTER statement triggers fire in name order: "..._mark"
-- before "..._updated". River's own state changes, its cancel included (it
-- sets state = state for a running job along with the cancel marker),
-- always name the state column. Supersedes 0010 (same body).
CREATE OR REPLACE FUNCTION inboxq_mark_state_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('inboxq.state_update', 'on', true);
    RETURN NULL;
END
$$;

-- AFTER UPDATE, per statement, with the new rows (river_job_inboxq_updated,
-- 0007): events, fair-share admission, and owners' alerts. Supersedes 0007,
-- 0010 and 0011; changed here: the grouped events' "state" is the task
-- state (grouped by it), no longer River's with "cancel" and "errors".
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
    FOR msg IN
        SELECT '{"t":"jobs","h":' || json_build_object(
                   'state', inboxq_task_state(n.state, n.metadata, n.errors), 'kind', n.kind, 'queue', n.queue,
                   'owner', n.args ->> 'owner_id', 'attempt', n.attempt, 'max_attempts', n.max_attempts,
                   'priority', inboxq_task_priority(n.priority, n.metadata), 'at', clock_timestamp())::text
               || ',"ids":[' || string_agg(n.id::text, ',') || ']}'
        FROM new_jobs n
        WHERE n.state NOT IN ('retryable', 'discarded', 'cancelled')
          AND NOT (n.state = 'completed' AND n.metadata ? 'output')
        GROUP BY inboxq_task_state(n.state, n.metadata, n.errors), n.kind, n.queue, n.args ->> 'owner_id',
                 n.attempt, n.max_attempts, inboxq_task_priority(n.priority, n.metadata), n.id / 350
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

-- AFTER DELETE, per statement, with the old rows (river_job_inboxq_deleted,
-- 0007): progress goes with its job. (task_progress has no foreign key:
-- with one, every progress write locked its job row, which River's
-- completer then had to update through a MultiXact.) Supersedes 0007 (same
-- body).
CREATE OR REPLACE FUNCTION inboxq_forget_progress() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM task_progress p USING deleted_jobs d WHERE p.job_id = d.id;
    RETURN NULL;
END
$$;

-- ---------------------------------------------------------------------------
-- Other tables' notify triggers.

-- AFTER INSERT ON alert, per row (alert_inboxq_notify, 0006): announces a
-- new alert on the events channel. Supersedes 0006 (same body).
CREATE OR REPLACE FUNCTION inboxq_notify_alert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_TABLE_SCHEMA || '.inboxq_events', json_build_object(
        't', 'alert', 'id', NEW.id, 'owner', NEW.user_id, 'severity', NEW.severity,
        'title', left(NEW.title, 200), 'message', left(NEW.message, 500), 'task_id', NEW.task_id,
        'at', NEW.created_at)::text);
    RETURN NULL;
END
$$;

-- AFTER UPDATE OF revoked_at ON api_token, per row, when a token is
-- revoked (api_token_inboxq_revoked, 0013): every process ends the event
-- streams opened with the token, or with an events token it minted,
--   {"t":"revoked","id":token id,"parent":parent token id or null}
-- Supersedes 0013 (same body).
CREATE OR REPLACE FUNCTION inboxq_notify_token_revoked() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_TABLE_SCHEMA || '.inboxq_events', json_build_object(
        't', 'revoked', 'id', NEW.id, 'parent', NEW.parent_id)::text);
    RETURN NULL;
END
$$;
