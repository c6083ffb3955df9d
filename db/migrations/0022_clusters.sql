-- Clusters of an account's messages that belong together (internal/cluster,
-- cluster_user_emails in internal/jobs/cluster.go): one row per cluster as
-- the last run found it, and which cluster each message is in. A cluster's
-- id is a hash of what its messages share (its key), so it is the same
-- across runs while the cluster lasts; a run writes only what changed.

CREATE TABLE message_cluster (
    account_id bigint      NOT NULL REFERENCES account (id) ON DELETE CASCADE,
    id         text        NOT NULL CHECK (id ~ '^[0-9a-f]{16}$'),
    -- What the messages share: from:ADDRESS or subject:TEMPLATE.
    key        text        NOT NULL,
    label      text        NOT NULL,
    sender     text        NOT NULL,
    terms      text[]      NOT NULL DEFAULT '{}',
    size       integer     NOT NULL CHECK (size > 0),
    unread     integer     NOT NULL CHECK (unread BETWEEN 0 AND size),
    first_at   timestamptz NOT NULL,
    last_at    timestamptz NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, id)
);

-- Biggest first.
CREATE INDEX message_cluster_size_idx ON message_cluster (size DESC, account_id, id);

-- A message is in one cluster at most; a deleted message leaves it.
CREATE TABLE message_cluster_member (
    account_id bigint NOT NULL,
    message_id text   NOT NULL,
    cluster_id text   NOT NULL,
    PRIMARY KEY (account_id, message_id),
    FOREIGN KEY (account_id, message_id) REFERENCES message (account_id, id) ON DELETE CASCADE,
    FOREIGN KEY (account_id, cluster_id) REFERENCES message_cluster (account_id, id) ON DELETE CASCADE
);

-- A cluster's messages (a bulk target, its page).
CREATE INDEX message_cluster_member_cluster_idx ON message_cluster_member (account_id, cluster_id, message_id);
