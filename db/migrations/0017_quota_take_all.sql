-- inboxq_quota_take_all takes units from several buckets at once (Gmail's
-- per-user and per-project budgets), all or nothing. Taking them one by one
-- (inboxq_quota_take, 0011) lost the units taken from the user's bucket
-- when the project's then said "wait", and cost two statements per call.
-- Rows are locked in bucket order (no deadlock between callers), the clock
-- is read after the locks are granted, and the answer is the longest wait
-- and the bucket that imposes it ('' when taken).
CREATE FUNCTION inboxq_quota_take_all(p_buckets text[], p_units float8, p_rates float8[], p_bursts float8[])
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
        ELSIF avail[i] < p_units THEN
            w := (p_units - avail[i]) / p_rates[i];
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
        SET tokens = avail[i] - CASE WHEN wait_seconds = 0 THEN p_units ELSE 0 END,
            updated_at = greatest(now_ts, g.updated_at)
        WHERE g.bucket = p_buckets[i];
    END LOOP;
    RETURN NEXT;
END
$$;
