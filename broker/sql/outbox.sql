-- The outbox part of the bus: lives in every database a service writes its domain rows to,
-- so that a domain change and its events commit together.

CREATE TABLE IF NOT EXISTS bus_outbox (
    seq            bigserial PRIMARY KEY,
    id             uuid        NOT NULL,
    event_type     text        NOT NULL,
    source         text        NOT NULL,
    tenant_id      uuid,
    company_id     uuid,
    ordering_key   text,
    occurred_at    timestamptz NOT NULL,
    correlation_id uuid,
    causation_id   uuid,
    version        integer     NOT NULL DEFAULT 1,
    payload        jsonb       NOT NULL
);

-- One NOTIFY per inserting statement wakes the relay; it is delivered at commit, and not at
-- all on rollback, so the relay never wakes for an event that does not exist.
CREATE OR REPLACE FUNCTION bus_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('bus_outbox', '');
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS bus_outbox_notify ON bus_outbox;
CREATE TRIGGER bus_outbox_notify AFTER INSERT ON bus_outbox
    FOR EACH STATEMENT EXECUTE FUNCTION bus_outbox_notify();

-- Effectively-once handlers record (subscription, event) here in the same transaction as
-- their writes; a redelivered event finds its row and is skipped.
CREATE TABLE IF NOT EXISTS event_inbox (
    subscription text        NOT NULL,
    event_id     uuid        NOT NULL,
    handled_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (subscription, event_id)
);
