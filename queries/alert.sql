-- name: AlertRaise :one
-- Opens an alert unless one with the same key is open; returns the new row.
INSERT INTO alert (user_id, key, severity, title, message)
VALUES (sqlc.narg(user_id), @key, @severity, @title, @message)
ON CONFLICT (key) WHERE resolved_at IS NULL DO NOTHING
RETURNING *;

-- name: AlertResolve :execrows
UPDATE alert SET resolved_at = now() WHERE key = @key AND resolved_at IS NULL;

-- name: AlertList :many
-- A user's alerts, and admins' (user_id NULL) when include_admin.
SELECT * FROM alert
WHERE (user_id = sqlc.narg(user_id) OR (@include_admin::boolean AND user_id IS NULL))
  AND (NOT @unread_only::boolean OR read_at IS NULL)
  AND (sqlc.narg(before_id)::bigint IS NULL OR id < sqlc.narg(before_id))
ORDER BY id DESC
LIMIT @max_rows;

-- name: AlertMarkRead :execrows
UPDATE alert SET read_at = now()
WHERE id = ANY (@ids::bigint[]) AND read_at IS NULL
  AND (user_id = sqlc.narg(user_id) OR (@include_admin::boolean AND user_id IS NULL));

-- name: AlertListSince :many
SELECT * FROM alert WHERE created_at >= @since ORDER BY id LIMIT @max_rows;
