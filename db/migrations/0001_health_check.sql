-- One row per run of monitor_system_health: what the system looked like.
CREATE TABLE health_check (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    checked_at     timestamptz NOT NULL DEFAULT now(),
    db_latency_us  bigint      NOT NULL,
    queues         jsonb       NOT NULL DEFAULT '[]'
);

CREATE INDEX health_check_checked_at_idx ON health_check (checked_at DESC);
