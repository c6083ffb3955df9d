-- Jobs starting are announced by a query of their own.
--
-- River's producer fetches a queue's next jobs in one statement and waits
-- for it before it fetches again: under load it spends most of its time
-- fetching, so the fetch's latency sets how fast a queue drains (a pgx
-- tracer in BenchmarkNoopThroughput: about 230 fetches of ~95 jobs per
-- 22,000 jobs, inboxq's 4.6 ms on average against raw River's 4.2).
-- inboxq's triggers are part of that statement. In one session
-- (EXPLAIN ANALYZE of 500 fetch-like updates of 95 jobs, each rolled
-- back) they took 0.20-0.27 ms, 11-12 % of the statement: the events
-- query ~0.14 ms, much of it work that only other changes need (the
-- final report, the row tests), the fair-share and rare-row checks
-- ~0.02 ms, and the workflow trigger's scan for finished steps ~0.02 ms.
-- With the starts' own query below, and the workflow trigger told there
-- is nothing for it, 0.14-0.18 ms, 8-9 % of the statement. The events
-- are the same (TestStartsAreAnnouncedAsAnyChange).

-- AFTER UPDATE, per statement (river_job_inboxq_updated). Supersedes 0031;
-- changed here: the starts' own query, before the rest.
CREATE OR REPLACE FUNCTION inboxq_notify_updated_jobs() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ch          text := TG_TABLE_SCHEMA || '.inboxq_events';
    msg         text;
    ok          text;
    r           record;
    msgs        text[];
    starts_only boolean;
BEGIN
    -- Only statements that set state or attempt (see inboxq_mark_state_update):
    -- River's checkpoints update metadata alone.
    IF coalesce(current_setting('inboxq.state_update', true), '') <> 'on' THEN
        RETURN NULL;
    END IF;
    ok := set_config('inboxq.state_update', '', true);
    -- Nested statements are this function's own admissions and parkings:
    -- pending and available are the same task state, so they announce
    -- nothing and need no rebalancing.
    IF pg_trigger_depth() > 1 THEN
        RETURN NULL;
    END IF;

    -- Jobs starting: River's fetch, whose latency sets how fast a queue
    -- drains. Its rows all go to running, so their events need neither
    -- the final report, nor the row tests, nor anything after them (see
    -- the top of this file). A statement whose first row is running is
    -- most likely one; the query checks every row and, where one is not,
    -- what it built is dropped and the statement goes the general way.
    IF (SELECT n.state FROM new_jobs n LIMIT 1) = 'running' THEN
        SELECT array_agg(x.msg), bool_and(x.starts) INTO msgs, starts_only
        FROM (SELECT '{"t":"jobs","h":' || json_build_object(
                         'state', g.st, 'kind', g.kind, 'queue', g.queue, 'owner', g.owner, 'attempt', g.attempt,
                         'max_attempts', g.max_attempts, 'priority', g.prio, 'at', clock_timestamp())::text
                     || ',"ids":[' || string_agg(g.id::text, ',') || ']}' AS msg,
                     g.starts
              FROM (SELECT n.id, n.kind COLLATE "C" AS kind, n.queue COLLATE "C" AS queue,
                           (n.args ->> 'owner_id') COLLATE "C" AS owner, n.attempt, n.max_attempts,
                           -- inboxq_task_state of a running job
                           CASE WHEN n.metadata ? 'cancel_attempted_at' THEN 'cancelling' ELSE 'running' END COLLATE "C" AS st,
                           inboxq_task_priority(n.priority, n.metadata) AS prio,
                           n.state = 'running' AS starts
                    FROM new_jobs n
                    OFFSET 0) g
              GROUP BY g.id / 350, g.starts, g.st, g.kind, g.queue, g.owner, g.attempt, g.max_attempts, g.prio) x;
        IF starts_only THEN
            FOREACH msg IN ARRAY msgs LOOP
                PERFORM pg_notify(ch, msg);
            END LOOP;
            -- Nor do they finish any workflow step: the workflow trigger,
            -- next, returns at once (and clears this).
            ok := set_config('inboxq.starts_only', 'on', true);
            RETURN NULL;
        END IF;
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
    -- whole: inlined, the report's test ran four times a row) and text
    -- keys compare as bytes. No aggregate is ordered, so the groups are
    -- hashed (see the top of this file).
    FOR msg IN
        SELECT '{"t":"jobs","h":' || json_build_object(
                   'state', g.st, 'kind', g.kind, 'queue', g.queue, 'owner', g.owner, 'attempt', g.attempt,
                   'max_attempts', g.max_attempts, 'priority', g.prio, 'at', clock_timestamp())::text
               || ',"ids":[' || string_agg(g.id::text, ',') || ']'
               || CASE WHEN g.fp IS NULL THEN '' ELSE ',"p":[' || string_agg(g.fp, ',') || ']' END
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
                AND NOT (n.state = 'completed' AND n.metadata ? 'workflow_id' AND inboxq_step_recorded(n.id))
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
        WHERE (n.state IN ('retryable', 'discarded', 'cancelled')
               OR (n.state = 'completed' AND (n.metadata ? 'output' OR coalesce(jsonb_typeof(n.metadata -> 'progress'), '') = 'object')))
          AND NOT (n.state = 'completed' AND n.metadata ? 'workflow_id' AND inboxq_step_recorded(n.id))
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

-- AFTER UPDATE, per statement (river_job_inboxq_workflow). Supersedes 0025;
-- changed here: a statement of starts alone (inboxq_notify_updated_jobs,
-- which fires first, says so) finishes no step and costs no scan.
CREATE OR REPLACE FUNCTION inboxq_workflow_steps_finished() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    j  river_job;
    ok text;
BEGIN
    IF current_setting('inboxq.starts_only', true) = 'on' THEN
        ok := set_config('inboxq.starts_only', '', true);
        RETURN NULL;
    END IF;
    FOR j IN
        SELECT n.* FROM new_jobs n
        WHERE n.state IN ('completed', 'cancelled', 'discarded') AND n.metadata ? 'workflow_id'
        ORDER BY (n.metadata ->> 'workflow_id')::bigint, n.id
    LOOP
        PERFORM inboxq_workflow_step_finish(j, TG_TABLE_SCHEMA);
    END LOOP;
    RETURN NULL;
END
$$;
