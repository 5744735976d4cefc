-- The relay: outbox rows onto the events log, one delivery per matching subscription.

-- Relays take turns: several may run (a standby takes over at once when one dies), but one
-- batch commits at a time, so deliveries are created in outbox order and ordered
-- subscriptions see each key's events in publish order. A relay that finds the lock taken
-- does not wait for it (holding a snapshot older than the rows it would then move): the
-- holder moves the rows, and the relay looks again shortly (RELAY_BUSY).
-- name: relay_lock
SELECT pg_try_advisory_xact_lock($1)

-- CTEs `logged` and `fanned` over a CTE `batch` of outbox rows (and `relay_params` with the
-- retention in seconds): append the events to
-- the log and create one delivery per matching active subscription. ON CONFLICT keeps a
-- re-relayed event (after a crash between the steps of the two-database relay) from
-- duplicating either.
-- Patterns are matched once per event type, not per event and subscription (PostgreSQL
-- keeps 32 compiled regexes per connection: 200 subscriptions made every match a compile).
-- The result is kept in `bus_type_routes` under a digest of the active subscriptions read
-- in this statement's snapshot; a row whose digest differs is recomputed, so any change
-- to the subscriptions, by any process, is seen by the next statement.
-- name: log_and_fan_out
logged AS (
    INSERT INTO events (id, event_type, source, tenant_id, company_id, ordering_key, occurred_at,
                        correlation_id, causation_id, version, payload, expires_at)
    SELECT id, event_type, source, tenant_id, company_id, ordering_key, occurred_at,
           correlation_id, causation_id, version, payload, now() + make_interval(secs => (SELECT retention FROM relay_params))
    FROM batch
    ON CONFLICT (id) DO NOTHING
    RETURNING 1
), {{type_routes}}, fanned AS (
    INSERT INTO event_deliveries (subscription_id, event_id, priority, ordering_key)
    SELECT s.id, b.id, s.priority, CASE WHEN s.ordered THEN b.ordering_key END
    FROM batch b JOIN routes r ON r.event_type = b.event_type
    JOIN event_subscriptions s ON s.id = r.subscription_id AND s.is_active
    ORDER BY b.seq, s.id
    ON CONFLICT (event_id, subscription_id) DO NOTHING
    RETURNING 1
)

-- CTE `routes` (event_type, subscription_id) for the types in CTE `batch`, from the cache
-- where its digest matches the active subscriptions, else matched now and remembered.
-- name: type_routes
digest AS (
    SELECT coalesce(md5(string_agg(s.id || ' ' || s.pattern_regex, ',' ORDER BY s.id)), '') AS d
    FROM event_subscriptions s WHERE s.is_active
), types AS (
    SELECT DISTINCT event_type FROM batch
), cached AS (
    SELECT r.event_type, r.subscription_ids FROM bus_type_routes r
    WHERE r.event_type IN (SELECT event_type FROM types) AND r.digest = (SELECT d FROM digest)
), computed AS (
    SELECT t.event_type, coalesce(array_agg(s.id ORDER BY s.id) FILTER (WHERE s.id IS NOT NULL), '{}')
               AS subscription_ids
    FROM types t LEFT JOIN event_subscriptions s ON s.is_active AND ('.' || t.event_type) ~ s.pattern_regex
    WHERE t.event_type NOT IN (SELECT event_type FROM cached)
    GROUP BY t.event_type
), remembered AS (
    INSERT INTO bus_type_routes (event_type, digest, subscription_ids)
    SELECT event_type, (SELECT d FROM digest), subscription_ids FROM computed
    ORDER BY event_type  -- two-database relays may write at once: lock rows in one order
    ON CONFLICT (event_type) DO UPDATE
        SET digest = EXCLUDED.digest, subscription_ids = EXCLUDED.subscription_ids
), routes AS (
    SELECT event_type, unnest(subscription_ids) AS subscription_id FROM cached
    UNION ALL
    SELECT event_type, unnest(subscription_ids) FROM computed
)

-- Same database: claim, log, fan out and delete in one statement (one round trip). The
-- relay lock is tried in the statement's gating filter, before any outbox row is read or locked.
-- name: relay_local
WITH relay_params AS (
    SELECT $2::float8 AS retention
), lock AS (
    SELECT pg_try_advisory_xact_lock($3) AS got
), batch AS (
    DELETE FROM bus_outbox
    WHERE seq IN (SELECT seq FROM bus_outbox
                  WHERE (SELECT got FROM lock)
                  ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED)
    RETURNING *
), {{log_and_fan_out}}
SELECT (SELECT got FROM lock) AS locked, (SELECT count(*) FROM batch) AS moved,
       (SELECT count(*) FROM fanned) AS fanned,
       (SELECT array_agg(EXTRACT(EPOCH FROM clock_timestamp() - occurred_at)::float8) FROM batch) AS lags

-- name: fetch_outbox
SELECT seq, id, event_type, source, tenant_id, company_id, ordering_key, occurred_at,
       correlation_id, causation_id, version, payload::text
FROM bus_outbox ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED

-- Two databases: the bus side of the relay, fed with the rows read from the outbox.
-- name: append_remote
WITH relay_params AS (
    SELECT $13::float8 AS retention
), batch AS (
    SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::text[], $5::uuid[], $6::uuid[],
                         $7::text[], $8::timestamptz[], $9::uuid[], $10::uuid[], $11::int[], $12::jsonb[])
        AS b(seq, id, event_type, source, tenant_id, company_id, ordering_key, occurred_at,
             correlation_id, causation_id, version, payload)
), {{log_and_fan_out}}
SELECT (SELECT count(*) FROM fanned)

-- name: delete_relayed
DELETE FROM bus_outbox WHERE seq = ANY($1::bigint[])
