-- The bus at a glance: rates and backlog (broker/ops/stats.py).

-- $1 window seconds, $2 tenant.
-- name: stats_totals
SELECT
    (SELECT count(*) FROM events e WHERE e.recorded_at >= now() - make_interval(secs => $1)
        AND ($2::uuid IS NULL OR e.tenant_id = $2)) AS events,
    (SELECT count(*) FROM event_deliveries d WHERE d.status = 'done'
        AND d.finished_at >= now() - make_interval(secs => $1)
        AND ($2::uuid IS NULL
             OR EXISTS (SELECT 1 FROM events e WHERE e.id = d.event_id AND e.tenant_id = $2)))
        AS delivered,
    (SELECT count(*) FROM event_deliveries d WHERE d.status = 'done' AND d.attempts > 1
        AND d.finished_at >= now() - make_interval(secs => $1)
        AND ($2::uuid IS NULL
             OR EXISTS (SELECT 1 FROM events e WHERE e.id = d.event_id AND e.tenant_id = $2)))
        AS delivered_after_retry,
    (SELECT count(*) FROM event_dead_letters dl WHERE dl.failed_at >= now() - make_interval(secs => $1)
        AND ($2::uuid IS NULL
             OR EXISTS (SELECT 1 FROM events e WHERE e.id = dl.event_id AND e.tenant_id = $2)))
        AS dead_lettered

-- name: stats_types
SELECT e.event_type, count(*) AS events
FROM events e
WHERE e.recorded_at >= now() - make_interval(secs => $1) AND ($2::uuid IS NULL OR e.tenant_id = $2)
GROUP BY e.event_type
ORDER BY events DESC, e.event_type
LIMIT 20

-- name: stats_subscriptions
SELECT s.name, s.module_name, s.event_pattern, s.is_active, s.priority, s.last_seen_at,
       s.retired_at IS NOT NULL AS retired,
       s.callback_url IS NULL
           AND (s.last_seen_at IS NULL OR s.last_seen_at < now() - make_interval(secs => $2)) AS unheard,
       p.pending, p.due, p.in_flight, p.retrying, p.oldest_pending_seconds, dl.dead_letters
FROM event_subscriptions s
CROSS JOIN LATERAL (
    SELECT count(*) AS pending,
           count(*) FILTER (WHERE d.available_at <= now()) AS due,
           count(*) FILTER (WHERE d.locked_by IS NOT NULL AND d.available_at > now()) AS in_flight,
           count(*) FILTER (WHERE d.attempts > 0 AND d.locked_by IS NULL) AS retrying,
           EXTRACT(EPOCH FROM now() - min(d.created_at))::float8 AS oldest_pending_seconds
    FROM event_deliveries d
    WHERE d.subscription_id = s.id AND d.status = 'pending'
      AND ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM events e WHERE e.id = d.event_id AND e.tenant_id = $1))
) p
CROSS JOIN LATERAL (
    SELECT count(*) AS dead_letters FROM event_dead_letters l
    WHERE l.subscription_id = s.id AND l.redriven_at IS NULL
      AND ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM events e WHERE e.id = l.event_id AND e.tenant_id = $1))
) dl
ORDER BY s.name

-- The subscriptions consumed over RabbitMQ (`$1`: only this one, if not NULL): switched off in
-- Postgres, their queue bound with the pattern they have now (broker/rabbit/handover.py).
-- name: consumed_over_rabbitmq
SELECT s.name FROM event_subscriptions s
WHERE NOT s.is_active AND s.retired_at IS NULL AND ($1::text IS NULL OR s.name = $1)
  AND EXISTS (SELECT 1 FROM bus_rabbit_bindings b WHERE b.subscription = s.name AND b.event_pattern = s.event_pattern)

-- name: rabbit_bindings_exist
SELECT to_regclass('bus_rabbit_bindings') IS NOT NULL

-- name: outbox_exists
SELECT to_regclass('bus_outbox') IS NOT NULL

-- name: stats_outbox
SELECT count(*) AS rows, EXTRACT(EPOCH FROM now() - min(occurred_at))::float8 AS oldest_seconds
FROM bus_outbox
