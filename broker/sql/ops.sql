-- The operations part of the bus: who replayed, redrove or purged what, and where a replay got to.

-- One row per operator action that changes deliveries (replay, redrive, purge). Dry runs
-- change nothing and are not recorded. `tenant_id` is the tenant the action was restricted
-- to (NULL: platform-wide, by a platform operator).
CREATE TABLE IF NOT EXISTS event_ops_audit (
    id          bigserial PRIMARY KEY,
    action      text        NOT NULL,
    actor       text        NOT NULL,
    tenant_id   uuid,
    selection   jsonb       NOT NULL,
    affected    bigint      NOT NULL DEFAULT 0,
    status      text        NOT NULL DEFAULT 'done',
    run_id      uuid,
    started_at  timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
);
CREATE INDEX IF NOT EXISTS event_ops_audit_started ON event_ops_audit (started_at);

-- A replay's checkpoint: the selection, its frozen upper bound and the keyset position (the
-- last event id, with its recorded_at for people) of the last batch committed. Each batch updates it in the batch's own transaction, so a
-- replay cut short resumes exactly after the last batch that reached the delivery tables.
CREATE TABLE IF NOT EXISTS event_replay_runs (
    id               uuid PRIMARY KEY,
    actor            text        NOT NULL,
    tenant_id        uuid,
    selection        jsonb       NOT NULL,
    subscription_ids bigint[]    NOT NULL,
    upper_bound      timestamptz NOT NULL,
    position_at      timestamptz,
    position_id      uuid,
    events           bigint      NOT NULL DEFAULT 0,
    deliveries       bigint      NOT NULL DEFAULT 0,
    status           text        NOT NULL DEFAULT 'running',
    audit_id         bigint,
    started_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    finished_at      timestamptz
);
