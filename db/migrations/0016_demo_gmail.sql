-- Where the demo's fake Gmail listens. `inboxq serve` runs the fake in its
-- own process and records its address here, so that an `inboxq worker` in
-- demo mode works the same mailbox instead of calling Google. One row.
CREATE TABLE demo_gmail (
    singleton  boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    url        text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
