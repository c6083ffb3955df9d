-- Analytics rollups (see db/migrations/0024_analytics.sql and the
-- "Analytics" section of docs/architecture.md).

-- name: AnalyticsDirtyTake :many
-- Takes the user's changed days: deletes and returns them, so the
-- transaction that rewrites them consumes them (a change committed later
-- marks its day again).
DELETE FROM analytics_dirty d
USING account a
WHERE d.account_id = a.id AND a.owner_id = @user_id
RETURNING d.account_id, d.day;

-- name: AnalyticsDirtyPrune :execrows
-- Drops the changed days of accounts that no longer exist.
DELETE FROM analytics_dirty d
WHERE NOT EXISTS (SELECT 1 FROM account a WHERE a.id = d.account_id);

-- name: AnalyticsMailDayRewrite :one
-- Recounts the given (account, day) pairs from the messages and writes only
-- the rows that differ: changed counts, new categories, and categories
-- that have no messages left. Returns the rows written.
WITH touched AS (
    SELECT unnest(@account_ids::bigint[]) AS account_id, unnest(@days::date[]) AS day
), fresh AS (
    -- LATERAL: one index range scan per pair (message_account_date_idx);
    -- a join on account_id alone would pair every message with every day.
    SELECT t.account_id, t.day, x.category, x.received, x.unread
    FROM touched t
    CROSS JOIN LATERAL (
        SELECT coalesce(m.shown_category, '') AS category,
               count(*)::bigint AS received,
               count(*) FILTER (WHERE 'UNREAD' = ANY (m.label_ids))::bigint AS unread
        FROM message m
        WHERE m.account_id = t.account_id
          AND m.internal_date >= t.day::timestamp AT TIME ZONE 'UTC'
          AND m.internal_date < (t.day + 1)::timestamp AT TIME ZONE 'UTC'
        GROUP BY 1
    ) x
), gone AS (
    DELETE FROM analytics_mail_day a
    USING touched t
    WHERE a.account_id = t.account_id AND a.day = t.day
      AND NOT EXISTS (SELECT 1 FROM fresh f WHERE f.account_id = a.account_id AND f.day = a.day AND f.category = a.category)
    RETURNING 1
), up AS (
    INSERT INTO analytics_mail_day (account_id, day, category, received, unread)
    SELECT f.account_id, f.day, f.category, f.received, f.unread FROM fresh f
    ON CONFLICT (account_id, day, category) DO UPDATE
    SET received = excluded.received, unread = excluded.unread
    WHERE (analytics_mail_day.received, analytics_mail_day.unread) IS DISTINCT FROM (excluded.received, excluded.unread)
    RETURNING 1
)
SELECT ((SELECT count(*) FROM gone) + (SELECT count(*) FROM up))::bigint AS written;

-- name: AnalyticsSenderRewrite :one
-- Recounts the user's top 20 senders over all their stored mail and
-- writes only the ranks that differ. Returns the rows written.
WITH fresh AS (
    SELECT (row_number() OVER (ORDER BY count(*) DESC, m.from_addr))::integer AS rank,
           m.from_addr AS sender, count(*)::bigint AS messages,
           count(*) FILTER (WHERE 'UNREAD' = ANY (m.label_ids))::bigint AS unread,
           max(m.internal_date) AS last_at
    FROM message m
    JOIN account a ON a.id = m.account_id
    WHERE a.owner_id = @user_id
    GROUP BY m.from_addr
    ORDER BY 1
    LIMIT 20
), gone AS (
    DELETE FROM analytics_sender s
    WHERE s.user_id = @user_id AND s.rank > (SELECT count(*) FROM fresh)
    RETURNING 1
), up AS (
    INSERT INTO analytics_sender (user_id, rank, sender, messages, unread, last_at)
    SELECT @user_id, f.rank, f.sender, f.messages, f.unread, f.last_at FROM fresh f
    ON CONFLICT (user_id, rank) DO UPDATE
    SET sender = excluded.sender, messages = excluded.messages, unread = excluded.unread, last_at = excluded.last_at
    WHERE (analytics_sender.sender, analytics_sender.messages, analytics_sender.unread, analytics_sender.last_at)
          IS DISTINCT FROM (excluded.sender, excluded.messages, excluded.unread, excluded.last_at)
    RETURNING 1
)
SELECT ((SELECT count(*) FROM gone) + (SELECT count(*) FROM up))::bigint AS written;

