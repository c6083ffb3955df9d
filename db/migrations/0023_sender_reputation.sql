-- Sender reputation (internal/reputation, update_sender_reputation in
-- internal/jobs/reputation.go): a score per sender address and domain per
-- user, with the evidence counts and the factors that made it.

-- The sender address of a From header, as classify.SplitFrom reads it: the
-- text between the last '<' and the next '>', else the whole header;
-- trimmed, lower case.
CREATE FUNCTION inboxq_sender_address(from_addr text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
RETURN lower(btrim(CASE WHEN strpos(from_addr, '<') = 0 THEN from_addr
                        ELSE split_part(substring(from_addr FROM '<([^<]*)$'), '>', 1) END, E' \t\r\n'));

-- A message's senders are read by address (the job reads the mail of the
-- senders with new evidence).
CREATE INDEX message_sender_address_idx ON message (account_id, inboxq_sender_address(from_addr));

-- When a message last changed in a way reputation reads: stored, relabelled
-- (a read, an archive, a bulk action), corrected, or its headers changed.
ALTER TABLE message ADD COLUMN evidence_at timestamptz NOT NULL DEFAULT now();
CREATE INDEX message_evidence_idx ON message (account_id, evidence_at);

CREATE FUNCTION inboxq_message_evidence() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.evidence_at := now();
    RETURN NEW;
END $$;

-- Only changes reputation reads touch evidence_at: classify_email_batch's
-- writes do not.
CREATE TRIGGER message_evidence BEFORE UPDATE ON message FOR EACH ROW
    WHEN (OLD.label_ids IS DISTINCT FROM NEW.label_ids
       OR OLD.corrected_category IS DISTINCT FROM NEW.corrected_category
       OR OLD.from_addr IS DISTINCT FROM NEW.from_addr
       OR OLD.auth_results IS DISTINCT FROM NEW.auth_results
       OR OLD.list_unsubscribe IS DISTINCT FROM NEW.list_unsubscribe)
    EXECUTE FUNCTION inboxq_message_evidence();

-- One row per sender: kind 'address' (key: the address) or 'domain' (key:
-- the part after '@'). The counts are reputation.Evidence; a domain's are
-- the sum of its addresses'.
CREATE TABLE sender_reputation (
    id                 bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id            bigint      NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    kind               text        NOT NULL CHECK (kind IN ('address', 'domain')),
    key                text        NOT NULL CHECK (key <> '' AND length(key) <= 320),
    domain             text        NOT NULL,
    score              smallint    NOT NULL CHECK (score BETWEEN 0 AND 100),
    factors            jsonb       NOT NULL,
    messages           integer     NOT NULL,
    read               integer     NOT NULL,
    kept               integer     NOT NULL,
    discarded_unread   integer     NOT NULL,
    corrected_spam     integer     NOT NULL,
    corrected_not_spam integer     NOT NULL,
    auth_pass          integer     NOT NULL,
    auth_fail          integer     NOT NULL,
    spf_fail           integer     NOT NULL,
    dkim_fail          integer     NOT NULL,
    dmarc_fail         integer     NOT NULL,
    list_unsubscribe   integer     NOT NULL,
    -- The newest message's date, and the newest evidence counted.
    last_message_at    timestamptz NOT NULL,
    evidence_at        timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, kind, key)
);
CREATE INDEX sender_reputation_domain_idx ON sender_reputation (user_id, domain) WHERE kind = 'address';
CREATE INDEX sender_reputation_score_idx ON sender_reputation (user_id, kind, score, id);
CREATE INDEX sender_reputation_volume_idx ON sender_reputation (user_id, kind, messages DESC, id);

-- Where each user's last run got to: evidence up to evidence_through is
-- counted. rescan asks the next run to recount every sender: mail was
-- deleted, which leaves no row to carry an evidence time.
CREATE TABLE sender_reputation_run (
    user_id          bigint      PRIMARY KEY REFERENCES app_user (id) ON DELETE CASCADE,
    evidence_through timestamptz NOT NULL,
    rescan           boolean     NOT NULL DEFAULT false,
    finished_at      timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION inboxq_message_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sender_reputation_run r SET rescan = true
    WHERE NOT r.rescan AND r.user_id IN (SELECT a.owner_id FROM account a
                                         WHERE a.id IN (SELECT DISTINCT account_id FROM gone));
    RETURN NULL;
END $$;

CREATE FUNCTION inboxq_account_gone() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE sender_reputation_run r SET rescan = true
    WHERE NOT r.rescan AND r.user_id IN (SELECT DISTINCT owner_id FROM gone);
    RETURN NULL;
END $$;

-- One statement-level trigger per delete, however many rows it deletes.
CREATE TRIGGER message_gone AFTER DELETE ON message REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION inboxq_message_gone();
CREATE TRIGGER account_gone AFTER DELETE ON account REFERENCING OLD TABLE AS gone
    FOR EACH STATEMENT EXECUTE FUNCTION inboxq_account_gone();
