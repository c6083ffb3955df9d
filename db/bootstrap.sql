-- The ledger of applied inboxq migrations (River keeps its own in river_migration).
CREATE TABLE IF NOT EXISTS inboxq_migration (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
