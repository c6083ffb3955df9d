-- Analytics (internal/jobs/analytics.go): per-account daily rollups of the
-- stored mail, each user's bulk removals per day and top senders, and the
-- operators' task rollups per kind and day. update_analytics and
-- update_system_analytics keep them; the API reads only these tables (and
-- llm_usage, already a daily rollup, and account.last_synced_at).

-- Days whose messages changed since they were last rolled up: written by
-- statement triggers on message (inserts, updates, deletes, cascades from a
-- deleted account), consumed by update_analytics in the transaction that
-- rewrites those days. No foreign key: a deleted account's rows are dropped
-- by the next run.
CREATE TABLE analytics_dirty (
    account_id bigint NOT NULL,
    day        date   NOT NULL,
    PRIMARY KEY (account_id, day)
);

CREATE FUNCTION inboxq_analytics_dirty_new() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO analytics_dirty (account_id, day)
    SELECT DISTINCT account_id, (internal_date AT TIME ZONE 'UTC')::date FROM new_rows
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

CREATE FUNCTION inboxq_analytics_dirty_old() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO analytics_dirty (account_id, day)
    SELECT DISTINCT account_id, (internal_date AT TIME ZONE 'UTC')::date FROM old_rows
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END
$$;

-- A statement trigger per event (transition tables allow one event each).
-- An update keeps internal_date (Gmail never changes it), so its new rows
-- name every day it touched.
CREATE TRIGGER message_analytics_inserted AFTER INSERT ON message
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION inboxq_analytics_dirty_new();
CREATE TRIGGER message_analytics_updated AFTER UPDATE ON message
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION inboxq_analytics_dirty_new();
CREATE TRIGGER message_analytics_deleted AFTER DELETE ON message
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION inboxq_analytics_dirty_old();

-- Messages received per account, UTC day and shown category ('' when not
-- classified yet), and how many of them are unread.
CREATE TABLE analytics_mail_day (
    account_id bigint NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    day        date   NOT NULL,
    category   text   NOT NULL,
    received   bigint NOT NULL,
    unread     bigint NOT NULL,
    PRIMARY KEY (account_id, day, category)
);

-- A user's most frequent senders over all their stored mail (top 20),
-- rewritten whenever any of their days is.
CREATE TABLE analytics_sender (
    user_id   bigint      NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    rank      integer     NOT NULL,
    sender    text        NOT NULL,
    messages  bigint      NOT NULL,
    unread    bigint      NOT NULL,
    last_at   timestamptz NOT NULL,
    PRIMARY KEY (user_id, rank)
);

-- What a user's completed bulk tasks changed per UTC day (of finishing) and
-- kind, from their recorded output (river_job metadata.output.messages).
CREATE TABLE analytics_bulk_day (
    user_id  bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    day      date   NOT NULL,
    kind     text   NOT NULL,
    tasks    bigint NOT NULL,
    messages bigint NOT NULL,
    PRIMARY KEY (user_id, day, kind)
);

-- Tasks finished per UTC day and kind: outcomes, run time (finalized_at −
-- attempted_at) and queue wait (attempted_at − scheduled_at) of the last
-- attempt, in milliseconds, and the Gmail quota units recorded in outputs.
-- River's cleaner deletes finished jobs after INBOXQ_RETENTION; these rows
-- stay.
CREATE TABLE analytics_task_day (
    day         date             NOT NULL,
    kind        text             NOT NULL,
    completed   bigint           NOT NULL,
    failed      bigint           NOT NULL,
    cancelled   bigint           NOT NULL,
    run_p50_ms  double precision NOT NULL,
    run_p95_ms  double precision NOT NULL,
    wait_p50_ms double precision NOT NULL,
    wait_p95_ms double precision NOT NULL,
    quota_units double precision NOT NULL,
    PRIMARY KEY (day, kind)
);

-- Watermarks: finished jobs are rolled up through jobs_through (a user's
-- bulk tasks; all tasks for the system row, user_id 0 being no user).
CREATE TABLE analytics_watermark (
    user_id      bigint      PRIMARY KEY,
    jobs_through timestamptz NOT NULL,
    rolled_at    timestamptz NOT NULL
);

-- Messages already stored are rolled up by the first run.
INSERT INTO analytics_dirty (account_id, day)
SELECT DISTINCT account_id, (internal_date AT TIME ZONE 'UTC')::date FROM message
ON CONFLICT DO NOTHING;

-- Built in: hourly system rollups, which also start each user's.
INSERT INTO schedule (name, cron, kind, priority, next_run_at) VALUES
    ('analytics', '23 * * * *', 'update_system_analytics', 3, now());
