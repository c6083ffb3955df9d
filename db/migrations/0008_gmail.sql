-- Gmail accounts, the local copy of their messages' metadata, and the quota
-- buckets shared by every worker process.

CREATE TABLE account (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id         bigint      NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    email            text        NOT NULL,
    status           text        NOT NULL DEFAULT 'connected' CHECK (status IN ('connected', 'needs_reauth', 'disconnected')),
    scopes           text[]      NOT NULL DEFAULT '{}',
    -- The refresh token, AES-256-GCM sealed (internal/secret), bound to the row id.
    refresh_token    bytea,
    token_key_id     text,
    history_id       bigint,     -- where incremental sync continues from
    messages_total   bigint,
    full_synced_at   timestamptz,
    last_synced_at   timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (owner_id, email),
    CHECK ((refresh_token IS NULL) = (token_key_id IS NULL))
);

CREATE TABLE message (
    account_id       bigint      NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    id               text        NOT NULL,
    thread_id        text        NOT NULL,
    from_addr        text        NOT NULL DEFAULT '',
    to_addr          text        NOT NULL DEFAULT '',
    subject          text        NOT NULL DEFAULT '',
    snippet          text        NOT NULL DEFAULT '',
    internal_date    timestamptz NOT NULL,
    label_ids        text[]      NOT NULL DEFAULT '{}',
    size_estimate    bigint      NOT NULL DEFAULT 0,
    list_unsubscribe text        NOT NULL DEFAULT '',
    auth_results     text        NOT NULL DEFAULT '',
    history_id       bigint      NOT NULL DEFAULT 0,
    synced_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id)
);

CREATE INDEX message_account_date_idx ON message (account_id, internal_date DESC);
CREATE INDEX message_account_from_idx ON message (account_id, from_addr);

-- OAuth authorization requests in flight: the state parameter ties Google's
-- callback to the user who asked.
CREATE TABLE oauth_state (
    state      text        PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL
);

-- Token buckets in Gmail quota units: one per mailbox and one for the
-- project. A worker takes units before it calls; when a bucket is short it
-- learns how long to wait. blocked_until honours Google's Retry-After.
CREATE TABLE gmail_quota (
    bucket        text             PRIMARY KEY,
    tokens        double precision NOT NULL,
    updated_at    timestamptz      NOT NULL DEFAULT clock_timestamp(),
    blocked_until timestamptz
);

-- inboxq_quota_take takes units from a bucket refilled at rate per second up
-- to burst, and returns how many seconds to wait first (0: taken). A bucket
-- blocked by Google's Retry-After answers with the time left. The row lock
-- makes concurrent takers from any process queue up on the bucket.
CREATE FUNCTION inboxq_quota_take(p_bucket text, p_units float8, p_rate float8, p_burst float8) RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE
    q         gmail_quota;
    available float8;
    now_ts    timestamptz := clock_timestamp();
BEGIN
    INSERT INTO gmail_quota (bucket, tokens, updated_at) VALUES (p_bucket, p_burst, now_ts)
    ON CONFLICT (bucket) DO NOTHING;
    SELECT * INTO q FROM gmail_quota WHERE bucket = p_bucket FOR UPDATE;
    available := least(p_burst, q.tokens + extract(epoch FROM now_ts - q.updated_at) * p_rate);
    IF q.blocked_until > now_ts THEN
        UPDATE gmail_quota SET tokens = available, updated_at = now_ts WHERE bucket = p_bucket;
        RETURN extract(epoch FROM q.blocked_until - now_ts);
    END IF;
    IF available >= p_units THEN
        UPDATE gmail_quota SET tokens = available - p_units, updated_at = now_ts WHERE bucket = p_bucket;
        RETURN 0;
    END IF;
    UPDATE gmail_quota SET tokens = available, updated_at = now_ts WHERE bucket = p_bucket;
    RETURN (p_units - available) / p_rate;
END
$$;
