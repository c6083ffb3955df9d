-- Email classification (internal/classify, internal/jobs/classify.go): each
-- stored message's category as the pipeline decided it, a person's
-- correction beside it, the person's sender rules and their own model.
--
-- The history is kept small on purpose: the current machine decision and
-- the correction, if any. The category people see is the correction when
-- there is one (shown_category).

-- The headers the classifier reads besides those stored already.
ALTER TABLE message
    ADD COLUMN list_id    text NOT NULL DEFAULT '',
    ADD COLUMN list_post  text NOT NULL DEFAULT '',
    ADD COLUMN precedence text NOT NULL DEFAULT '';

ALTER TABLE message
    -- The machine's decision; NULL until classified (and again when Gmail
    -- relabels the message, see MessageUpsertMany).
    ADD COLUMN category         text CHECK (category IN ('primary', 'social', 'promotions', 'updates', 'forums', 'newsletters', 'spam')),
    ADD COLUMN confidence       real CHECK (confidence BETWEEN 0 AND 1),
    ADD COLUMN category_source  text CHECK (category_source IN ('rule', 'model', 'llm')),
    -- Which rule or model stage decided: gmail-label:CATEGORY_SOCIAL,
    -- sender-rule, user-model, bulk-sender...; '' for the base model.
    ADD COLUMN category_rule    text NOT NULL DEFAULT '',
    ADD COLUMN spam_probability real,
    ADD COLUMN model_version    text NOT NULL DEFAULT '',
    ADD COLUMN classified_at    timestamptz,
    -- A person's correction, which wins over every machine decision.
    ADD COLUMN corrected_category text CHECK (corrected_category IN ('primary', 'social', 'promotions', 'updates', 'forums', 'newsletters', 'spam')),
    ADD COLUMN corrected_at       timestamptz,
    ADD COLUMN shown_category     text GENERATED ALWAYS AS (coalesce(corrected_category, category)) STORED;

-- A category's messages, newest first; and what is left to classify.
CREATE INDEX message_account_category_idx ON message (account_id, shown_category, internal_date DESC);
CREATE INDEX message_unclassified_idx ON message (account_id, id) WHERE classified_at IS NULL;
CREATE INDEX message_corrected_idx ON message (account_id, corrected_at) WHERE corrected_category IS NOT NULL;
-- Text search over subject, sender and snippet (the expression is repeated
-- verbatim by queries/message.sql so the planner uses the index).
CREATE INDEX message_search_idx ON message
    USING gin (to_tsvector('simple'::regconfig, subject || ' ' || from_addr || ' ' || snippet));

-- "Always put this sender in ...": an address (has '@') or a domain, lower
-- case, per user across their accounts.
CREATE TABLE classify_rule (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint      NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    sender     text        NOT NULL CHECK (sender <> '' AND sender = lower(sender) AND length(sender) <= 320),
    category   text        NOT NULL CHECK (category IN ('primary', 'social', 'promotions', 'updates', 'forums', 'newsletters', 'spam')),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (user_id, sender)
);

-- Each user's own model (classify.UserModel), learned from their
-- corrections by reclassify_with_feedback.
CREATE TABLE user_model (
    user_id    bigint      PRIMARY KEY REFERENCES app_user (id) ON DELETE CASCADE,
    version    integer     NOT NULL,
    examples   integer     NOT NULL,
    model      bytea       NOT NULL,
    trained_at timestamptz NOT NULL DEFAULT now()
);
