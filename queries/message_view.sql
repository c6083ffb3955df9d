-- What people read of their stored mail: lists, one message, counts
-- (GET /api/v1/messages...). Every query is scoped to the owner through
-- account.owner_id.

-- name: MessageList :many
-- A page of the owner's messages, newest first, after a keyset cursor
-- (internal_date, account_id, id). The text search repeats the expression
-- of message_search_idx.
SELECT m.account_id, m.id, m.thread_id, m.from_addr, m.to_addr, m.subject, m.snippet, m.internal_date,
       m.label_ids, m.shown_category, m.confidence, m.category_source, m.category_rule, m.corrected_category
FROM message m JOIN account a ON a.id = m.account_id
WHERE a.owner_id = @owner_id
  AND (sqlc.narg(account_id)::bigint IS NULL OR m.account_id = sqlc.narg(account_id)::bigint)
  AND (@category::text = '' OR m.shown_category = @category::text
       OR (@category::text = 'unclassified' AND m.shown_category IS NULL))
  AND (@sender::text = '' OR position(lower(@sender::text) IN lower(m.from_addr)) > 0)
  AND (@label::text = '' OR @label::text = ANY (m.label_ids))
  AND (NOT @unread_only::bool OR 'UNREAD' = ANY (m.label_ids))
  AND (sqlc.narg(since)::timestamptz IS NULL OR m.internal_date >= sqlc.narg(since)::timestamptz)
  AND (sqlc.narg(until)::timestamptz IS NULL OR m.internal_date < sqlc.narg(until)::timestamptz)
  AND (@query::text = '' OR to_tsvector('simple'::regconfig, m.subject || ' ' || m.from_addr || ' ' || m.snippet)
                              @@ websearch_to_tsquery('simple'::regconfig, @query::text))
  AND (sqlc.narg(cursor_date)::timestamptz IS NULL
       OR (m.internal_date, m.account_id, m.id) < (sqlc.narg(cursor_date)::timestamptz, @cursor_account::bigint, @cursor_id::text))
ORDER BY m.internal_date DESC, m.account_id DESC, m.id DESC
LIMIT @max_rows;

-- name: MessageGet :one
SELECT m.account_id, m.id, m.thread_id, m.from_addr, m.to_addr, m.subject, m.snippet, m.internal_date,
       m.label_ids, m.list_unsubscribe, m.list_id, m.list_post, m.precedence, m.auth_results,
       m.shown_category, m.category, m.confidence, m.category_source, m.category_rule, m.spam_probability,
       m.model_version, m.classified_at, m.corrected_category, m.corrected_at
FROM message m JOIN account a ON a.id = m.account_id
WHERE a.owner_id = @owner_id AND m.account_id = @account_id AND m.id = @id;

-- name: MessageCategoryCounts :many
-- The owner's messages per shown category ('' for not yet classified).
SELECT coalesce(m.shown_category, '')::text AS category, count(*)::bigint AS messages,
       count(*) FILTER (WHERE 'UNREAD' = ANY (m.label_ids))::bigint AS unread
FROM message m JOIN account a ON a.id = m.account_id
WHERE a.owner_id = @owner_id AND (sqlc.narg(account_id)::bigint IS NULL OR m.account_id = sqlc.narg(account_id)::bigint)
GROUP BY 1
ORDER BY 1;
