-- A user's finished tasks and their waiting ones come from two indexes,
-- so that no job version enters both.
--
-- River's updates are never HOT: each state change of a job writes an
-- entry into every index whose predicate the new row meets. A no-op task
-- made three entries in inboxq's indexes: the fair-share index for its
-- available row, the owner index for its available and completed rows
-- (0028 took running rows out of both). Now the owner index holds finished
-- tasks only, and the fair-share index, which holds every waiting task
-- (available, pending, scheduled, retryable), leads with the owner, so
-- that it lists one user's waiting tasks as well as it counts them
-- (TaskCountUnfinishedByOwner) and admits them (equality on owner and
-- queue, as before). A user's task list reads three sources: finished
-- tasks over the owner index in id order, waiting ones over the
-- fair-share index (at most the user's queued tasks, which the per-user
-- limit bounds), running ones over River's index on state.
--
-- Paired rounds of the no-op benchmark, the index changed against the
-- index of 0028 on the same run: +8.6 % jobs/s, -8 % CPU per job
-- (docs/architecture.md, Measured).

DROP INDEX river_job_inboxq_owner_idx;
CREATE INDEX river_job_inboxq_owner_idx ON river_job (((args ->> 'owner_id')) COLLATE "C", id DESC)
    WHERE state IN ('completed', 'cancelled', 'discarded') AND (args ->> 'owner_id') IS NOT NULL;

DROP INDEX river_job_inboxq_fair_idx;
CREATE INDEX river_job_inboxq_fair_idx ON river_job ((args ->> 'owner_id'), queue, state, (metadata ->> 'priority'), id)
    WHERE state IN ('available', 'pending', 'scheduled', 'retryable') AND args ? 'owner_id';
