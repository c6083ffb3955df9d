-- Export and backup archives, and the reads that fill them. The reads are
-- keyset pages so an archive of any size is written with bounded memory;
-- none of them reads an account's refresh token.

-- name: ExportCounts :one
-- What an archive will hold, for its progress total.
SELECT (SELECT count(*) FROM account a WHERE a.owner_id = @owner_id)::bigint AS accounts,
       (SELECT count(*) FROM message m JOIN account a ON a.id = m.account_id WHERE a.owner_id = @owner_id)::bigint AS messages,
       (SELECT count(*) FROM river_job j WHERE inboxq_owned(j.state, j.args, (@owner_id::bigint)::text))::bigint AS tasks;

-- name: ExportAccountPage :many
SELECT id, email, status, scopes, history_id, messages_total, full_synced_at, last_synced_at, created_at
FROM account
WHERE owner_id = @owner_id AND id > @after_id
ORDER BY id
LIMIT @max_rows;

-- name: ExportMessagePage :many
-- The owner's messages in (account, id) order, after a keyset cursor.
SELECT m.account_id, m.id, m.thread_id, m.from_addr, m.to_addr, m.subject, m.snippet, m.internal_date,
       m.label_ids, m.size_estimate, m.list_unsubscribe, m.auth_results, m.history_id
FROM message m
JOIN account a ON a.id = m.account_id
WHERE a.owner_id = @owner_id
  AND (m.account_id, m.id) > (@after_account::bigint, @after_id::text)
ORDER BY m.account_id, m.id
LIMIT @max_rows;

-- name: ExportLabelCounts :many
-- Labels seen on the owner's messages, per account, with how many carry each.
SELECT m.account_id, l.label::text AS label, count(*)::bigint AS messages
FROM message m
JOIN account a ON a.id = m.account_id
CROSS JOIN LATERAL unnest(m.label_ids) AS l (label)
WHERE a.owner_id = @owner_id
GROUP BY m.account_id, l.label
ORDER BY m.account_id, l.label;

-- name: ExportTaskPage :many
-- The owner's tasks, oldest first, after a keyset cursor.
SELECT j.id, j.kind, j.queue, inboxq_task_state(j.state, j.metadata, j.errors)::text AS task_state,
       j.attempt, j.max_attempts, j.args, j.errors, (j.metadata -> 'output')::jsonb AS output,
       j.created_at, j.attempted_at, j.finalized_at
FROM river_job j
WHERE inboxq_owned(j.state, j.args, @owner::text)
  AND j.id > @after_id
ORDER BY j.id
LIMIT @max_rows;

-- name: ExportRecord :one
-- Records a finished archive, once per task: a repeat (a retry that wrote
-- the archive again) updates the row in place. Exports expire after 7
-- days; backups never do (the newest 5 per user are kept).
INSERT INTO export (owner_id, task_id, archive_id, kind, path, size, sha256, counts, expires_at)
VALUES (@owner_id, @task_id, @archive_id, @kind, @path, @size, @sha256, @counts,
        CASE WHEN @kind::text = 'backup' THEN NULL ELSE now() + interval '7 days' END)
ON CONFLICT (task_id) DO UPDATE
    SET archive_id = excluded.archive_id, path = excluded.path, size = excluded.size, sha256 = excluded.sha256, counts = excluded.counts
RETURNING *;

-- name: ExportList :many
-- The owner's archives, newest first.
SELECT * FROM export WHERE owner_id = @owner_id ORDER BY id DESC LIMIT @max_rows;

-- name: ExportGet :one
SELECT * FROM export WHERE id = @id AND owner_id = @owner_id;

-- name: ExportGetByTask :one
SELECT * FROM export WHERE task_id = @task_id;

-- name: ExportGetByArchive :one
SELECT * FROM export WHERE archive_id = @archive_id;

-- name: ExportListExpired :many
-- Archives past their expiry; owner_id NULL: everyone's.
SELECT * FROM export
WHERE expires_at <= now()
  AND (sqlc.narg(owner_id)::bigint IS NULL OR owner_id = sqlc.narg(owner_id))
ORDER BY id
LIMIT @max_rows;

-- name: ExportListBackupsBeyond :many
-- The owner's backups older than the newest keep.
SELECT * FROM export
WHERE owner_id = @owner_id AND kind = 'backup'
ORDER BY id DESC
OFFSET @keep;

-- name: ExportDelete :execrows
DELETE FROM export WHERE id = ANY (@ids::bigint[]);

-- name: AccountRestore :one
-- Brings back an exported account for its owner, disconnected (archives
-- hold no tokens); an account with the same address is kept as it is.
WITH inserted AS (
    INSERT INTO account (owner_id, email, status, scopes, history_id, messages_total, full_synced_at, last_synced_at)
    VALUES (@owner_id, @email, 'disconnected', @scopes, sqlc.narg(history_id), sqlc.narg(messages_total),
            sqlc.narg(full_synced_at), sqlc.narg(last_synced_at))
    ON CONFLICT (owner_id, email) DO NOTHING
    RETURNING id
)
SELECT id, true AS created FROM inserted
UNION ALL
SELECT a.id, false AS created FROM account a
WHERE a.owner_id = @owner_id AND a.email = @email AND NOT EXISTS (SELECT 1 FROM inserted);
