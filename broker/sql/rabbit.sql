-- Queues the RabbitMQ transport has declared and bound, one row per (prefix, subscription).
-- The forwarder publishes with mandatory=true; a returned (unroutable) event is a failure only
-- when a row here says some queue should have taken it, else nobody consumes it over RabbitMQ.
CREATE TABLE IF NOT EXISTS bus_rabbit_bindings (
    prefix        text        NOT NULL,
    subscription  text        NOT NULL,
    event_pattern text        NOT NULL,
    pattern_regex text        NOT NULL,
    bound_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (prefix, subscription)
);