-- name: AnalyticsWatermarkGet :one
-- Where a rollup of finished jobs stopped (user_id 0: the system's); no
-- row: never ran.
SELECT jobs_through, rolled_at FROM analytics_watermark WHERE user_id = @user_id;

-- name: AnalyticsWatermarkSet :exec
INSERT INTO analytics_watermark (user_id, jobs_through, rolled_at)
VALUES (@user_id, @jobs_through, now())
ON CONFLICT (user_id) DO UPDATE SET jobs_through = excluded.jobs_through, rolled_at = excluded.rolled_at;

-- name: AnalyticsBulkFinishedSince :one
-- The newest finish among the user's completed tasks of the given kinds
-- finished after a time; that time when none.
SELECT coalesce(max(j.finalized_at), @since::timestamptz)::timestamptz AS newest
FROM river_job j
WHERE j.state = 'completed' AND j.finalized_at > @since::timestamptz
  AND j.kind = ANY (@kinds::text[])
  AND (j.args ->> 'owner_id') COLLATE "C" = (@user_id::bigint)::text;

-- name: AnalyticsBulkDayRewrite :execrows
-- Recounts the user's completed bulk tasks on every UTC day that has one
-- finished after @since, from their recorded output, and writes what
-- differs. Whole days are recounted: a day's jobs must still be kept
-- (River's retention, default 7 days).
WITH days AS (
    SELECT DISTINCT (j.finalized_at AT TIME ZONE 'UTC')::date AS day
    FROM river_job j
    WHERE j.state = 'completed' AND j.finalized_at > @since::timestamptz
      AND j.kind = ANY (@kinds::text[])
      AND (j.args ->> 'owner_id') COLLATE "C" = (@user_id::bigint)::text
), fresh AS (
    SELECT d.day, j.kind, count(*)::bigint AS tasks,
           coalesce(sum(CASE WHEN j.metadata -> 'output' ->> 'messages' ~ '^[0-9]{1,18}$'
                             THEN (j.metadata -> 'output' ->> 'messages')::bigint END), 0)::bigint AS messages
    FROM days d
    JOIN river_job j ON j.state = 'completed'
        AND j.finalized_at >= d.day::timestamp AT TIME ZONE 'UTC'
        AND j.finalized_at < (d.day + 1)::timestamp AT TIME ZONE 'UTC'
        AND j.kind = ANY (@kinds::text[])
        AND (j.args ->> 'owner_id') COLLATE "C" = (@user_id::bigint)::text
    GROUP BY d.day, j.kind
)
INSERT INTO analytics_bulk_day (user_id, day, kind, tasks, messages)
SELECT @user_id, f.day, f.kind, f.tasks, f.messages FROM fresh f
ON CONFLICT (user_id, day, kind) DO UPDATE
SET tasks = excluded.tasks, messages = excluded.messages
WHERE (analytics_bulk_day.tasks, analytics_bulk_day.messages) IS DISTINCT FROM (excluded.tasks, excluded.messages);

-- name: AnalyticsFinishedSince :one
-- The newest finish among all tasks finished after a time; that time when none.
SELECT coalesce(max(j.finalized_at), @since::timestamptz)::timestamptz AS newest
FROM river_job j
WHERE j.state IN ('completed', 'discarded', 'cancelled') AND j.finalized_at > @since::timestamptz;

-- name: AnalyticsTaskDayRewrite :execrows
-- Recounts every UTC day that has a task finished after @since, per kind:
-- outcomes as the task view names them, run time and queue wait of the
-- last attempt (p50, p95, in ms), and Gmail quota units from outputs.
-- Writes what differs. Whole days: see AnalyticsBulkDayRewrite.
WITH days AS (
    SELECT DISTINCT (j.finalized_at AT TIME ZONE 'UTC')::date AS day
    FROM river_job j
    WHERE j.state IN ('completed', 'discarded', 'cancelled') AND j.finalized_at > @since::timestamptz
), fresh AS (
    SELECT d.day, j.kind,
           count(*) FILTER (WHERE inboxq_task_state(j.state, j.metadata, j.errors) = 'completed')::bigint AS completed,
           count(*) FILTER (WHERE inboxq_task_state(j.state, j.metadata, j.errors) = 'failed')::bigint AS failed,
           count(*) FILTER (WHERE inboxq_task_state(j.state, j.metadata, j.errors) = 'cancelled')::bigint AS cancelled,
           coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM j.finalized_at - j.attempted_at) * 1000), 0)::float8 AS run_p50_ms,
           coalesce(percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM j.finalized_at - j.attempted_at) * 1000), 0)::float8 AS run_p95_ms,
           coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY CASE WHEN j.attempted_at IS NOT NULL THEN greatest(extract(epoch FROM j.attempted_at - j.scheduled_at), 0) * 1000 END), 0)::float8 AS wait_p50_ms,
           coalesce(percentile_cont(0.95) WITHIN GROUP (ORDER BY CASE WHEN j.attempted_at IS NOT NULL THEN greatest(extract(epoch FROM j.attempted_at - j.scheduled_at), 0) * 1000 END), 0)::float8 AS wait_p95_ms,
           coalesce(sum(CASE WHEN jsonb_typeof(j.metadata -> 'output' -> 'quota_units') = 'number'
                             THEN (j.metadata -> 'output' ->> 'quota_units')::float8 END), 0)::float8 AS quota_units
    FROM days d
    JOIN river_job j ON j.state IN ('completed', 'discarded', 'cancelled')
        AND j.finalized_at >= d.day::timestamp AT TIME ZONE 'UTC'
        AND j.finalized_at < (d.day + 1)::timestamp AT TIME ZONE 'UTC'
    GROUP BY d.day, j.kind
)
INSERT INTO analytics_task_day (day, kind, completed, failed, cancelled, run_p50_ms, run_p95_ms, wait_p50_ms, wait_p95_ms, quota_units)
SELECT f.day, f.kind, f.completed, f.failed, f.cancelled, f.run_p50_ms, f.run_p95_ms, f.wait_p50_ms, f.wait_p95_ms, f.quota_units FROM fresh f
ON CONFLICT (day, kind) DO UPDATE
SET completed = excluded.completed, failed = excluded.failed, cancelled = excluded.cancelled,
    run_p50_ms = excluded.run_p50_ms, run_p95_ms = excluded.run_p95_ms,
    wait_p50_ms = excluded.wait_p50_ms, wait_p95_ms = excluded.wait_p95_ms, quota_units = excluded.quota_units
