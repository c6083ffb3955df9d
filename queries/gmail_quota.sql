-- name: QuotaTake :one
SELECT inboxq_quota_take(@bucket::text, @units::float8, @rate::float8, @burst::float8)::float8 AS wait_seconds;

-- name: QuotaBlock :exec
-- Stops every worker from calling for a bucket until a time (Retry-After).
INSERT INTO gmail_quota (bucket, tokens, blocked_until) VALUES (@bucket, 0, @until)
ON CONFLICT (bucket) DO UPDATE SET blocked_until = greatest(gmail_quota.blocked_until, excluded.blocked_until), tokens = 0;
