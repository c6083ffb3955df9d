-- name: QuotaTake :one
SELECT inboxq_quota_take(@bucket::text, @units::float8, @rate::float8, @burst::float8)::float8 AS wait_seconds;

-- name: QuotaBlock :exec
-- Stops every worker from calling for a bucket until a time (Retry-After).
INSERT INTO gmail_quota (bucket, tokens, blocked_until) VALUES (@bucket, 0, @until)
ON CONFLICT (bucket) DO UPDATE SET blocked_until = greatest(gmail_quota.blocked_until, excluded.blocked_until), tokens = 0;

-- name: QuotaPeek :one
-- A bucket's tokens now, as inboxq_quota_take would see them, without
-- taking any (an unknown bucket is full).
SELECT coalesce((
    SELECT least(@burst::float8, tokens + extract(epoch FROM greatest(clock_timestamp(), updated_at) - updated_at) * @rate::float8)
    FROM gmail_quota WHERE bucket = @bucket::text
), @burst::float8)::float8 AS tokens;

-- name: QuotaTakeAll :one
-- Takes units from every bucket, or from none (see 0017_quota_take_all.sql).
SELECT t.wait_seconds::float8 AS wait_seconds, t.bucket::text AS bucket
FROM inboxq_quota_take_all(@buckets::text[], @units::float8, @rates::float8[], @bursts::float8[]) AS t;

-- name: QuotaTakeEach :one
-- Takes each bucket's own units, from every bucket or from none (see
-- 0021_llm_usage.sql).
SELECT t.wait_seconds::float8 AS wait_seconds, t.bucket::text AS bucket
FROM inboxq_quota_take_each(@buckets::text[], @units::float8[], @rates::float8[], @bursts::float8[]) AS t;

-- name: QuotaCharge :exec
-- Settles a bucket after the fact: takes units (or gives them back when
-- negative) without waiting, so the tokens may go below zero and the next
-- taker waits for the debt. For costs known only after a call (the tokens
-- an LLM reports). One row per statement: no lock order to keep.
UPDATE gmail_quota
SET tokens = least(@burst::float8, least(@burst::float8, tokens + greatest(extract(epoch FROM clock_timestamp() - updated_at), 0) * @rate::float8) - @units::float8),
    updated_at = greatest(clock_timestamp(), updated_at)
WHERE bucket = @bucket::text;
