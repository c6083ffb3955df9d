-- name: MigrationLock :exec
-- Serializes migrators of one schema, across processes, until MigrationUnlock
-- or the end of the session.
SELECT pg_advisory_lock(hashtext('inboxq.migrate.' || current_schema()));

-- name: MigrationUnlock :exec
SELECT pg_advisory_unlock(hashtext('inboxq.migrate.' || current_schema()));

-- name: MigrationList :many
SELECT version, name, applied_at FROM inboxq_migration ORDER BY version;

-- name: MigrationInsert :exec
INSERT INTO inboxq_migration (version, name) VALUES (@version, @name);

-- name: MigrationTableExists :one
SELECT (to_regclass('inboxq_migration') IS NOT NULL)::boolean AS exists;
