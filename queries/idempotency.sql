-- Idempotency keys (see db/migrations/0015_idempotency.sql).

-- name: IdempotencyKeyClaim :one
-- Claims (user, key) for a request: a new row, or one whose claim lapsed
-- (older than expired_before, or still running since before stale_before:
-- its process died). No row returned: someone else holds the key.
INSERT INTO idempotency_key (user_id, key, request_hash)
VALUES (@user_id, @key, @request_hash)
ON CONFLICT (user_id, key) DO UPDATE
SET request_hash = excluded.request_hash, status = 0, headers = '{}', body = '', created_at = now()
WHERE idempotency_key.created_at < @expired_before
   OR (idempotency_key.status = 0 AND idempotency_key.created_at < @stale_before)
RETURNING created_at;

-- name: IdempotencyKeyGet :one
SELECT * FROM idempotency_key WHERE user_id = @user_id AND key = @key;

-- name: IdempotencyKeyFinish :exec
-- Keeps the response of the request that holds the claim.
UPDATE idempotency_key SET status = @status, headers = @headers, body = @body
WHERE user_id = @user_id AND key = @key AND status = 0;

-- name: IdempotencyKeyRelease :exec
-- Gives the claim up (the response is not kept: a retry runs again).
DELETE FROM idempotency_key WHERE user_id = @user_id AND key = @key AND status = 0;

-- name: IdempotencyKeyDeleteBefore :execrows
DELETE FROM idempotency_key WHERE created_at < @before;
