-- River's GIN index on river_job.args goes; a user's tasks are found
-- through inboxq's btree indexes instead.
--
-- inboxq filtered a user's tasks with a containment, args @> '{"owner_id": N}',
-- which River's GIN index on args answered. River itself never uses that
-- index (its statements find jobs by id, state, queue and unique key;
-- River UI's job list does not filter on args; checked against riverpgxv5
-- and riverui at the pinned versions), and River's updates are never HOT: every
-- insert, start and completion of every task wrote each key and each
-- scalar of its args into it again.
--
-- Paired rounds of the no-op benchmark (BenchmarkNoopThroughput, progress
-- reported once per job, each run after a CHECKPOINT), on one Intel
-- machine, three runs against three: with the index inboxq ran at
-- 0.869-0.898 × plain River's rate at 1.16-1.22 × its CPU per job;
-- without it 0.910-0.978 × at 1.08-1.09 × (docs/architecture.md, Measured).
--
-- A user's tasks are in three places, by state, none of which needs a new
-- index: finished ones in the owner index (0030), waiting ones in the
-- fair-share index (0030), running ones in River's index on state (they
-- are at most every process's workers). inboxq_owned says which of a
-- user's tasks a row is, one arm per place, so that the planner, which
-- plans the store's owner-scoped statements for each call's values
-- (internal/store/plan.go), folds it for an admin (owner NULL: every
-- task, no filter) and for a user reads the three indexes (a BitmapOr).
-- Each arm repeats its index's predicate and its key expression exactly
-- (the owner index compares bytes, COLLATE "C"; the fair-share one does
-- not): an index serves a clause only when both match.
CREATE FUNCTION inboxq_owned(state river_job_state, args jsonb, owner text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT owner IS NULL
        OR (state IN ('completed', 'cancelled', 'discarded') AND (args ->> 'owner_id') COLLATE "C" = owner)
        OR (state IN ('available', 'pending', 'scheduled', 'retryable') AND args ? 'owner_id' AND args ->> 'owner_id' = owner)
        OR (state = 'running' AND args ->> 'owner_id' = owner)
$$;

DROP INDEX IF EXISTS river_job_args_index;
