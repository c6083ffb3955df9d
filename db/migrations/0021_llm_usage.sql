-- The LLM stage of classification (internal/llm): what each user spent per
-- day, and token buckets that take different units from each bucket.

-- llm_usage is the record of the LLM calls made for each user, per UTC day:
-- requests sent and the tokens the endpoint reported. The limiter's buckets
-- (gmail_quota, llm:...) decide; this table is what was spent.
CREATE TABLE llm_usage (
    user_id           bigint NOT NULL REFERENCES app_user (id) ON DELETE CASCADE,
    day               date   NOT NULL,
    requests          bigint NOT NULL DEFAULT 0,
    prompt_tokens     bigint NOT NULL DEFAULT 0,
    completion_tokens bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, day)
);

-- inboxq_quota_take_each is inboxq_quota_take_all (0017) with units per
-- bucket: an LLM call takes one request from llm:requests and its estimated
-- tokens from llm:tokens and the user's daily budget, all or nothing. The
-- body is 0017's with p_units[i] for p_units; inboxq_quota_take_all is
-- now a call of this one, so the rule lives here only.
CREATE FUNCTION inboxq_quota_take_each(p_buckets text[], p_units float8[], p_rates float8[], p_bursts float8[])
RETURNS TABLE (wait_seconds float8, bucket text)
LANGUAGE plpgsql AS $$
DECLARE
    q       record;
    now_ts  timestamptz;
    i       integer;
    avail   float8[] := '{}';
    w       float8;
BEGIN
    INSERT INTO gmail_quota (bucket, tokens, updated_at)
    SELECT b.name, b.burst, clock_timestamp() FROM unnest(p_buckets, p_bursts) AS b (name, burst)
    ON CONFLICT DO NOTHING;
    PERFORM 1 FROM gmail_quota g WHERE g.bucket = ANY (p_buckets) ORDER BY g.bucket FOR UPDATE;
    now_ts := clock_timestamp();
    wait_seconds := 0;
    bucket := '';
    FOR i IN 1 .. cardinality(p_buckets) LOOP
        SELECT * INTO q FROM gmail_quota g WHERE g.bucket = p_buckets[i];
        avail[i] := least(p_bursts[i], q.tokens + greatest(extract(epoch FROM now_ts - q.updated_at), 0) * p_rates[i]);
        IF q.blocked_until > now_ts THEN
            w := extract(epoch FROM q.blocked_until - now_ts);
        ELSIF avail[i] < p_units[i] THEN
            w := (p_units[i] - avail[i]) / p_rates[i];
        ELSE
            w := 0;
        END IF;
        IF w > wait_seconds THEN
            wait_seconds := w;
            bucket := p_buckets[i];
        END IF;
    END LOOP;
    FOR i IN 1 .. cardinality(p_buckets) LOOP
        UPDATE gmail_quota g
        SET tokens = avail[i] - CASE WHEN wait_seconds = 0 THEN p_units[i] ELSE 0 END,
            updated_at = greatest(now_ts, g.updated_at)
        WHERE g.bucket = p_buckets[i];
    END LOOP;
    RETURN NEXT;
END
$$;

-- inboxq_quota_take_all (0017) takes the same units from every bucket.
CREATE OR REPLACE FUNCTION inboxq_quota_take_all(p_buckets text[], p_units float8, p_rates float8[], p_bursts float8[])
RETURNS TABLE (wait_seconds float8, bucket text)
LANGUAGE sql AS $$
    SELECT * FROM inboxq_quota_take_each(p_buckets, array_fill(p_units, ARRAY[cardinality(p_buckets)]), p_rates, p_bursts);
$$;
