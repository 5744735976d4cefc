-- The relay: outbox rows onto the events log, one delivery per matching subscription.

-- Relays take turns: several may run (a standby takes over at once when one dies), but one
-- batch commits at a time, so deliveries are created in outbox order and ordered
-- subscriptions see each key's events in publish order. A relay that finds the lock taken
-- does not wait for it (holding a snapshot older than the rows it would then move): the
-- holder moves the rows, and the relay looks again shortly (RELAY_BUSY).
-- name: relay_lock
SELECT pg_try_advisory_xact_lock($1)

-- CTEs `logged`, `fanned` and `handed` over a CTE `batch` of outbox rows and `relay_params`
-- (retention in seconds; the hand-off: subscription ids, how many, lease, worker): append the
-- events to the log and create one delivery per matching active subscription. Up to
-- `handoff_limit` deliveries of the hand-off's subscriptions (never ordered ones: their keys
-- wait for earlier deliveries), highest priority first, are created already claimed by the relay's own process
-- (attempt 1, leased to `worker`) and returned in `handed`, so its idle workers run them
-- without a claim statement (broker/handoff.py). ON CONFLICT keeps a
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
), {{type_routes}}, matched AS (
    SELECT b.seq, b.id AS event_id, s.id AS subscription_id, s.priority,
           CASE WHEN s.ordered THEN b.ordering_key END AS ordering_key,
           NOT s.ordered AND s.id = ANY(p.handoff_ids) AS local
    FROM batch b JOIN routes r ON r.event_type = b.event_type
    JOIN event_subscriptions s ON s.id = r.subscription_id AND s.is_active
    CROSS JOIN relay_params p
), fanned AS (
    INSERT INTO event_deliveries (subscription_id, event_id, priority, ordering_key, attempts, available_at,
                                  locked_by)
    SELECT m.subscription_id, m.event_id, m.priority, m.ordering_key,
           CASE WHEN m.handed THEN 1 ELSE 0 END,
           CASE WHEN m.handed THEN now() + make_interval(secs => p.lease) ELSE now() END,
           CASE WHEN m.handed THEN p.worker END
    FROM (
        SELECT m.*, m.local AND count(*) FILTER (WHERE m.local)
                                    OVER (ORDER BY m.priority DESC, m.seq, m.subscription_id)
                                <= (SELECT handoff_limit FROM relay_params) AS handed
        FROM matched m
    ) m CROSS JOIN relay_params p
    ORDER BY m.seq, m.subscription_id
    ON CONFLICT (event_id, subscription_id) DO NOTHING
    RETURNING id, subscription_id, event_id, priority, attempts
), handed AS (
    SELECT f.id, f.subscription_id, f.attempts, b.id AS event_id, b.event_type, b.source, b.tenant_id,
           b.company_id, b.ordering_key, b.occurred_at, b.correlation_id, b.causation_id, b.version,
           b.payload::text AS payload, f.priority
    FROM fanned f JOIN batch b ON b.id = f.event_id
    WHERE f.attempts = 1
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
    SELECT $2::float8 AS retention, $4::bigint[] AS handoff_ids, $5::bigint AS handoff_limit,
           $6::float8 AS lease, $7::text AS worker
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
       (SELECT array_agg(EXTRACT(EPOCH FROM clock_timestamp() - occurred_at)::float8) FROM batch) AS lags,
       (SELECT count(*) FROM matched WHERE local) AS local, (SELECT array_agg(h) FROM handed h) AS handed

-- name: fetch_outbox
SELECT seq, id, event_type, source, tenant_id, company_id, ordering_key, occurred_at,
       correlation_id, causation_id, version, payload::text
FROM bus_outbox ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED

-- Two databases: the bus side of the relay, fed with the rows read from the outbox.
-- name: append_remote
WITH relay_params AS (
    SELECT $13::float8 AS retention, $14::bigint[] AS handoff_ids, $15::bigint AS handoff_limit,
           $16::float8 AS lease, $17::text AS worker
), batch AS (
    SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::text[], $5::uuid[], $6::uuid[],
                         $7::text[], $8::timestamptz[], $9::uuid[], $10::uuid[], $11::int[], $12::jsonb[])
        AS b(seq, id, event_type, source, tenant_id, company_id, ordering_key, occurred_at,
             correlation_id, causation_id, version, payload)
), {{log_and_fan_out}}
SELECT (SELECT count(*) FROM fanned) AS fanned, (SELECT count(*) FROM matched WHERE local) AS local,
       (SELECT array_agg(h) FROM handed h) AS handed

-- name: delete_relayed
DELETE FROM bus_outbox WHERE seq = ANY($1::bigint[])
