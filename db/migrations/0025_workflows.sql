-- Workflows: a graph of tasks tracked as one (issue 15).
--
-- A workflow is a directed acyclic graph of steps; each step is a River
-- job, inserted with the rest in the one transaction that creates the
-- workflow. A step with dependencies waits in River's `pending` state,
-- marked metadata.workflow_wait (so fair-share admission, which also uses
-- `pending`, leaves it alone), until the dependencies it needs have
-- finished. The graph and each step's outcome live here; the job is still
-- the step's state, attempts, errors and progress while it exists.
--
-- Its end leaves the owner an alert when it failed, or completed without
-- a schedule having started it.
--
-- Exactly once. A step's dependents are released by a trigger on river_job,
-- in the transaction that finishes the step, whoever finishes it: River's
-- completer, a worker's own river.JobCompleteTx (a step that grows the
-- graph adds its steps and completes in one transaction), a cancel, River's
-- discard after the last attempt, River UI. Each step records its outcome
-- once (`outcome IS NULL` is the guard), and each dependent counts its
-- unfinished dependencies down under its row lock: the transaction that
-- takes the count to zero releases it, and no other can. No poller: a
-- crash before commit finishes nothing and releases nothing; a crash after
-- commit has done both.
--
-- Outcomes: completed; failed (task state failed); cancelled (someone
-- cancelled it); skipped (the workflow did not need it: a dependency failed
-- under the stop policy, or a callback whose condition did not hold).
--
-- When a step runs, once every dependency has finished (`run_when`):
--   success: every dependency completed; under the workflow's `continue`
--            policy, whatever their outcome (it reads what failed).
--            Under `stop`, a dependency that does not complete skips it at
--            once, and its own dependents with it.
--   failure: some dependency did not complete (the on-failure callback);
--            skipped otherwise.
--   done:    always.

CREATE TABLE workflow (
    id            bigserial   PRIMARY KEY,
    owner_id      bigint      NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    name          text        NOT NULL,
    policy        text        NOT NULL CHECK (policy IN ('stop', 'continue')),
    -- One unfinished workflow per owner and key (e.g. refresh:<account>).
    unique_key    text,
    schedule_id   bigint,
    steps_total   integer     NOT NULL CHECK (steps_total > 0),
    -- Steps not finished yet: the workflow is finished at zero.
    steps_open    integer     NOT NULL CHECK (steps_open >= 0),
    -- Steps that failed, and steps someone cancelled (skipped ones are
    -- not counted).
    steps_failed    integer   NOT NULL DEFAULT 0,
    steps_cancelled integer   NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    cancelled_at  timestamptz,
    finished_at   timestamptz,
    -- Bumped by each retry: alerts and events name the run.
    run           integer     NOT NULL DEFAULT 1
);
CREATE INDEX workflow_owner_idx ON workflow (owner_id, id DESC);
CREATE UNIQUE INDEX workflow_unique_key_idx ON workflow (owner_id, unique_key)
    WHERE unique_key IS NOT NULL AND finished_at IS NULL;

CREATE TABLE workflow_step (
    workflow_id  bigint      NOT NULL REFERENCES workflow (id) ON DELETE CASCADE,
    step         integer     NOT NULL CHECK (step >= 0),
    name         text        NOT NULL,
    kind         text        NOT NULL,
    job_id       bigint      NOT NULL UNIQUE,
    run_when     text        NOT NULL CHECK (run_when IN ('success', 'failure', 'done')),
    -- Positions in the workflow: what this step waits for, and who waits
    -- for it (kept both ways so a finishing step finds its dependents by key).
    deps         integer[]   NOT NULL DEFAULT '{}',
    dependents   integer[]   NOT NULL DEFAULT '{}',
    -- Dependencies not finished yet, and those finished without completing.
    waiting      integer     NOT NULL CHECK (waiting >= 0),
    deps_failed  integer     NOT NULL DEFAULT 0,
    outcome      text        CHECK (outcome IN ('completed', 'failed', 'cancelled', 'skipped')),
    finished_at  timestamptz,
    -- What the step returned (river.RecordOutput) or why it did not complete:
    -- kept here because River's cleaner removes finished jobs.
    result       jsonb,
    error        text,
    PRIMARY KEY (workflow_id, step),
    UNIQUE (workflow_id, name)
);

