-- The bus part: the event log, subscriptions, deliveries and dead letters.

CREATE TABLE IF NOT EXISTS events (
    id             uuid PRIMARY KEY,
{{envelope_columns_ddl}}
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    correlation_id uuid,
    causation_id   uuid,
    version        integer     NOT NULL DEFAULT 1,
    payload        jsonb       NOT NULL,
    expires_at     timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS events_type_recorded ON events (event_type, recorded_at);
CREATE INDEX IF NOT EXISTS events_recorded ON events (recorded_at);
CREATE INDEX IF NOT EXISTS events_expires ON events (expires_at);
CREATE INDEX IF NOT EXISTS events_tenant ON events (tenant_id, recorded_at);
-- The transaction that logged the event, for broadcast subscriptions to follow the log by
-- snapshot (broker.follower). Set by a default, not in the ADD (a volatile default there
-- would rewrite the table); events logged before have none and are never broadcast.
ALTER TABLE events ADD COLUMN IF NOT EXISTS tx_id xid8;
ALTER TABLE events ALTER COLUMN tx_id SET DEFAULT pg_current_xact_id();
CREATE INDEX IF NOT EXISTS events_tx ON events (tx_id);

CREATE TABLE IF NOT EXISTS event_subscriptions (
    id               bigserial PRIMARY KEY,
    name             text        NOT NULL UNIQUE,
    module_name      text        NOT NULL,
    event_pattern    text        NOT NULL,
    pattern_regex    text        NOT NULL,
    priority         integer     NOT NULL DEFAULT 5,
    is_active        boolean     NOT NULL DEFAULT true,
    ordered          boolean     NOT NULL DEFAULT false,
    callback_url     text,
    callback_secret  text,
    max_attempts     integer     NOT NULL DEFAULT 5,
    retry_initial_ms integer     NOT NULL DEFAULT 1000,
    retry_max_ms     integer     NOT NULL DEFAULT 300000,
    lease_ms         integer     NOT NULL DEFAULT 30000,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- When a process serving the subscription last said so (at start, then every heartbeat):
-- an active subscription nobody serves shows in stats (`unserved`) and in the logs.
ALTER TABLE event_subscriptions ADD COLUMN IF NOT EXISTS last_seen_at timestamptz;
-- Set when an operator retires the subscription (`buildify-events subscriptions retire`):
-- processes that still declare it neither serve nor re-activate it. `is_active` alone only
-- says whether the relay fans out to it (the RabbitMQ transport switches that off too).
ALTER TABLE event_subscriptions ADD COLUMN IF NOT EXISTS retired_at timestamptz;

-- A delivery is one event for one subscription. status: pending -> done | dead.
-- A claimed delivery stays pending with available_at pushed to the end of its lease, so a
-- worker that dies leaves it to be claimed again once the lease is over.
CREATE TABLE IF NOT EXISTS event_deliveries (
    id              bigserial PRIMARY KEY,
    subscription_id bigint      NOT NULL REFERENCES event_subscriptions (id) ON DELETE CASCADE,
    event_id        uuid        NOT NULL,
    priority        integer     NOT NULL,
    ordering_key    text,
    status          text        NOT NULL DEFAULT 'pending',
    attempts        integer     NOT NULL DEFAULT 0,
    available_at    timestamptz NOT NULL DEFAULT now(),
    locked_by       text,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    finished_at     timestamptz,
    -- event first: the same index finds an event's deliveries (cleanup, `show`)
    CONSTRAINT event_deliveries_event_subscription_key UNIQUE (event_id, subscription_id)
) WITH (fillfactor = 80);  -- room on the page lets a claim update stay HOT (no index writes)
-- Claims walk one subscription's due deliveries in the order they fell due. `available_at`
-- in the key puts retry-delayed and leased deliveries behind the due ones, so a claim reads
-- O(batch) index entries however long the delayed backlog in front of it.
DROP INDEX IF EXISTS event_deliveries_claim;
DROP INDEX IF EXISTS event_deliveries_due;
CREATE INDEX IF NOT EXISTS event_deliveries_ready
    ON event_deliveries (subscription_id, available_at, id) WHERE status = 'pending';
-- A hot, fast-changing table: keep the planner's statistics and the vacuum close behind.
ALTER TABLE event_deliveries SET (autovacuum_analyze_scale_factor = 0.02, autovacuum_vacuum_scale_factor = 0.05);
CREATE INDEX IF NOT EXISTS event_deliveries_key
    ON event_deliveries (subscription_id, ordering_key, id)
    WHERE status = 'pending' AND ordering_key IS NOT NULL;
DROP INDEX IF EXISTS event_deliveries_event;
DO $$ BEGIN  -- databases made before the unique key led with event_id
    IF EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'event_deliveries_subscription_id_event_id_key') THEN
        ALTER TABLE event_deliveries DROP CONSTRAINT event_deliveries_subscription_id_event_id_key;
        ALTER TABLE event_deliveries
            ADD CONSTRAINT event_deliveries_event_subscription_key UNIQUE (event_id, subscription_id);
        ALTER TABLE event_deliveries SET (fillfactor = 80);
    END IF;
END $$;
CREATE INDEX IF NOT EXISTS event_deliveries_finished
    ON event_deliveries (finished_at) WHERE status = 'done';

-- The fan-out's cache: which active subscriptions an event type goes to. `digest` names the
-- set of active subscriptions (ids and patterns) the row was computed from; the relay uses a
-- row only while the digest it computes in its own snapshot is the same, so a subscription
-- added, retired, re-activated or re-patterned by any process, at any moment, takes effect
-- with the next relay statement that sees it: nothing to invalidate, nothing to lock.
CREATE TABLE IF NOT EXISTS bus_type_routes (
    event_type       text     PRIMARY KEY,
    digest           text     NOT NULL,
    subscription_ids bigint[] NOT NULL
);

CREATE TABLE IF NOT EXISTS event_dead_letters (
    id              bigserial PRIMARY KEY,
    delivery_id     bigint,
    subscription_id bigint      NOT NULL REFERENCES event_subscriptions (id) ON DELETE CASCADE,
    event_id        uuid        NOT NULL,
    attempts        integer     NOT NULL,
    reason          text        NOT NULL,
    error           text,
    traceback       text,
    failed_at       timestamptz NOT NULL DEFAULT now(),
    redriven_at     timestamptz,
    redriven_by     text
);
CREATE INDEX IF NOT EXISTS event_dead_letters_open
    ON event_dead_letters (failed_at) WHERE redriven_at IS NULL;
CREATE INDEX IF NOT EXISTS event_dead_letters_event ON event_dead_letters (event_id);

-- NOTIFY the channel named by the trigger's argument when the statement inserted rows (into
-- a transition table named `inserted`): one notification per statement, none for no rows.
CREATE OR REPLACE FUNCTION bus_notify_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM inserted) THEN
        PERFORM pg_notify(TG_ARGV[0], '');
    END IF;
    RETURN NULL;
END $$;

-- Wake workers only when a statement created deliveries for them to claim: a relay that moved
-- nothing (or only events nobody subscribes to, or only deliveries it handed to its own
-- process's workers already claimed: attempts > 0) must not wake every worker of every process.
CREATE OR REPLACE FUNCTION bus_notify_claimable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM inserted WHERE attempts = 0) THEN
        PERFORM pg_notify('bus_deliveries', '');
    END IF;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS bus_deliveries_notify ON event_deliveries;
CREATE TRIGGER bus_deliveries_notify AFTER INSERT ON event_deliveries
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION bus_notify_claimable();
DROP FUNCTION IF EXISTS bus_deliveries_notify();

-- Wake the processes that follow the log for broadcast subscriptions (they LISTEN only if
-- they have some): events nobody competes for create no deliveries, so no bus_deliveries.
DROP TRIGGER IF EXISTS bus_events_notify ON events;
CREATE TRIGGER bus_events_notify AFTER INSERT ON events
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION bus_notify_inserted('bus_events');
