-- name: MessageUpsertMany :exec
-- Saves message metadata; a repeated fetch updates in place (never a duplicate).
INSERT INTO message (account_id, id, thread_id, from_addr, to_addr, subject, snippet, internal_date,
                     label_ids, size_estimate, list_unsubscribe, auth_results, history_id, synced_at)
SELECT @account_id::bigint, unnest(@ids::text[]), unnest(@thread_ids::text[]), unnest(@froms::text[]),
       unnest(@tos::text[]), unnest(@subjects::text[]), unnest(@snippets::text[]),
       to_timestamp(unnest(@dates_ms::bigint[]) / 1000.0), string_to_array(unnest(@labels::text[]), ','),
       unnest(@sizes::bigint[]), unnest(@unsubscribes::text[]), unnest(@auths::text[]),
       unnest(@history_ids::bigint[]), now()
ON CONFLICT (account_id, id) DO UPDATE
    SET thread_id = excluded.thread_id, from_addr = excluded.from_addr, to_addr = excluded.to_addr,
        subject = excluded.subject, snippet = excluded.snippet, internal_date = excluded.internal_date,
        label_ids = excluded.label_ids, size_estimate = excluded.size_estimate,
        list_unsubscribe = excluded.list_unsubscribe, auth_results = excluded.auth_results,
        history_id = excluded.history_id, synced_at = excluded.synced_at;

-- name: MessageDeleteMany :execrows
DELETE FROM message WHERE account_id = @account_id AND id = ANY (@ids::text[]);

-- name: MessageCount :one
SELECT count(*)::bigint FROM message WHERE account_id = @account_id;

-- name: MessageIDs :many
SELECT id FROM message WHERE account_id = @account_id ORDER BY id;
