-- Workflow steps complete at once, and their completions cost the same
-- whatever the workflow's size.
--
-- River's completer commits completions in batches, every 250 ms unless
-- 100 wait, and a workflow's next step waited for that batch (callback
-- delay p99 ~250 ms, make bench). A finished step is now completed at once
-- by the process that ran it (jobs.StepCompleter, many in one statement),
-- which runs the workflow trigger as any completion does; River completes
-- it again later, which must announce nothing (below).
--
-- A finishing step counts its dependents down by their whole primary key,
-- one statement each. The set form (`step = ANY (s.dependents)`) ran on
-- PL/pgSQL's cached generic plan, which cannot know how many steps a
-- workflow has: with the statistics of a database of small workflows it
-- chose the (workflow_id, name) index and filtered every step of the
-- workflow, for every finishing step (auto_explain: "Rows Removed by
-- Filter: 1000", 0.2-0.3 ms a step of a 1,000-step group), so a group's
-- completions cost its size squared. By the whole key the plan is one
-- unique lookup whatever the statistics. Every dependent's change is still
-- made under the workflow's row lock, taken first.

-- inboxq_workflow_step_finish (0025), changed where marked.
CREATE OR REPLACE FUNCTION inboxq_workflow_step_finish(job river_job, sch text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    ch       text := sch || '.inboxq_events';
    v_outcome text;
    v_failed  integer;
    s        workflow_step;
    wf       workflow;
    d        record;
    v_dep    integer;
    v_release bigint[] := '{}';
    v_skip    bigint[] := '{}';
    v_drop    bigint[] := '{}';
    r        record;
BEGIN
    v_outcome := CASE WHEN job.metadata ? 'workflow_skipped' THEN 'skipped'
                    ELSE inboxq_task_state(job.state, job.metadata, job.errors) END;
    v_failed := (v_outcome <> 'completed')::integer;

    -- The workflow's row lock orders every change to one workflow.
    UPDATE workflow w SET steps_open = w.steps_open - 1,
                          steps_failed = w.steps_failed + (v_outcome = 'failed')::integer,
                          steps_cancelled = w.steps_cancelled + (v_outcome = 'cancelled')::integer,
                          finished_at = CASE WHEN w.steps_open = 1 THEN now() END
    WHERE w.id = (job.metadata ->> 'workflow_id')::bigint
      AND EXISTS (SELECT 1 FROM workflow_step x WHERE x.job_id = job.id AND x.outcome IS NULL)
    RETURNING w.* INTO wf;
    IF NOT FOUND THEN
        RETURN; -- already counted (e.g. a metadata change to a finished step)
    END IF;

    UPDATE workflow_step x SET outcome = v_outcome, finished_at = now(),
           result = job.metadata -> 'output',
           error = CASE WHEN v_outcome = 'skipped' THEN job.metadata ->> 'workflow_skipped'
                        WHEN cardinality(job.errors) > 0 THEN left(job.errors[cardinality(job.errors)] ->> 'error', 2000) END
    WHERE x.job_id = job.id
    RETURNING x.* INTO s;

    -- Count down each dependent and decide the ones this settles (changed
    -- here: by the whole key, one dependent at a time).
    FOREACH v_dep IN ARRAY s.dependents LOOP
        UPDATE workflow_step x SET waiting = x.waiting - 1, deps_failed = x.deps_failed + v_failed
        WHERE x.workflow_id = s.workflow_id AND x.step = v_dep AND x.outcome IS NULL
        RETURNING x.job_id, x.run_when, x.waiting, x.deps_failed INTO d;
        CONTINUE WHEN NOT FOUND;
        IF d.run_when = 'success' AND d.deps_failed > 0 AND (wf.policy = 'stop' OR wf.cancelled_at IS NOT NULL) THEN
            v_skip := v_skip || d.job_id;
        ELSIF d.waiting > 0 THEN
            CONTINUE;
        ELSIF d.run_when = 'failure' AND d.deps_failed = 0 THEN
            -- A cleanup nobody needs: skipped, and its task removed so
            -- that every export does not leave a cancelled task behind.
            v_skip := v_skip || d.job_id;
            v_drop := v_drop || d.job_id;
        ELSIF d.run_when = 'success' AND wf.cancelled_at IS NOT NULL THEN
            v_skip := v_skip || d.job_id;
        ELSE
            v_release := v_release || d.job_id;
        END IF;
    END LOOP;

    IF cardinality(v_release) > 0 THEN
        FOR r IN
            UPDATE river_job j SET state = 'available', scheduled_at = now(), metadata = j.metadata - 'workflow_wait'
            WHERE j.id = ANY (v_release) AND j.state = 'pending' AND j.metadata ? 'workflow_wait'
            RETURNING j.queue, j.args ->> 'owner_id' AS owner
        LOOP
            PERFORM inboxq_fair_rebalance(r.queue, r.owner);
            -- Wake River's producers now rather than at their next poll.
            PERFORM pg_notify(sch || '.river_insert', json_build_object('queue', r.queue)::text);
        END LOOP;
    END IF;
    IF cardinality(v_skip) > 0 THEN
        -- Finishing them runs this function for each: skips cascade.
        UPDATE river_job j SET state = 'cancelled', finalized_at = now(),
               metadata = (j.metadata - 'workflow_wait') || jsonb_build_object('workflow_skipped',
                   CASE WHEN wf.cancelled_at IS NOT NULL THEN 'the workflow was cancelled'
                        WHEN v_outcome = 'completed' THEN 'not needed: every step it waits for completed'
                        ELSE 'step ' || s.name || ' ' || v_outcome END)
        WHERE j.id = ANY (v_skip) AND j.state = 'pending' AND j.metadata ? 'workflow_wait';
        -- Nested statements announce nothing (inboxq_notify_updated_jobs):
        -- announce the skipped tasks here.
        FOR r IN
            SELECT '{"t":"jobs","h":' || json_build_object(
                       'state', 'cancelled', 'kind', j.kind, 'queue', j.queue, 'owner', j.args ->> 'owner_id',
                       'attempt', j.attempt, 'max_attempts', j.max_attempts,
                       'priority', inboxq_task_priority(j.priority, j.metadata), 'at', clock_timestamp())::text
                   || ',"ids":[' || string_agg(j.id::text, ',') || ']}' AS msg
            FROM river_job j WHERE j.id = ANY (v_skip) AND NOT j.id = ANY (v_drop) AND j.state = 'cancelled'
            GROUP BY j.kind, j.queue, j.args ->> 'owner_id', j.attempt, j.max_attempts, inboxq_task_priority(j.priority, j.metadata)
        LOOP
            PERFORM pg_notify(ch, r.msg);
        END LOOP;
        IF cardinality(v_drop) > 0 THEN
            -- Their steps recorded the outcome above (the nested trigger).
            DELETE FROM river_job j WHERE j.id = ANY (v_drop) AND j.state = 'cancelled' AND j.metadata ? 'workflow_skipped';
        END IF;
    END IF;

    -- The workflow's own event: how many steps are finished, and its state
    -- when this was the last.
    PERFORM pg_notify(ch, json_build_object(
        't', 'workflow', 'id', wf.id, 'owner', wf.owner_id, 'run', wf.run,
        'state', inboxq_workflow_state(wf.steps_open, wf.steps_failed, wf.steps_cancelled, wf.cancelled_at, wf.finished_at, true),
        'steps_total', wf.steps_total, 'steps_finished', wf.steps_total - wf.steps_open,
        'steps_failed', wf.steps_failed + wf.steps_cancelled, 'step', s.name, 'task_id', job.id, 'at', clock_timestamp())::text);
    IF wf.finished_at IS NOT NULL THEN
        INSERT INTO alert (user_id, key, severity, title, message, resolved_at)
        SELECT wf.owner_id, 'workflow:' || wf.id || ':' || wf.run,
               CASE WHEN wf.steps_failed > 0 AND wf.cancelled_at IS NULL THEN 'critical' ELSE 'info' END,
               wf.name || ' ' || inboxq_workflow_state(wf.steps_open, wf.steps_failed, wf.steps_cancelled, wf.cancelled_at, wf.finished_at, true),
               CASE WHEN wf.steps_failed + wf.steps_cancelled > 0
                    THEN (wf.steps_failed + wf.steps_cancelled) || ' of ' || wf.steps_total || ' steps did not complete' ELSE '' END,
               now()
        WHERE NOT EXISTS (SELECT 1 FROM alert a WHERE a.user_id = wf.owner_id AND a.key = 'workflow:' || wf.id || ':' || wf.run)
          -- A failure always; a completion when someone started it (not a
          -- schedule: a refresh every 30 minutes is no news); a cancel never
          -- (whoever cancelled knows).
          AND ((wf.steps_failed > 0 AND wf.cancelled_at IS NULL)
               OR (wf.steps_failed + wf.steps_cancelled = 0 AND wf.schedule_id IS NULL));
    END IF;
END
$$;

-- A workflow step is completed as soon as its work returns
-- (jobs.StepCompleter), and River's completer completes it again when its
-- batch comes: a completed job stays completed, and River merges the
-- attempt's metadata (its result, its last progress) into the row once
-- more. That second update must announce nothing: the step's outcome is
-- recorded by then (inboxq_workflow_steps_finished, which runs after this
-- trigger: triggers fire in name order), so a completed step whose outcome
-- is recorded is an announced one.
CREATE FUNCTION inboxq_step_recorded(job_id bigint) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT EXISTS (SELECT 1 FROM workflow_step x WHERE x.job_id = $1 AND x.outcome IS NOT NULL)
$$;

-- AFTER UPDATE, per statement (river_job_inboxq_updated). Supersedes 0028;
-- changed here: a workflow step completed again announces nothing.
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
