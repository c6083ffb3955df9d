-- Idempotency keys (the Idempotency-Key request header): the first response
-- to each (user, key), replayed to retries for 24 hours. The API inserts the
-- row before running the operation (status 0 = still running), so a
-- concurrent duplicate finds it and is refused instead of running twice.
-- Rows older than 24 hours are pruned by cleanup_expired_tokens.
CREATE TABLE idempotency_key (
    user_id      bigint      NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    key          text        NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash bytea       NOT NULL,
    status       integer     NOT NULL DEFAULT 0,
    headers      jsonb       NOT NULL DEFAULT '{}',
    body         bytea       NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, key)
);

CREATE INDEX idempotency_key_created_at ON idempotency_key (created_at);
