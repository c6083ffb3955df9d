-- Raise task events only for UPDATEs that set state or attempt. River's
-- checkpoints (ResumableSetStepCursorTx) and recorded output update only
-- metadata; with 0007 every page of a sync announced the task as "started"
-- again. Postgres allows no column list on a trigger with transition tables,
-- so a column-list statement trigger (no transition table, cheap) marks the
-- statement, and the transition trigger acts only when marked. AFTER
-- statement triggers fire in name order: "..._mark" before "..._updated".
-- River's own state changes, its cancel included (it sets state = state for
-- a running job along with the cancel marker), always name the state column.
CREATE FUNCTION inboxq_mark_state_update() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('inboxq.state_update', 'on', true);
    RETURN NULL;
END
$$;

CREATE TRIGGER river_job_inboxq_mark
    AFTER UPDATE OF state, attempt ON river_job
    FOR EACH STATEMENT EXECUTE FUNCTION inboxq_mark_state_update();

-- inboxq_notify_updated_jobs of 0007, with the mark checked first.
CREATE OR REPLACE FUNCTION inboxq_notify_updated_jobs() RETURNS trigger
LANGUAGE plpgsql
SET enable_sort = off -- transition tables have no statistics; hashing beats sorting them
AS $$
DECLARE
    ch  text := TG_TABLE_SCHEMA || '.inboxq_events';
    msg text;
BEGIN
    -- Only statements that set state or attempt (see inboxq_mark_state_update).
    IF coalesce(current_setting('inboxq.state_update', true), '') <> 'on' THEN
        RETURN NULL;
    END IF;
    PERFORM set_config('inboxq.state_update', '', true);

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
