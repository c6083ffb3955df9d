-- Bind an OAuth consent to the browser that started it (see 0008 for the
-- table). code_verifier is the PKCE verifier the token exchange must send;
-- browser_hash is SHA-256 of a random nonce kept only in an HttpOnly cookie
-- of that browser, so a consent link sent to someone else cannot connect
-- their mailbox to the sender's user. States live ten minutes and ones made
-- before this migration have no binding: drop them (their people connect
-- again).
DELETE FROM oauth_state;

ALTER TABLE oauth_state
    ADD COLUMN code_verifier text  NOT NULL,
    ADD COLUMN browser_hash  bytea NOT NULL CHECK (length(browser_hash) = 32);
