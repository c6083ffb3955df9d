-- name: TokenInsert :one
INSERT INTO api_token (user_id, name, hash, prefix, expires_at, purpose, parent_id)
VALUES (@user_id, @name, @hash, @prefix, sqlc.narg(expires_at), @purpose, sqlc.narg(parent_id))
RETURNING *;

-- name: TokenAuthenticate :one
-- The live token with this hash and its user. A token minted from another
-- (an events token) is live only while its parent is.
SELECT t.id AS token_id, t.parent_id, t.purpose, u.id AS user_id, u.name AS user_name, u.role
FROM api_token t
JOIN app_user u ON u.id = t.user_id
LEFT JOIN api_token p ON p.id = t.parent_id
WHERE t.hash = @hash
  AND t.revoked_at IS NULL
  AND (t.expires_at IS NULL OR t.expires_at > now())
  AND (t.parent_id IS NULL OR (p.revoked_at IS NULL AND (p.expires_at IS NULL OR p.expires_at > now())));

-- name: TokenStillValid :one
-- Whether what a token opened (an event stream) may go on: the token is not
-- revoked, nor its parent, and neither has expired; an events token's own
-- expiry bounds only when it may open a stream, not how long the stream lasts.
SELECT EXISTS (
    SELECT 1
    FROM api_token t
    LEFT JOIN api_token p ON p.id = t.parent_id
    WHERE t.id = @id
      AND t.revoked_at IS NULL
      AND (t.purpose = 'events' OR t.expires_at IS NULL OR t.expires_at > now())
      AND (t.parent_id IS NULL OR (p.revoked_at IS NULL AND (p.expires_at IS NULL OR p.expires_at > now())))
)::boolean AS valid;

-- name: TokenTouch :exec
-- Records use, at most once a minute per token, to keep writes rare.
UPDATE api_token SET last_used_at = now()
WHERE id = @id AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute');

-- name: TokenList :many
SELECT t.*, u.name AS user_name
FROM api_token t JOIN app_user u ON u.id = t.user_id
WHERE (sqlc.narg(user_name)::text IS NULL OR u.name = sqlc.narg(user_name))
  AND t.purpose = 'api'
ORDER BY t.id;

-- name: TokenRevoke :one
-- Revokes a live token and the events tokens it minted; counts the former
-- (0: no live token has the id).
WITH revoked AS (
    UPDATE api_token t SET revoked_at = now() WHERE t.id = @token_id AND t.revoked_at IS NULL
    RETURNING t.id AS revoked_id
), children AS (
    UPDATE api_token c SET revoked_at = now()
    FROM revoked
    WHERE c.parent_id = revoked.revoked_id AND c.revoked_at IS NULL
    RETURNING c.id
)
SELECT (SELECT count(*) FROM revoked)::bigint AS revoked;

-- name: TokenDeleteDead :execrows
-- Deletes tokens that expired, or were revoked, before the cutoffs.
DELETE FROM api_token WHERE expires_at < @expired_before OR revoked_at < @revoked_before;
