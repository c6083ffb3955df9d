-- name: UserUpsert :one
-- Creates the user, or returns the existing one (made admin when asked).
INSERT INTO app_user (name, role) VALUES (@name, @role)
ON CONFLICT (name) DO UPDATE
    SET role = CASE WHEN excluded.role = 'admin' THEN 'admin' ELSE app_user.role END
RETURNING *;

-- name: UserGetByName :one
SELECT * FROM app_user WHERE name = @name;

-- name: UserGetByID :one
SELECT * FROM app_user WHERE id = @id;

-- name: UserNamesByIDs :many
-- The names of task owners, for a page of tasks.
SELECT id, name FROM app_user WHERE id = ANY (@ids::bigint[]);
