-- Sender reputation: what update_sender_reputation reads and writes, and
-- what the API lists (db/migrations/0023_sender_reputation.sql).

-- name: SenderRunGet :one
SELECT * FROM sender_reputation_run WHERE user_id = @user_id;

-- name: SenderRunStart :exec
-- Clears the rescan flag as a run starts (a delete while it runs sets it again).
UPDATE sender_reputation_run SET rescan = false WHERE user_id = @user_id;

-- name: SenderRunFinish :exec
INSERT INTO sender_reputation_run (user_id, evidence_through) VALUES (@user_id, @evidence_through)
ON CONFLICT (user_id) DO UPDATE SET evidence_through = excluded.evidence_through, finished_at = now();

-- name: SenderChangedAddresses :many
-- The addresses of a user's messages with evidence newer than since (the
-- owner's own mail left out, as in SenderMessages).
SELECT DISTINCT inboxq_sender_address(m.from_addr)::text AS address
FROM message m JOIN account a ON a.id = m.account_id
WHERE a.owner_id = @owner_id AND m.evidence_at > @since AND NOT m.label_ids && ARRAY['SENT', 'DRAFT']
ORDER BY 1;

-- name: SenderAddressKeys :many
SELECT key FROM sender_reputation WHERE user_id = @user_id AND kind = 'address' ORDER BY key;

-- name: SenderMessageCounts :many
-- How many of a user's messages each of these addresses sent, for sizing
-- the batches SenderMessages reads: an upper bound (the owner's own mail
-- counted too). Counted by From header first, so that the address is
-- taken apart once per header rather than once per message (2.4 times
-- faster at 100,000 messages of 371 senders).
SELECT inboxq_sender_address(f.from_addr)::text AS address, sum(f.n)::bigint AS messages
FROM (SELECT m.from_addr, count(*) AS n
      FROM message m
      WHERE m.account_id IN (SELECT a.id FROM account a WHERE a.owner_id = @owner_id)
        AND inboxq_sender_address(m.from_addr) = ANY (@addresses::text[])
      GROUP BY m.from_addr) f
GROUP BY 1;

-- name: SenderMessages :many
-- What a user's mail from these addresses says, by address. The owner's own
-- mail (SENT, DRAFT) is no evidence about a sender.
SELECT inboxq_sender_address(m.from_addr)::text AS address, m.label_ids, m.auth_results,
       m.list_unsubscribe <> '' AS list_unsubscribe, coalesce(m.corrected_category, '')::text AS corrected,
       m.internal_date, m.evidence_at
FROM message m JOIN account a ON a.id = m.account_id
WHERE a.owner_id = @owner_id AND inboxq_sender_address(m.from_addr) = ANY (@addresses::text[])
  AND NOT m.label_ids && ARRAY['SENT', 'DRAFT']
ORDER BY 1;

