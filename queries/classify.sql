-- Classification: what the classify tasks read and write, corrections,
-- sender rules and per-user models (db/migrations/0020_classification.sql).

-- name: MessageUnclassified :many
-- A batch of an account's messages that have no decision yet, in id order
-- after a keyset cursor.
SELECT id, from_addr, subject, snippet, label_ids, list_unsubscribe, list_id, list_post, precedence,
       category, category_source, category_rule, corrected_category
FROM message
WHERE account_id = @account_id AND classified_at IS NULL AND id > @after_id::text
ORDER BY id
LIMIT @max_rows;

-- name: MessageForClassify :many
-- A batch of an account's messages (all, or those of ids), in id order
-- after a keyset cursor.
SELECT id, from_addr, subject, snippet, label_ids, list_unsubscribe, list_id, list_post, precedence,
       category, category_source, category_rule, corrected_category
FROM message
WHERE account_id = @account_id AND id > @after_id::text
  AND (cardinality(@ids::text[]) = 0 OR id = ANY (@ids::text[]))
ORDER BY id
LIMIT @max_rows;

-- name: MessageUnclassifiedCount :one
SELECT count(*)::bigint FROM message WHERE account_id = @account_id AND classified_at IS NULL;

-- name: MessageForClassifyCount :one
SELECT count(*)::bigint FROM message
WHERE account_id = @account_id AND (cardinality(@ids::text[]) = 0 OR id = ANY (@ids::text[]));

-- name: MessageClassifySave :execrows
-- Stores decisions; a row whose decision is unchanged is not written, so a
-- re-run writes nothing.
WITH locked AS (
    -- Rows are locked in id order first (see MessageRelabel).
    SELECT x.id FROM message x WHERE x.account_id = @account_id AND x.id = ANY (@ids::text[]) ORDER BY x.id FOR UPDATE
)
UPDATE message m
SET category = d.category, confidence = d.confidence, category_source = d.source, category_rule = d.rule,
    spam_probability = d.spam_probability, model_version = d.model_version, classified_at = now()
FROM (SELECT unnest(@ids::text[]) AS id, unnest(@categories::text[]) AS category,
             unnest(@confidences::real[]) AS confidence, unnest(@sources::text[]) AS source,
             unnest(@rules::text[]) AS rule, unnest(@spam_probabilities::real[]) AS spam_probability,
             unnest(@model_versions::text[]) AS model_version) AS d
WHERE m.account_id = @account_id AND m.id = d.id AND m.id IN (SELECT id FROM locked)
  AND (m.classified_at IS NULL
       OR (m.category, m.category_source, m.category_rule, m.model_version)
          IS DISTINCT FROM (d.category, d.source, d.rule, d.model_version)
       OR abs(m.confidence - d.confidence) > 0.0005);

-- name: MessageSetCorrection :many
-- A person's correction of messages of one account (NULL clears it).
WITH locked AS (
    -- Rows are locked in id order first (see MessageRelabel).
    SELECT x.id FROM message x WHERE x.account_id = @account_id AND x.id = ANY (@ids::text[]) ORDER BY x.id FOR UPDATE
)
UPDATE message m SET corrected_category = sqlc.narg(category)::text,
                     corrected_at = CASE WHEN sqlc.narg(category)::text IS NULL THEN NULL ELSE now() END
WHERE m.account_id = @account_id AND m.id IN (SELECT id FROM locked)
RETURNING m.id;

-- name: MessageCorrections :many
-- A user's corrections, newest first: what their model learns.
SELECT m.from_addr, m.subject, m.snippet, m.label_ids, m.list_unsubscribe, m.list_id, m.list_post, m.precedence,
       m.corrected_category::text AS corrected_category
FROM message m JOIN account a ON a.id = m.account_id
WHERE a.owner_id = @owner_id AND m.corrected_category IS NOT NULL
ORDER BY m.corrected_at DESC
LIMIT @max_rows;

-- name: MessageBackground :many
-- A user's recent mail that nobody corrected, from senders they never
-- corrected: the background their model weighs corrections against. The
-- caller labels it with the base pipeline's decision, so that the model
-- never learns from its own guesses and a re-run with the same corrections
-- learns the same model.
SELECT m.from_addr, m.subject, m.snippet, m.label_ids, m.list_unsubscribe, m.list_id, m.list_post, m.precedence,
       ''::text AS category
FROM message m JOIN account a ON a.id = m.account_id
WHERE a.owner_id = @owner_id AND m.corrected_category IS NULL
  AND NOT EXISTS (SELECT 1 FROM message c
                  WHERE c.account_id = m.account_id AND c.from_addr = m.from_addr AND c.corrected_category IS NOT NULL)
ORDER BY m.internal_date DESC, m.account_id, m.id
LIMIT @max_rows;

-- name: CorrectionsSince :one
-- Whether a user corrected anything or added a rule after a time.
SELECT EXISTS (SELECT 1 FROM message m JOIN account a ON a.id = m.account_id
               WHERE a.owner_id = @owner_id AND m.corrected_at > @since)
    OR EXISTS (SELECT 1 FROM classify_rule WHERE user_id = @owner_id AND created_at > @since) AS changed;

-- name: ClassifyRuleUpsert :one
INSERT INTO classify_rule (user_id, sender, category) VALUES (@user_id, @sender, @category)
ON CONFLICT (user_id, sender) DO UPDATE SET category = excluded.category, created_at = now()
RETURNING *;

-- name: ClassifyRuleList :many
SELECT * FROM classify_rule WHERE user_id = @user_id ORDER BY sender;

-- name: ClassifyRuleDelete :execrows
DELETE FROM classify_rule WHERE user_id = @user_id AND id = @id;

-- name: UserModelGet :one
SELECT * FROM user_model WHERE user_id = @user_id;

-- name: UserModelSave :exec
INSERT INTO user_model (user_id, version, examples, model) VALUES (@user_id, @version, @examples, @model)
ON CONFLICT (user_id) DO UPDATE SET version = excluded.version, examples = excluded.examples, model = excluded.model,
                                    trained_at = now();

-- name: UserModelDelete :exec
DELETE FROM user_model WHERE user_id = @user_id;

-- name: MessageUnclassifiedBounds :many
-- The last id of each run of @size messages without a decision, in id
-- order (the last run may be shorter): the ranges classify_mailbox fans out.
SELECT m.id FROM (
    SELECT id, row_number() OVER (ORDER BY id) AS n, count(*) OVER () AS total
    FROM message WHERE account_id = @account_id AND classified_at IS NULL
) m
WHERE m.n % @size::bigint = 0 OR m.n = m.total
ORDER BY m.id;

-- name: MessageUnclassifiedCountRange :one
SELECT count(*)::bigint FROM message
WHERE account_id = @account_id AND classified_at IS NULL AND id > @after_id::text AND id <= @up_to::text;
