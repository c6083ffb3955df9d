-- The processes that work jobs (`inboxq serve`, `inboxq worker`), each under
-- its River client id, with a heartbeat: the lease that lets the others hand
-- back the jobs of a process that died (kill -9, lost machine) in about half
-- a minute instead of River's rescue delay, and the jobs a process could not
-- finish because the database was unreachable when they ended (see
-- queries/worker.sql and internal/jobs/lease.go).
CREATE TABLE inboxq_worker (
    client_id    text        PRIMARY KEY,
    host         text        NOT NULL,
    pid          integer     NOT NULL,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now(),
    -- Set by a graceful stop: what it still holds was not finished.
    stopped_at   timestamptz
);
