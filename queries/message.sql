-- name: MessageUpsertMany :exec
-- Saves message metadata; a repeated fetch updates in place (never a duplicate).
-- A message Gmail relabelled is classified again (its labels are evidence).
INSERT INTO message (account_id, id, thread_id, from_addr, to_addr, subject, snippet, internal_date,
                     label_ids, size_estimate, list_unsubscribe, auth_results, list_id, list_post, precedence,
                     history_id, synced_at)
SELECT @account_id::bigint, unnest(@ids::text[]), unnest(@thread_ids::text[]), unnest(@froms::text[]),
       unnest(@tos::text[]), unnest(@subjects::text[]), unnest(@snippets::text[]),
       to_timestamp(unnest(@dates_ms::bigint[]) / 1000.0), string_to_array(unnest(@labels::text[]), ','),
       unnest(@sizes::bigint[]), unnest(@unsubscribes::text[]), unnest(@auths::text[]),
       unnest(@list_ids::text[]), unnest(@list_posts::text[]), unnest(@precedences::text[]),
       unnest(@history_ids::bigint[]), now()
ORDER BY 2 -- rows are written (and locked) in id order (see MessageRelabel)
ON CONFLICT (account_id, id) DO UPDATE
    SET thread_id = excluded.thread_id, from_addr = excluded.from_addr, to_addr = excluded.to_addr,
        subject = excluded.subject, snippet = excluded.snippet, internal_date = excluded.internal_date,
        label_ids = excluded.label_ids, size_estimate = excluded.size_estimate,
        list_unsubscribe = excluded.list_unsubscribe, auth_results = excluded.auth_results,
        list_id = excluded.list_id, list_post = excluded.list_post, precedence = excluded.precedence,
        history_id = excluded.history_id, synced_at = excluded.synced_at,
        classified_at = CASE WHEN message.label_ids = excluded.label_ids THEN message.classified_at END;

-- name: MessageDeleteMany :execrows
-- Rows are locked in id order first (see MessageRelabel).
WITH locked AS (
    SELECT x.id FROM message x WHERE x.account_id = @account_id AND x.id = ANY (@ids::text[]) ORDER BY x.id FOR UPDATE
)
DELETE FROM message m WHERE m.account_id = @account_id AND m.id IN (SELECT id FROM locked);

-- name: MessageCount :one
SELECT count(*)::bigint FROM message WHERE account_id = @account_id;

-- name: MessageIDs :many
SELECT id FROM message WHERE account_id = @account_id ORDER BY id;

-- name: MessageSelect :many
-- A bulk action's targets, in id order after a keyset cursor.
SELECT id FROM message
WHERE message.account_id = @account_id
  AND (cardinality(@ids::text[]) = 0 OR id = ANY (@ids::text[]))
  AND (@sender::text = '' OR position(lower(@sender::text) IN lower(from_addr)) > 0)
  AND (@label::text = '' OR @label::text = ANY (label_ids))
  AND (sqlc.narg(before)::timestamptz IS NULL OR internal_date < sqlc.narg(before)::timestamptz)
  AND (@cluster_id::text = '' OR id IN (SELECT cm.message_id FROM message_cluster_member cm
                                        WHERE cm.account_id = @account_id AND cm.cluster_id = @cluster_id::text))
  AND id > @after_id::text
ORDER BY id
LIMIT @max_rows;

-- name: MessageSelectCount :one
SELECT count(*)::bigint FROM message
WHERE message.account_id = @account_id
  AND (cardinality(@ids::text[]) = 0 OR id = ANY (@ids::text[]))
  AND (@sender::text = '' OR position(lower(@sender::text) IN lower(from_addr)) > 0)
  AND (@label::text = '' OR @label::text = ANY (label_ids))
  AND (sqlc.narg(before)::timestamptz IS NULL OR internal_date < sqlc.narg(before)::timestamptz)
  AND (@cluster_id::text = '' OR id IN (SELECT cm.message_id FROM message_cluster_member cm
                                        WHERE cm.account_id = @account_id AND cm.cluster_id = @cluster_id::text))
  AND id > @after_id::text;

-- name: MessageRelabel :exec
-- Mirrors a batchModify locally. Rows are locked in id order first, as by
-- every statement that writes many messages (see 0020_classification.sql):
-- a bulk action, a sync and a classify batch on the same mail then queue
-- up instead of deadlocking.
WITH locked AS (
    SELECT x.id FROM message x WHERE x.account_id = @account_id AND x.id = ANY (@ids::text[]) ORDER BY x.id FOR UPDATE
)
UPDATE message m
SET label_ids = ARRAY(SELECT DISTINCT l FROM unnest(array_cat(m.label_ids, @add_labels::text[])) AS l
                      WHERE NOT l = ANY (@remove_labels::text[]) ORDER BY l)
WHERE m.account_id = @account_id AND m.id IN (SELECT id FROM locked);

-- name: MessageIDsAfter :many
-- A page of an account's stored message ids after a keyset cursor.
SELECT id FROM message WHERE account_id = @account_id AND id > @after_id::text ORDER BY id LIMIT @max_rows;