-- inboxq_workflow_step_finish settles one workflow step whose job has
-- reached a final River state (see inboxq_workflow_steps_finished, which
-- calls it; sch is river_job's schema, for the notification channels).
CREATE FUNCTION inboxq_workflow_step_finish(job river_job, sch text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    ch       text := sch || '.inboxq_events';
    v_outcome text;
    v_failed  integer;
    s        workflow_step;
    wf       workflow;
    d        record;
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

    -- Count down each dependent and decide the ones this settles.
    FOR d IN
        UPDATE workflow_step x SET waiting = x.waiting - 1, deps_failed = x.deps_failed + v_failed
        WHERE x.workflow_id = s.workflow_id AND x.step = ANY (s.dependents) AND x.outcome IS NULL
        RETURNING x.job_id, x.run_when, x.waiting, x.deps_failed
    LOOP
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

-- inboxq_workflow_steps_finished (AFTER UPDATE, per statement) settles the
-- workflow steps a statement finished, in workflow order: River's
-- completer finishes many jobs in one statement, and two processes'
-- batches that lock the same workflows in different orders would
-- deadlock (a row trigger takes them in the statement's row order). A
-- statement whose rows are no finished workflow steps costs one scan of
-- its rows.
CREATE FUNCTION inboxq_workflow_steps_finished() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    j river_job;
BEGIN
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

-- The state people see, from the workflow's counters: pending until a step
-- has started (`started`), running, cancelling; then failed when a step
-- failed, cancelled when someone cancelled it or a step, else completed.
CREATE FUNCTION inboxq_workflow_state(steps_open integer, steps_failed integer, steps_cancelled integer,
                                      cancelled_at timestamptz, finished_at timestamptz, started boolean) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN finished_at IS NOT NULL AND steps_failed > 0 AND cancelled_at IS NULL THEN 'failed'
        WHEN finished_at IS NOT NULL AND (cancelled_at IS NOT NULL OR steps_cancelled > 0) THEN 'cancelled'
        WHEN finished_at IS NOT NULL THEN 'completed'
        WHEN cancelled_at IS NOT NULL THEN 'cancelling'
        WHEN started THEN 'running'
        ELSE 'pending'
    END
$$;

CREATE TRIGGER river_job_inboxq_workflow AFTER UPDATE ON river_job
    REFERENCING NEW TABLE AS new_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION inboxq_workflow_steps_finished();

-- inboxq_workflow_steps_deleted (AFTER DELETE, per statement) settles the
-- unfinished steps whose jobs someone deleted (River UI can) as cancelled,
-- so that their workflow still ends. River's cleaner deletes only finished
-- jobs, whose steps are settled already.
CREATE FUNCTION inboxq_workflow_steps_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    j river_job;
BEGIN
    FOR j IN
        SELECT o.* FROM old_jobs o
        WHERE o.state NOT IN ('completed', 'cancelled', 'discarded') AND o.metadata ? 'workflow_id'
        ORDER BY (o.metadata ->> 'workflow_id')::bigint, o.id
    LOOP
        j.state := 'cancelled';
        j.metadata := (j.metadata - 'workflow_wait') || jsonb_build_object('cancel_attempted_at', now());
        j.errors := coalesce(j.errors, '{}') || jsonb_build_object('error', 'its task was deleted', 'at', now(), 'attempt', j.attempt);
        PERFORM inboxq_workflow_step_finish(j, TG_TABLE_SCHEMA);
    END LOOP;
    RETURN NULL;
END
$$;

CREATE TRIGGER river_job_inboxq_workflow_deleted AFTER DELETE ON river_job
    REFERENCING OLD TABLE AS old_jobs
    FOR EACH STATEMENT EXECUTE FUNCTION inboxq_workflow_steps_deleted();

-- ---------------------------------------------------------------------------
-- Each connected account gets a schedule that refreshes it every 30
-- minutes (refresh_mailbox starts the refresh-mailbox workflow), first
-- 30 minutes after it is connected: connecting starts nothing by itself
-- (the dashboard's Refresh mailbox does). Its owner may change or delete
-- it like any schedule; deleting the account deletes it.
CREATE FUNCTION inboxq_account_schedule() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO schedule (owner_id, name, cron, kind, args, priority, next_run_at)
        VALUES (NEW.owner_id, left('refresh ' || NEW.email, 100), '@every 30m', 'refresh_mailbox',
                jsonb_build_object('account_id', NEW.id), 3, now() + interval '30 minutes')
        ON CONFLICT (coalesce(owner_id, 0), name) DO NOTHING;
        RETURN NULL;
    END IF;
    DELETE FROM schedule
    WHERE owner_id = OLD.owner_id AND kind = 'refresh_mailbox' AND args ->> 'account_id' = OLD.id::text;
    RETURN NULL;
END
$$;
CREATE TRIGGER account_inboxq_schedule AFTER INSERT OR DELETE ON account
    FOR EACH ROW EXECUTE FUNCTION inboxq_account_schedule();
-- Accounts connected before this migration get theirs too.
INSERT INTO schedule (owner_id, name, cron, kind, args, priority, next_run_at)
SELECT a.owner_id, left('refresh ' || a.email, 100), '@every 30m', 'refresh_mailbox',
       jsonb_build_object('account_id', a.id), 3, now() + interval '30 minutes'
FROM account a
ON CONFLICT (coalesce(owner_id, 0), name) DO NOTHING;

-- ---------------------------------------------------------------------------
-- Fair-share admission (0011) leaves waiting workflow steps alone: the
-- three functions below are 0018's, whole, with that one condition added
-- (inboxq_fair_rebalance and inboxq_notify_updated_jobs admit no pending
-- job marked workflow_wait; inboxq_fair_park lets a job inserted pending
-- through without taking a slot). They supersede 0018's bodies.

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
                       AND NOT j.metadata ? 'workflow_wait'
                     ORDER BY j.metadata ->> 'priority', j.id
                     LIMIT cap - active
                     FOR UPDATE SKIP LOCKED);
    END IF;
END
$$;

CREATE OR REPLACE FUNCTION inboxq_fair_park() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    owner text    := NEW.args ->> 'owner_id';
    key   text    := 'inboxq.fair_' || md5(NEW.queue || '/' || owner);
    free  text    := current_setting(key, true);
    n     integer;
BEGIN
    IF NEW.state = 'pending' THEN
        RETURN NEW; -- inserted waiting (a workflow step): takes no slot
    END IF;
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