WHERE (analytics_task_day.completed, analytics_task_day.failed, analytics_task_day.cancelled,
       analytics_task_day.run_p50_ms, analytics_task_day.run_p95_ms, analytics_task_day.wait_p50_ms,
       analytics_task_day.wait_p95_ms, analytics_task_day.quota_units)
      IS DISTINCT FROM (excluded.completed, excluded.failed, excluded.cancelled, excluded.run_p50_ms,
       excluded.run_p95_ms, excluded.wait_p50_ms, excluded.wait_p95_ms, excluded.quota_units);

-- name: AnalyticsUsersWithAccounts :many
SELECT DISTINCT owner_id FROM account ORDER BY owner_id;

-- name: AnalyticsMailDays :many
-- A user's mail per UTC day and category over their accounts, in a range.
SELECT r.day, r.category, sum(r.received)::bigint AS received, sum(r.unread)::bigint AS unread
FROM analytics_mail_day r
JOIN account a ON a.id = r.account_id
WHERE a.owner_id = @user_id AND r.day >= @from_day::date AND r.day <= @to_day::date
GROUP BY r.day, r.category
ORDER BY r.day, r.category;

-- name: AnalyticsMailTotals :one
-- A user's stored mail over all days: messages, unread, classified.
SELECT coalesce(sum(r.received), 0)::bigint AS received,
       coalesce(sum(r.unread), 0)::bigint AS unread,
       coalesce(sum(r.received) FILTER (WHERE r.category <> ''), 0)::bigint AS classified
FROM analytics_mail_day r
JOIN account a ON a.id = r.account_id
WHERE a.owner_id = @user_id;

-- name: AnalyticsSenders :many
SELECT rank, sender, messages, unread, last_at FROM analytics_sender WHERE user_id = @user_id ORDER BY rank;

-- name: AnalyticsBulkDays :many
SELECT day, kind, tasks, messages FROM analytics_bulk_day
WHERE user_id = @user_id AND day >= @from_day::date AND day <= @to_day::date
ORDER BY day, kind;

-- name: AnalyticsAccountsSync :many
-- The user's accounts and when each last synced.
SELECT id, email, status, last_synced_at FROM account WHERE owner_id = @user_id ORDER BY id;

-- name: AnalyticsTaskDays :many
SELECT day, kind, completed, failed, cancelled, run_p50_ms, run_p95_ms, wait_p50_ms, wait_p95_ms, quota_units
FROM analytics_task_day
WHERE day >= @from_day::date AND day <= @to_day::date
ORDER BY day, kind;

-- name: AnalyticsLLMDays :many
-- LLM use over all users per UTC day (llm_usage is a daily rollup already).
SELECT day, sum(requests)::bigint AS requests, sum(prompt_tokens)::bigint AS prompt_tokens,
       sum(completion_tokens)::bigint AS completion_tokens
FROM llm_usage
WHERE day >= @from_day::date AND day <= @to_day::date
GROUP BY day ORDER BY day;
