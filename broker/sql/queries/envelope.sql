-- What the outbox (broker/sql/outbox.sql) and the events log (bus.sql) share.

-- The envelope columns both tables declare, in this order.
-- name: envelope_columns_ddl
    event_type     text        NOT NULL,
    source         text        NOT NULL,
    tenant_id      uuid,
    company_id     uuid,
    ordering_key   text,
    occurred_at    timestamptz NOT NULL,
