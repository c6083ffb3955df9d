-- Clusters (db/migrations/0022_clusters.sql): what cluster_user_emails
-- reads and writes, and what the API lists.

-- name: MessageForCluster :many
-- A batch of an account's messages, in id order after a keyset cursor.
SELECT id, from_addr, subject, internal_date, ('UNREAD' = ANY (label_ids))::boolean AS unread
FROM message
WHERE account_id = @account_id AND id > @after_id::text
ORDER BY id
LIMIT @max_rows;

-- name: ClusterUpsertMany :execrows
-- Stores clusters; a cluster that did not change is not written.
INSERT INTO message_cluster AS c (account_id, id, key, label, sender, terms, size, unread, first_at, last_at)
SELECT @account_id::bigint, unnest(@ids::text[]), unnest(@keys::text[]), unnest(@labels::text[]), unnest(@senders::text[]),
       string_to_array(unnest(@terms::text[]), ','), unnest(@sizes::int[]), unnest(@unreads::int[]),
       unnest(@firsts::timestamptz[]), unnest(@lasts::timestamptz[])
ON CONFLICT (account_id, id) DO UPDATE
    SET key = excluded.key, label = excluded.label, sender = excluded.sender, terms = excluded.terms, size = excluded.size,
        unread = excluded.unread, first_at = excluded.first_at, last_at = excluded.last_at, updated_at = now()
    WHERE (c.key, c.label, c.sender, c.terms, c.size, c.unread, c.first_at, c.last_at)
          IS DISTINCT FROM (excluded.key, excluded.label, excluded.sender, excluded.terms, excluded.size, excluded.unread,
                            excluded.first_at, excluded.last_at);

-- name: ClusterDeleteMissing :execrows
-- Deletes the account's clusters a run no longer found (members go with them).
DELETE FROM message_cluster WHERE account_id = @account_id AND NOT id = ANY (@ids::text[]);

-- name: ClusterMemberDeleteMoved :execrows
-- Deletes memberships a run no longer found: messages that left a cluster
-- or moved to another.
DELETE FROM message_cluster_member m
WHERE m.account_id = @account_id
  AND NOT EXISTS (SELECT 1 FROM (SELECT unnest(@message_ids::text[]) AS message_id, unnest(@cluster_ids::text[]) AS cluster_id) AS d
                  WHERE d.message_id = m.message_id AND d.cluster_id = m.cluster_id);

-- name: ClusterMemberInsertMany :execrows
-- Adds the memberships a run found that are not stored yet (of messages
-- that still exist).
INSERT INTO message_cluster_member (account_id, message_id, cluster_id)
SELECT @account_id::bigint, d.message_id, d.cluster_id
FROM (SELECT unnest(@message_ids::text[]) AS message_id, unnest(@cluster_ids::text[]) AS cluster_id) AS d
WHERE EXISTS (SELECT 1 FROM message m WHERE m.account_id = @account_id AND m.id = d.message_id)
ON CONFLICT (account_id, message_id) DO NOTHING;

-- name: ClusterList :many
-- A user's clusters, biggest first, with the subjects of the newest three
-- messages as examples.
SELECT c.account_id, c.id, c.key, c.label, c.sender, c.terms, c.size, c.unread, c.first_at, c.last_at, c.updated_at,
       ARRAY(SELECT m.subject FROM message_cluster_member cm JOIN message m ON m.account_id = cm.account_id AND m.id = cm.message_id
             WHERE cm.account_id = c.account_id AND cm.cluster_id = c.id
             ORDER BY m.internal_date DESC, m.id DESC LIMIT 3)::text[] AS examples
FROM message_cluster c JOIN account a ON a.id = c.account_id
WHERE a.owner_id = @owner_id AND (sqlc.narg(account_id)::bigint IS NULL OR c.account_id = sqlc.narg(account_id)::bigint)
ORDER BY c.size DESC, c.account_id, c.id
LIMIT @max_rows OFFSET @skip;

-- name: ClusterGet :one
SELECT c.account_id, c.id, c.key, c.label, c.sender, c.terms, c.size, c.unread, c.first_at, c.last_at, c.updated_at
FROM message_cluster c JOIN account a ON a.id = c.account_id
WHERE a.owner_id = @owner_id AND c.account_id = @account_id AND c.id = @id;

-- name: ClusterMessages :many
-- A cluster's messages, newest first.
SELECT m.account_id, m.id, m.thread_id, m.from_addr, m.to_addr, m.subject, m.snippet, m.internal_date, m.label_ids,
       m.shown_category, m.corrected_category, m.confidence, m.category_source, m.category_rule
FROM message_cluster_member cm JOIN message m ON m.account_id = cm.account_id AND m.id = cm.message_id
WHERE cm.account_id = @account_id AND cm.cluster_id = @cluster_id
ORDER BY m.internal_date DESC, m.id DESC
LIMIT @max_rows;
