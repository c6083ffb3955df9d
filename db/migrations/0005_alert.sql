-- Alerts: raised by the health monitor (user_id NULL: for admins) and, later,
-- by tasks for their owners. One open alert per key: a condition that
-- persists does not raise a storm; it is resolved when it clears.
CREATE TABLE alert (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint      REFERENCES app_user (id) ON DELETE CASCADE,
    key         text        NOT NULL,
    severity    text        NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
    title       text        NOT NULL,
    message     text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz,
    read_at     timestamptz
);

CREATE UNIQUE INDEX alert_open_key_idx ON alert (key) WHERE resolved_at IS NULL;
CREATE INDEX alert_user_created_idx ON alert (user_id, created_at DESC);

ALTER TABLE health_check ADD COLUMN report jsonb NOT NULL DEFAULT '{}';
