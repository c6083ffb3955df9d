-- What the LLM stage spent per user and day (see db/migrations/0021_llm_usage.sql).

-- name: LLMUsageAdd :exec
-- Adds one call's (or one batch's) requests and tokens to the user's day.
INSERT INTO llm_usage (user_id, day, requests, prompt_tokens, completion_tokens)
VALUES (@user_id, @day, @requests, @prompt_tokens, @completion_tokens)
ON CONFLICT (user_id, day) DO UPDATE
SET requests = llm_usage.requests + excluded.requests,
    prompt_tokens = llm_usage.prompt_tokens + excluded.prompt_tokens,
    completion_tokens = llm_usage.completion_tokens + excluded.completion_tokens;

-- name: LLMUsageGet :one
-- A user's usage on a day; zeros when nothing was spent.
SELECT coalesce(sum(requests), 0)::bigint AS requests,
       coalesce(sum(prompt_tokens), 0)::bigint AS prompt_tokens,
       coalesce(sum(completion_tokens), 0)::bigint AS completion_tokens
FROM llm_usage WHERE user_id = @user_id AND day = @day;
