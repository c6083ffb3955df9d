-- Live progress and events.
--
-- task_progress holds what a worker last reported for a task; it survives
-- retries (one row per job) and goes with the job when River's cleaner
-- deletes it.
CREATE TABLE task_progress (
    job_id     bigint           PRIMARY KEY REFERENCES river_job (id) ON DELETE CASCADE,
    done       bigint           NOT NULL DEFAULT 0 CHECK (done >= 0),
    total      bigint           CHECK (total >= 0),
    stage      text             NOT NULL DEFAULT '',
    message    text             NOT NULL DEFAULT '',
    rate       double precision NOT NULL DEFAULT 0, -- items per second, recent
    updated_at timestamptz      NOT NULL DEFAULT now()
);

ALTER TABLE alert ADD COLUMN task_id bigint;

-- Every change of a task's visible state raises a NOTIFY on
-- "<schema>.inboxq_events", in the transaction that made it, whoever made it
-- (a worker, River's rescuer or scheduler, River UI, the API). Payloads stay
-- small: ids, states, a truncated error, a small result.
-- Failures, and completions of kinds that ask for it (metadata.notify), also
-- leave a notification for the task's owner.
CREATE FUNCTION inboxq_notify_job() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    st    text := inboxq_task_state(NEW.state, NEW.metadata, NEW.errors);
    prev  text;
    err   text;
    owner text := NEW.args ->> 'owner_id';
BEGIN
    IF TG_OP = 'UPDATE' THEN
        prev := inboxq_task_state(OLD.state, OLD.metadata, OLD.errors);
        IF prev = st AND OLD.attempt = NEW.attempt THEN
            RETURN NULL;
        END IF;
    END IF;
    IF owner !~ '^[0-9]{1,18}$' THEN
        owner := NULL;
    END IF;
    IF st IN ('retrying', 'failed', 'cancelled') AND coalesce(cardinality(NEW.errors), 0) > 0 THEN
        err := left(NEW.errors[cardinality(NEW.errors)] ->> 'error', 500);
    END IF;
    PERFORM pg_notify(TG_TABLE_SCHEMA || '.inboxq_events', json_build_object(
        't', 'task', 'id', NEW.id, 'kind', NEW.kind, 'queue', NEW.queue, 'owner', owner::bigint,
        'state', st, 'prev', prev, 'attempt', NEW.attempt, 'max_attempts', NEW.max_attempts,
        'priority', NEW.priority, 'error', err,
        'result', CASE WHEN st = 'completed' AND octet_length((NEW.metadata -> 'output')::text) <= 1000
                       THEN NEW.metadata -> 'output' END,
        'at', clock_timestamp())::text);
    IF owner IS NOT NULL AND prev IS DISTINCT FROM st
       AND (st = 'failed' OR (st = 'completed' AND NEW.metadata ? 'notify')) THEN
        INSERT INTO alert (user_id, key, severity, title, message, task_id, resolved_at)
        VALUES (owner::bigint, 'task:' || NEW.id || ':' || st,
                CASE st WHEN 'failed' THEN 'critical' ELSE 'info' END,
                replace(NEW.kind, '_', ' ') || ' ' || st,
                coalesce(err, ''), NEW.id, now());
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER river_job_inboxq_notify
    AFTER INSERT OR UPDATE ON river_job
    FOR EACH ROW EXECUTE FUNCTION inboxq_notify_job();

CREATE FUNCTION inboxq_notify_alert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_TABLE_SCHEMA || '.inboxq_events', json_build_object(
        't', 'alert', 'id', NEW.id, 'owner', NEW.user_id, 'severity', NEW.severity,
        'title', left(NEW.title, 200), 'message', left(NEW.message, 500), 'task_id', NEW.task_id,
        'at', NEW.created_at)::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER alert_inboxq_notify
    AFTER INSERT ON alert
    FOR EACH ROW EXECUTE FUNCTION inboxq_notify_alert();

-- Short-lived tokens that only open event streams: a browser's EventSource
-- cannot send headers, so it passes one of these in the URL instead of the
-- long-lived API token.
ALTER TABLE api_token ADD COLUMN purpose text NOT NULL DEFAULT 'api' CHECK (purpose IN ('api', 'events'));
