-- A short task's final progress is stored as [done, total] when it is
-- numbers only, and the update trigger tests each row with one key lookup.
--
-- EXPLAIN ANALYZE of River's completion statement (700 no-op jobs that
-- reported progress once, same session, plans cached) put
-- river_job_inboxq_updated at 4.5 ms: 6.4 µs a row, most of a no-op task's
-- trigger cost. Each row's report was read by path (metadata #>
-- '{progress,done}') up to eight times: in the plain events' filter, in
-- the pair built for them, in the test for rare rows and again in their
-- loop. Now the Go side writes a numbers-only report as a JSON array
-- (store.FinalProgress: [done, total], total null when unknown), which the
-- trigger copies into the event as it is, and a report with a stage or
-- message as the object it was; the trigger tells them apart by
-- jsonb_typeof of one key. Reports written before this migration (objects)
-- still read everywhere; a numbers-only one among them now comes whole in
-- its task's own event, as a report with words does.

-- inboxq_final_progress is a finished attempt's numbers-only final report
-- as a grouped event carries it, "[done, total]"; NULL when the attempt
-- left none, or left an object (inboxq_final_progress_full). Longer than
-- two int64 numbers can be and it is left out, so a group of 100 stays
-- under the payload limit whatever the metadata holds.
CREATE OR REPLACE FUNCTION inboxq_final_progress(state river_job_state, metadata jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN state IN ('completed', 'retryable', 'discarded', 'cancelled')
                     AND jsonb_typeof(metadata -> 'progress') = 'array'
                     AND octet_length((metadata -> 'progress')::text) <= 45
                THEN (metadata -> 'progress')::text
           END
$$;

-- inboxq_final_progress_full is a finished attempt's final report with a
-- stage or message (a person reads "276 messages in 1 call"), whole, for
-- the task's own event; NULL otherwise, or when it could not fit one
-- notification.
CREATE OR REPLACE FUNCTION inboxq_final_progress_full(state river_job_state, metadata jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN state IN ('completed', 'retryable', 'discarded', 'cancelled')
                     AND jsonb_typeof(metadata -> 'progress') = 'object'
                     AND octet_length((metadata -> 'progress')::text) <= 2000
                THEN metadata -> 'progress'
           END
$$;

-- AFTER UPDATE, per statement (river_job_inboxq_updated). Supersedes 0026;
-- changed here: which rows are plain and which rare is decided by the
-- type of metadata.progress, not by reading the report.
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
                  AND NOT j.metadata ? 'workflow_wait'
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

-- AFTER INSERT, per statement (river_job_inboxq_inserted). Supersedes 0026;
-- changed here: each row's keys computed once, the id bucket first.
CREATE OR REPLACE FUNCTION inboxq_notify_inserted_jobs() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ch  text := TG_TABLE_SCHEMA || '.inboxq_events';
    msg text;
    r   record;
BEGIN
    -- Keys as the update trigger computes them (see there).
    FOR msg IN
        SELECT '{"t":"jobs","h":' || json_build_object(
                   'state', g.st, 'created', true, 'kind', g.kind, 'queue', g.queue, 'owner', g.owner,
                   'attempt', g.attempt, 'max_attempts', g.max_attempts, 'priority', g.prio, 'at', clock_timestamp())::text
               || ',"ids":[' || string_agg(g.id::text, ',') || ']}'
        FROM (SELECT n.id, n.kind COLLATE "C" AS kind, n.queue COLLATE "C" AS queue,
                     (n.args ->> 'owner_id') COLLATE "C" AS owner, n.attempt, n.max_attempts,
                     inboxq_task_state(n.state, n.metadata, n.errors) COLLATE "C" AS st,
                     inboxq_task_priority(n.priority, n.metadata) AS prio
              FROM new_jobs n
              OFFSET 0) g
        GROUP BY g.id / 350, g.st, g.kind, g.queue, g.owner, g.attempt, g.max_attempts, g.prio
    LOOP
        PERFORM pg_notify(ch, msg);
    END LOOP;

    -- Parking (ready and pending are the same task state: the events above
    -- stand). Only queues with a cap; only users the statement made ready
    -- jobs for.
    IF EXISTS (SELECT 1 FROM fair_queue) THEN
        FOR r IN SELECT DISTINCT n.queue, n.args ->> 'owner_id' AS owner FROM new_jobs n
                 JOIN fair_queue f ON f.queue = n.queue
                 WHERE n.state = 'available' AND n.args ? 'owner_id' LOOP
            PERFORM inboxq_fair_rebalance(r.queue, r.owner);
        END LOOP;
    END IF;
    RETURN NULL;
END
$$;
