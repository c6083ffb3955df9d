-- name: TokenInsert :one
INSERT INTO api_token (user_id, name, hash, prefix, expires_at, purpose)
VALUES (@user_id, @name, @hash, @prefix, sqlc.narg(expires_at), @purpose)
RETURNING *;

-- name: TokenAuthenticate :one
-- The live token with this hash and its user.
SELECT t.id AS token_id, t.purpose, u.id AS user_id, u.name AS user_name, u.role
FROM api_token t
JOIN app_user u ON u.id = t.user_id
WHERE t.hash = @hash
  AND t.revoked_at IS NULL
  AND (t.expires_at IS NULL OR t.expires_at > now());

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

-- name: TokenRevoke :execrows
UPDATE api_token SET revoked_at = now() WHERE id = @id AND revoked_at IS NULL;

-- name: TokenDeleteDead :execrows
-- Deletes tokens that expired, or were revoked, before the cutoffs.
DELETE FROM api_token WHERE expires_at < @expired_before OR revoked_at < @revoked_before;
