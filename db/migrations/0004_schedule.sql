-- Recurring tasks, created and changed at run time. The scheduler claims a
-- due row and advances next_run_at in the transaction that inserts the job,
-- so each tick enqueues exactly once.
CREATE TABLE schedule (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id     bigint      REFERENCES app_user (id) ON DELETE CASCADE, -- NULL: built in
    name         text        NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    cron         text        NOT NULL,
    timezone     text        NOT NULL DEFAULT 'UTC',
    kind         text        NOT NULL,
    args         jsonb       NOT NULL DEFAULT '{}',
    priority     smallint    NOT NULL DEFAULT 2 CHECK (priority BETWEEN 1 AND 4),
    enabled      boolean     NOT NULL DEFAULT true,
    next_run_at  timestamptz,
    last_run_at  timestamptz,
    last_task_id bigint,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    CHECK (NOT enabled OR next_run_at IS NOT NULL)
);

CREATE UNIQUE INDEX schedule_owner_name_idx ON schedule (coalesce(owner_id, 0), name);
CREATE INDEX schedule_due_idx ON schedule (next_run_at) WHERE enabled;

-- Built-in maintenance schedules (admins may change or disable them).
INSERT INTO schedule (name, cron, kind, priority, next_run_at) VALUES
    ('system health', '* * * * *', 'monitor_system_health', 1, now()),
    ('expired token cleanup', '17 * * * *', 'cleanup_expired_tokens', 3, now());
