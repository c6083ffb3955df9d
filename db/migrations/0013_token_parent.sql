-- Events tokens remember the API token that minted them: an events token is
-- only as good as its parent, so revoking (or the expiry of) the API token
-- ends every events token it minted. Existing events tokens have no parent;
-- they expire within two minutes of their creation anyway.
ALTER TABLE api_token ADD COLUMN parent_id bigint REFERENCES api_token (id) ON DELETE CASCADE;

CREATE INDEX api_token_parent_idx ON api_token (parent_id) WHERE parent_id IS NOT NULL;

-- A revocation is announced on the events channel of 0006, so that every
-- process ends the event streams opened with the token (or with an events
-- token it minted) within moments, however it was revoked (API, CLI, SQL):
--   {"t":"revoked","id":token id,"parent":parent token id or null}
CREATE FUNCTION inboxq_notify_token_revoked() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify(TG_TABLE_SCHEMA || '.inboxq_events', json_build_object(
        't', 'revoked', 'id', NEW.id, 'parent', NEW.parent_id)::text);
    RETURN NULL;
END
$$;

CREATE TRIGGER api_token_inboxq_revoked
    AFTER UPDATE OF revoked_at ON api_token
    FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
    EXECUTE FUNCTION inboxq_notify_token_revoked();
