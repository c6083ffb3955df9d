-- name: AccountUpsert :one
-- Connects (or reconnects) a mailbox for its owner.
INSERT INTO account (owner_id, email, scopes, status)
VALUES (@owner_id, @email, @scopes, 'connected')
ON CONFLICT (owner_id, email) DO UPDATE
    SET scopes = excluded.scopes, status = 'connected', updated_at = now()
RETURNING *;

-- name: AccountSetToken :exec
UPDATE account SET refresh_token = @refresh_token, token_key_id = @token_key_id, updated_at = now()
WHERE id = @id;

-- name: AccountGet :one
-- owner_id NULL: any account (workers, admins).
SELECT * FROM account
WHERE id = @id AND (sqlc.narg(owner_id)::bigint IS NULL OR owner_id = sqlc.narg(owner_id));

-- name: AccountList :many
SELECT * FROM account
WHERE (sqlc.narg(owner_id)::bigint IS NULL OR owner_id = sqlc.narg(owner_id))
ORDER BY id;

-- name: AccountSetStatus :exec
UPDATE account SET status = @status, updated_at = now(),
    refresh_token = CASE WHEN @status = 'connected' THEN refresh_token END,
    token_key_id = CASE WHEN @status = 'connected' THEN token_key_id END
WHERE id = @id;

-- name: AccountFullSynced :exec
UPDATE account
SET history_id = @history_id, messages_total = @messages_total, full_synced_at = now(), last_synced_at = now(), updated_at = now()
WHERE id = @id;

-- name: AccountAdvanceHistory :exec
-- Moves the incremental cursor forward only, so racing workers never rewind it.
UPDATE account SET history_id = @history_id, last_synced_at = now(), updated_at = now()
WHERE id = @id AND (history_id IS NULL OR history_id < @history_id);

-- name: AccountDelete :execrows
DELETE FROM account WHERE id = @id AND owner_id = @owner_id;

-- name: OAuthStateInsert :exec
INSERT INTO oauth_state (state, user_id, expires_at, code_verifier, browser_hash)
VALUES (@state, @user_id, @expires_at, @code_verifier, @browser_hash);

-- name: OAuthStateTake :one
-- Consumes a state once, and only from the browser that started it (its
-- cookie nonce's hash); expired ones are refused.
DELETE FROM oauth_state
WHERE state = @state AND browser_hash = @browser_hash AND expires_at > now()
RETURNING user_id, code_verifier;

-- name: OAuthStatePending :one
-- Whether a state is still waiting for its browser (after a take failed).
SELECT EXISTS (SELECT 1 FROM oauth_state WHERE state = @state AND expires_at > now());
