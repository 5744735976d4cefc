-- Reading the events log: list, tail and show (broker/ops/events.py).

-- $1 type regex, $2 since, $3 until, $4 tenant, $5 company, $6 source, $7 event ids. The time
-- bounds are COALESCEd rather than OR-ed with IS NULL so that a generic plan still uses the index.
-- name: event_filter
    e.recorded_at >= COALESCE($2::timestamptz, '-infinity')
    AND e.recorded_at < COALESCE($3::timestamptz, 'infinity')
    AND ($1::text IS NULL OR ('.' || e.event_type) ~ $1::text)
    AND ($4::uuid IS NULL OR e.tenant_id = $4::uuid)
    AND ($5::uuid IS NULL OR e.company_id = $5::uuid)
    AND ($6::text IS NULL OR e.source = $6::text)
    AND (cardinality($7::uuid[]) = 0 OR e.id = ANY($7::uuid[]))

-- name: event_columns
e.id, e.event_type, e.source, e.tenant_id, e.company_id, e.ordering_key, e.occurred_at,
    e.recorded_at, e.correlation_id, e.causation_id, e.version

-- name: list_events
WITH page AS (
    SELECT {{event_columns}}
    FROM events e
    WHERE {{event_filter}}
    ORDER BY e.recorded_at DESC, e.id DESC
    LIMIT $8
)
SELECT page.*, c.pending, c.done, c.dead
FROM page CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE d.status = 'pending') AS pending,
           count(*) FILTER (WHERE d.status = 'done') AS done,
           count(*) FILTER (WHERE d.status = 'dead') AS dead
    FROM event_deliveries d WHERE d.event_id = page.id
) c
ORDER BY page.recorded_at DESC, page.id DESC

-- Tail reads a little behind its cursor (the caller dedupes by id), because sequence and
-- clock order is not commit order: an event recorded a moment earlier may commit later.
-- name: tail_events
SELECT {{event_columns}}, e.payload::text
FROM events e
WHERE {{event_filter}} AND e.recorded_at >= $8
ORDER BY e.recorded_at, e.id
LIMIT $9

-- name: get_event
SELECT {{event_columns}}, e.payload::text AS payload, e.expires_at FROM events e WHERE e.id = $1

-- name: event_deliveries
SELECT d.id, s.name AS subscription, d.status, d.attempts, d.priority, d.available_at, d.locked_by,
       d.last_error, d.created_at, d.finished_at
FROM event_deliveries d JOIN event_subscriptions s ON s.id = d.subscription_id
WHERE d.event_id = $1
ORDER BY s.name

-- name: event_dead_letters
SELECT {{letter_columns}}, dl.traceback
FROM event_dead_letters dl JOIN event_subscriptions s ON s.id = dl.subscription_id
LEFT JOIN events e ON e.id = dl.event_id
WHERE dl.event_id = $1
ORDER BY dl.failed_at
