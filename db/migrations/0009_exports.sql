-- Archives of a user's data: exports people ask for (kept 7 days) and
-- backups taken on a schedule (the newest 5 per user are kept, whatever
-- their age). The file lives under the export directory (path is relative
-- to it); the row is written once per task, after the file is complete.
-- archive_id is also in the archive's manifest, so a restore can find the
-- row and check the file against its checksum.
CREATE TABLE export (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id   bigint      NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    task_id    bigint      NOT NULL UNIQUE,
    archive_id text        NOT NULL UNIQUE,
    kind       text        NOT NULL CHECK (kind IN ('export', 'backup')),
    path       text        NOT NULL CHECK (path <> '' AND path NOT LIKE '%/%'),
    size       bigint      NOT NULL CHECK (size >= 0),
    sha256     text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    counts     jsonb       NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now(),
    -- NULL: kept until the count-based retention of backups removes it.
    expires_at timestamptz DEFAULT now() + interval '7 days'
);

CREATE INDEX export_owner_idx ON export (owner_id, id DESC);
CREATE INDEX export_expires_idx ON export (expires_at) WHERE expires_at IS NOT NULL;
