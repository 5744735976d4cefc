-- Broadcast subscriptions: each process follows the events log (broker/follower.py).

-- Broadcast subscriptions follow the events log by snapshot: the events whose inserting
-- transaction the previous snapshot did not see as committed, and this statement's snapshot
-- does. Unlike a sequence, this misses no event whose transaction commits late.
-- name: follow_start
SELECT pg_current_snapshot()::text

-- name: follow
WITH snap AS (SELECT pg_current_snapshot() AS now, $1::text::pg_snapshot AS seen)
SELECT s.now::text, e.id, e.event_type, e.source, e.tenant_id, e.company_id, e.ordering_key,
       e.occurred_at, e.correlation_id, e.causation_id, e.version, e.payload::text
FROM snap s LEFT JOIN LATERAL (
    SELECT * FROM events e
    WHERE e.tx_id >= pg_snapshot_xmin(s.seen) AND NOT pg_visible_in_snapshot(e.tx_id, s.seen)
      AND ('.' || e.event_type) ~ ANY($2::text[])
) e ON true
ORDER BY e.tx_id, e.id
