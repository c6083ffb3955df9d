-- Fair sharing between users (see db/migrations/0011_fair_share.sql).

-- name: FairQueueSet :exec
-- Sets how many of one user's tasks may be ready or running in a queue.
INSERT INTO fair_queue (queue, user_cap) VALUES (@queue, @user_cap)
ON CONFLICT (queue) DO UPDATE SET user_cap = excluded.user_cap;

-- name: FairSweep :one
-- Admits pending tasks of users under their cap; returns the pairs checked.
SELECT inboxq_fair_sweep()::integer AS checked;