-- name: SenderUpsertMany :execrows
-- Stores senders (rows: a JSON array of sender_reputation's columns); a
-- sender whose counts and score are unchanged is not written.
INSERT INTO sender_reputation (user_id, kind, key, domain, score, factors, messages, read, kept, discarded_unread,
                               corrected_spam, corrected_not_spam, auth_pass, auth_fail, spf_fail, dkim_fail, dmarc_fail,
                               list_unsubscribe, last_message_at, evidence_at)
SELECT @user_id, r.kind, r.key, r.domain, r.score, r.factors, r.messages, r.read, r.kept, r.discarded_unread,
       r.corrected_spam, r.corrected_not_spam, r.auth_pass, r.auth_fail, r.spf_fail, r.dkim_fail, r.dmarc_fail,
       r.list_unsubscribe, r.last_message_at, r.evidence_at
FROM jsonb_to_recordset(@rows::jsonb) AS r(kind text, key text, domain text, score smallint, factors jsonb,
     messages integer, read integer, kept integer, discarded_unread integer, corrected_spam integer,
     corrected_not_spam integer, auth_pass integer, auth_fail integer, spf_fail integer, dkim_fail integer,
     dmarc_fail integer, list_unsubscribe integer, last_message_at timestamptz, evidence_at timestamptz)
ON CONFLICT (user_id, kind, key) DO UPDATE
    SET score = excluded.score, factors = excluded.factors, messages = excluded.messages, read = excluded.read,
        kept = excluded.kept, discarded_unread = excluded.discarded_unread, corrected_spam = excluded.corrected_spam,
        corrected_not_spam = excluded.corrected_not_spam, auth_pass = excluded.auth_pass, auth_fail = excluded.auth_fail,
        spf_fail = excluded.spf_fail, dkim_fail = excluded.dkim_fail, dmarc_fail = excluded.dmarc_fail,
        list_unsubscribe = excluded.list_unsubscribe, last_message_at = excluded.last_message_at,
        evidence_at = excluded.evidence_at, updated_at = now()
    WHERE (sender_reputation.score, sender_reputation.factors, sender_reputation.messages, sender_reputation.read,
           sender_reputation.kept, sender_reputation.discarded_unread, sender_reputation.corrected_spam,
           sender_reputation.corrected_not_spam, sender_reputation.auth_pass, sender_reputation.auth_fail,
           sender_reputation.spf_fail, sender_reputation.dkim_fail, sender_reputation.dmarc_fail,
           sender_reputation.list_unsubscribe, sender_reputation.last_message_at)
          IS DISTINCT FROM
          (excluded.score, excluded.factors, excluded.messages, excluded.read, excluded.kept, excluded.discarded_unread,
           excluded.corrected_spam, excluded.corrected_not_spam, excluded.auth_pass, excluded.auth_fail,
           excluded.spf_fail, excluded.dkim_fail, excluded.dmarc_fail, excluded.list_unsubscribe, excluded.last_message_at);

-- name: SenderDelete :execrows
-- Forgets senders of a kind that no longer have mail.
DELETE FROM sender_reputation WHERE user_id = @user_id AND kind = @kind AND key = ANY (@keys::text[]);

-- name: SenderDomainSums :many
-- The evidence of domains: the sums of their addresses'.
SELECT domain, sum(messages)::int AS messages, sum(read)::int AS read, sum(kept)::int AS kept,
       sum(discarded_unread)::int AS discarded_unread, sum(corrected_spam)::int AS corrected_spam,
       sum(corrected_not_spam)::int AS corrected_not_spam, sum(auth_pass)::int AS auth_pass,
       sum(auth_fail)::int AS auth_fail, sum(spf_fail)::int AS spf_fail, sum(dkim_fail)::int AS dkim_fail,
       sum(dmarc_fail)::int AS dmarc_fail, sum(list_unsubscribe)::int AS list_unsubscribe,
       max(last_message_at)::timestamptz AS last_message_at, max(evidence_at)::timestamptz AS evidence_at
FROM sender_reputation
WHERE user_id = @user_id AND kind = 'address' AND domain = ANY (@domains::text[])
GROUP BY domain;

-- name: SenderList :many
-- A page of a user's senders: by score (lowest first), score_desc (highest
-- first) or volume (most messages first), then id, after a keyset cursor.
SELECT * FROM sender_reputation
WHERE user_id = @user_id AND (@kind::text = '' OR kind = @kind::text)
  AND (CASE @sort::text WHEN 'volume' THEN -messages WHEN 'score_desc' THEN -score ELSE score END, id)
      > (@after_key::int, @after_id::bigint)
ORDER BY CASE @sort::text WHEN 'volume' THEN -messages WHEN 'score_desc' THEN -score ELSE score END, id
LIMIT @max_rows;

-- name: SenderGet :one
SELECT * FROM sender_reputation WHERE user_id = @user_id AND id = @id;

-- name: SenderLeaning :many
-- A user's senders whose reputation classification leans on: enough mail,
-- and a score at either end.
SELECT key, score FROM sender_reputation
WHERE user_id = @user_id AND messages >= @min_messages AND (score <= @low::int OR score >= @high::int);
