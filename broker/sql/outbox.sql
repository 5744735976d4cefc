-- The outbox part of the bus: lives in every database a service writes its domain rows to,
-- so that a domain change and its events commit together.

CREATE TABLE IF NOT EXISTS bus_outbox (
    seq            bigserial PRIMARY KEY,
    id             uuid        NOT NULL,
{{envelope_columns_ddl}}
    correlation_id uuid,
    causation_id   uuid,
    version        integer     NOT NULL DEFAULT 1,
    payload        jsonb       NOT NULL
);

-- No NOTIFY trigger here: a NOTIFY inside the publishing transaction would serialise every
-- publisher's commit. The publishing process sends `NOTIFY bus_outbox` after its transaction
-- ends (broker/commit_notify.py); other writers are found by the relay's polling.
DROP TRIGGER IF EXISTS bus_outbox_notify ON bus_outbox;
DROP FUNCTION IF EXISTS bus_outbox_notify();

-- Effectively-once handlers record (subscription, event) here in the same transaction as
-- their writes; a redelivered event finds its row and is skipped.
CREATE TABLE IF NOT EXISTS event_inbox (
    subscription text        NOT NULL,
    event_id     uuid        NOT NULL,
    handled_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subscription, event_id)
);
