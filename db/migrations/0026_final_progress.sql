-- A task's final progress rides on River's completion, progress is
-- announced in batches, and fair-share parking happens once per statement.
--
-- A no-op task that reported progress once cost a statement of its own
-- (an upsert into task_progress and a NOTIFY per task) and made its worker
-- wait for it: inboxq ran such tasks at about half River's rate. Now an
-- attempt that wrote no progress to task_progress (every short one) leaves
-- its last report in the job's metadata (river.MetadataSet), which River's
-- completer writes in the statement that ends the attempt; readers take
-- task_progress when a row exists, else metadata.progress. The task's own
-- state event carries its done and total; the periodic writes' progress
-- events are announced many to a notification.

-- inboxq_notify_progress announces progress events (each a JSON object
-- with "t":"progress") in as few notifications as fit under PostgreSQL's
-- 8,000-byte payload limit, in the order given: {"t":"progresses","p":[...]}.
-- Items are cut into runs of about 6,000 bytes by a running sum (an item is
-- at most ~1,500 bytes: its message is cut to 300 characters), so a run
-- stays under the limit without copying a growing buffer per item.
CREATE FUNCTION inboxq_notify_progress(ch text, items text[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(ch, '{"t":"progresses","p":[' || g.p || ']}')
    FROM (SELECT c.chunk, string_agg(c.item, ',' ORDER BY c.ord) AS p
          FROM (SELECT u.item, u.ord, sum(octet_length(u.item)) OVER (ORDER BY u.ord) / 6000 AS chunk
                FROM unnest(items) WITH ORDINALITY u(item, ord)) c
          GROUP BY c.chunk
          ORDER BY c.chunk) g;
END
$$;

-- inboxq_final_progress is a finished attempt's final progress as a
-- grouped event carries it, "[done,total]" (total may be null), when the
-- report is only numbers; NULL when the attempt left none, or a report
-- with a stage or message (inboxq_final_progress_full). Each number is cut
-- to 20 characters, so a pair is at most 43 bytes whatever the metadata
-- holds.
CREATE FUNCTION inboxq_final_progress(state river_job_state, metadata jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN state IN ('completed', 'retryable', 'discarded', 'cancelled')
                     AND jsonb_typeof(metadata #> '{progress,done}') = 'number'
                     AND NOT (metadata -> 'progress') ?| ARRAY['stage', 'message']
                THEN '[' || left((metadata #> '{progress,done}')::text, 20) || ','
                     || CASE WHEN jsonb_typeof(metadata #> '{progress,total}') = 'number'
                             THEN left((metadata #> '{progress,total}')::text, 20) ELSE 'null' END || ']'
           END
$$;

-- inboxq_final_progress_full is a finished attempt's final report with a
-- stage or message (a person reads "276 messages in 1 call"), whole, for
-- the task's own event; NULL otherwise, or when it could not fit one
-- notification.
CREATE FUNCTION inboxq_final_progress_full(state river_job_state, metadata jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN state IN ('completed', 'retryable', 'discarded', 'cancelled')
                     AND jsonb_typeof(metadata #> '{progress,done}') = 'number'
                     AND (metadata -> 'progress') ?| ARRAY['stage', 'message']
                     AND octet_length((metadata -> 'progress')::text) <= 2000
                THEN metadata -> 'progress'
           END
$$;

-- AFTER UPDATE, per statement (river_job_inboxq_updated). Supersedes 0025;
-- changed here: the events of a finished attempt carry its final progress.
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
    -- A finished attempt's final progress (metadata.progress, see
    -- progress.Reporter) rides along as "p": [done, total] per id (null for
    -- an id without), in groups of at most 100 ids so that the payload
    -- stays under 8,000 bytes (inboxq_final_progress bounds each pair).
    FOR msg IN
        SELECT '{"t":"jobs","h":' || json_build_object(
                   'state', inboxq_task_state(n.state, n.metadata, n.errors), 'kind', n.kind, 'queue', n.queue,
                   'owner', n.args ->> 'owner_id', 'attempt', n.attempt, 'max_attempts', n.max_attempts,
                   'priority', inboxq_task_priority(n.priority, n.metadata), 'at', clock_timestamp())::text
               || ',"ids":[' || string_agg(n.id::text, ',' ORDER BY n.id) || ']'
               || CASE WHEN f.fp IS NULL THEN ''
                       ELSE ',"p":[' || string_agg(f.fp, ',' ORDER BY n.id) || ']' END
               || '}'
        FROM new_jobs n
        CROSS JOIN LATERAL (SELECT inboxq_final_progress(n.state, n.metadata) AS fp) f
        WHERE n.state NOT IN ('retryable', 'discarded', 'cancelled')
          AND NOT (n.state = 'completed' AND n.metadata ? 'output')
          AND inboxq_final_progress_full(n.state, n.metadata) IS NULL
        GROUP BY inboxq_task_state(n.state, n.metadata, n.errors), n.kind, n.queue, n.args ->> 'owner_id',
                 n.attempt, n.max_attempts, inboxq_task_priority(n.priority, n.metadata),
                 f.fp IS NULL, n.id / CASE WHEN f.fp IS NULL THEN 350 ELSE 100 END
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
                      OR (n.state = 'completed' AND (n.metadata ? 'output' OR n.metadata ? 'notify'))
                      OR inboxq_final_progress_full(n.state, n.metadata) IS NOT NULL) THEN
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
        WHERE n.state IN ('retryable', 'discarded', 'cancelled') OR (n.state = 'completed' AND n.metadata ? 'output')
           OR inboxq_final_progress_full(n.state, n.metadata) IS NOT NULL
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

-- Fair-share parking, once per insert statement instead of once per row.
-- The BEFORE INSERT row trigger (river_job_inboxq_fair_park, 0011) ran a
-- PL/pgSQL function for every inserted job, queue cap or not (md5, a
-- setting read and written): ~10 µs of each no-op task's cost. Now the
-- insert trigger rebalances each (queue, user) the statement made ready
-- jobs for, with the rule the update trigger already uses
-- (inboxq_fair_rebalance: park the newest, lowest-priority ready jobs over
-- the cap). A parked job is written twice (inserted ready, then parked) in
-- the statement that inserts it; a job within the cap, the usual case,
-- costs nothing per row.
DROP TRIGGER river_job_inboxq_fair_park ON river_job;
DROP FUNCTION inboxq_fair_park();

-- AFTER INSERT, per statement (river_job_inboxq_inserted). Supersedes 0018;
-- changed here: parks what exceeds a user's cap.
CREATE OR REPLACE FUNCTION inboxq_notify_inserted_jobs() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ch  text := TG_TABLE_SCHEMA || '.inboxq_events';
    msg text;
    r   record;
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

-- A user's task indexes keyed by the owner's text in the C collation
-- instead of the jsonb value. River's updates are never HOT, so every
-- state change of an owned job inserts into river_job_inboxq_owner_idx,
-- and each insert compares its key a dozen times on the way down: jsonb
-- comparison (compareJsonbContainers) cost a no-op task about a third of
-- River's own CPU (measured: dropping the index took inboxq from 1.63 to
-- 1.31 × River's CPU per job). Text in "C" compares as bytes, and
-- extracting it costs what the jsonb key did (no regex, never fails an
-- insert). Owners are JSON numbers that inboxq writes, so the text is the
-- number's digits; queries compare (args ->> 'owner_id') COLLATE "C".
DROP INDEX river_job_inboxq_owner_idx;
DROP INDEX river_job_inboxq_owner_ended_badly_idx;
CREATE INDEX river_job_inboxq_owner_idx ON river_job (((args ->> 'owner_id')) COLLATE "C", id DESC)
    WHERE (args ->> 'owner_id') IS NOT NULL;
CREATE INDEX river_job_inboxq_owner_ended_badly_idx ON river_job (((args ->> 'owner_id')) COLLATE "C", id DESC)
    WHERE state IN ('discarded', 'cancelled') AND (args ->> 'owner_id') IS NOT NULL;
