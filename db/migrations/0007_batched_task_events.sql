-- Task events, batched. River changes jobs in batches (one INSERT or COPY
-- for many, one UPDATE to start or complete many), yet the row trigger of
-- 0006 raised one NOTIFY, and built one JSON object, per job: no-op jobs ran
-- at 57 % of raw River's rate. These statement triggers read the transition
-- tables and describe a batch compactly: changes that differ only by job id
-- share one NOTIFY,
--   {"t":"jobs","h":{"state":River state,"kind":…,"queue":…,"owner":…,"attempt":…,
--    "max_attempts":…,"priority":…,"cancel":bool,"errors":bool},"ids":[…]}
-- (inserts carry "created":true)
-- (at most 350 ids, so always under 8000 bytes); the hub maps River states to
-- task states as inboxq_task_state does. Only the rare change that carries an
-- error or a result is described on its own ({"t":"task", …}), and only
-- failures and asked-for completions touch the alert table. Per row the
-- trigger does no JSON and calls no function: measured, 0006's per-row work
-- cost 27 µs on a 20,000-row UPDATE, this costs about 5.
DROP TRIGGER river_job_inboxq_notify ON river_job;

-- The owner index of 0003 was maintained on every job state change (River's
-- updates are never HOT) and cost about 8 % of no-op throughput; the owner
-- filter is now a containment (args @> '{"owner_id": N}') that River's own
-- GIN index on args answers.
DROP INDEX river_job_owner_id_idx;
DROP FUNCTION inboxq_notify_job();

CREATE FUNCTION inboxq_notify_inserted_jobs() RETURNS trigger
LANGUAGE plpgsql
SET enable_sort = off -- transition tables have no statistics; hashing beats sorting them
AS $$
DECLARE
    ch  text := TG_TABLE_SCHEMA || '.inboxq_events';
    msg text;
BEGIN
    FOR msg IN
        SELECT '{"t":"jobs","h":' || json_build_object(
                   'state', n.state, 'created', true, 'kind', n.kind, 'queue', n.queue, 'owner', n.args ->> 'owner_id',
                   'attempt', n.attempt, 'max_attempts', n.max_attempts, 'priority', n.priority,
                   'at', clock_timestamp())::text
               || ',"ids":[' || string_agg(n.id::text, ',') || ']}'
        FROM new_jobs n
        GROUP BY n.state, n.kind, n.queue, n.args ->> 'owner_id', n.attempt, n.max_attempts, n.priority, n.id / 350
    LOOP
        PERFORM pg_notify(ch, msg);
    END LOOP;
    RETURN NULL;
END
$$;

CREATE FUNCTION inboxq_notify_updated_jobs() RETURNS trigger
LANGUAGE plpgsql
SET enable_sort = off -- transition tables have no statistics; hashing beats sorting them
AS $$
DECLARE
    ch  text := TG_TABLE_SCHEMA || '.inboxq_events';
    msg text;
BEGIN
    -- Plain changes, grouped. Only the new rows are read: River updates a
    -- job only to change its state (or, for a cancel, its metadata), and
    -- joining the old rows cost more than the rare repeated event it avoids.
    FOR msg IN
        SELECT '{"t":"jobs","h":' || json_build_object(
                   'state', n.state, 'kind', n.kind, 'queue', n.queue,
                   'owner', n.args ->> 'owner_id', 'attempt', n.attempt, 'max_attempts', n.max_attempts,
                   'priority', n.priority, 'cancel', n.metadata ? 'cancel_attempted_at',
                   'errors', cardinality(n.errors) > 0, 'at', clock_timestamp())::text
               || ',"ids":[' || string_agg(n.id::text, ',') || ']}'
        FROM new_jobs n
        WHERE n.state NOT IN ('retryable', 'discarded', 'cancelled')
          AND NOT (n.state = 'completed' AND n.metadata ? 'output')
        GROUP BY n.state, n.kind, n.queue, n.args ->> 'owner_id', n.attempt, n.max_attempts, n.priority,
                 n.metadata ? 'cancel_attempted_at', cardinality(n.errors) > 0, n.id / 350
    LOOP
        PERFORM pg_notify(ch, msg);
    END LOOP;

    -- The rest concerns rare rows; most batches (jobs starting, or completing
    -- without output) end here after one cheap scan.
    IF NOT EXISTS (SELECT 1 FROM new_jobs n
                   WHERE n.state IN ('retryable', 'discarded', 'cancelled')
                      OR (n.state = 'completed' AND (n.metadata ? 'output' OR n.metadata ? 'notify'))) THEN
        RETURN NULL;
    END IF;

    -- Changes that carry an error or a result, one by one.
    FOR msg IN
        SELECT json_build_object(
                   't', 'task', 'id', n.id, 'kind', n.kind, 'queue', n.queue,
                   'owner', inboxq_job_owner(n.args), 'state', inboxq_task_state(n.state, n.metadata, n.errors),
                   'attempt', n.attempt, 'max_attempts', n.max_attempts, 'priority', n.priority,
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

CREATE FUNCTION inboxq_job_owner(args jsonb) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN args ->> 'owner_id' ~ '^[0-9]{1,18}$' THEN (args ->> 'owner_id')::bigint END
$$;

CREATE TRIGGER river_job_inboxq_inserted
    AFTER INSERT ON river_job
    REFERENCING NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION inboxq_notify_inserted_jobs();

CREATE TRIGGER river_job_inboxq_updated
    AFTER UPDATE ON river_job
    REFERENCING NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION inboxq_notify_updated_jobs();

CREATE INDEX alert_task_idx ON alert (task_id) WHERE task_id IS NOT NULL;

-- task_progress's foreign key made every progress write lock its job row
-- (FOR KEY SHARE), which River's completer then had to update through a
-- MultiXact: a no-op job that reported once ran at 6 % of River's rate.
-- Progress goes with its job through a statement trigger instead.
ALTER TABLE task_progress DROP CONSTRAINT task_progress_job_id_fkey;

CREATE FUNCTION inboxq_forget_progress() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM task_progress p USING deleted_jobs d WHERE p.job_id = d.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER river_job_inboxq_deleted
    AFTER DELETE ON river_job
    REFERENCING OLD TABLE AS deleted_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION inboxq_forget_progress();
