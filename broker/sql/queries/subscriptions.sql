-- Subscriptions as operators name them (broker/ops/subscriptions.py).

-- name: subscription_by_name
SELECT id, name, is_active, event_pattern FROM event_subscriptions WHERE name = $1

-- name: subscription_names
SELECT name FROM event_subscriptions WHERE id = ANY($1::bigint[]) ORDER BY name

-- name: active_subscriptions
SELECT id FROM event_subscriptions WHERE is_active ORDER BY id

-- name: similar_subscriptions
SELECT name FROM event_subscriptions ORDER BY (name ILIKE '%' || $1 || '%') DESC, name LIMIT 5

-- name: retire_subscription
UPDATE event_subscriptions
SET is_active = $2, retired_at = CASE WHEN $2 THEN NULL ELSE now() END, updated_at = now()
WHERE name = $1
RETURNING (SELECT count(*) FROM event_deliveries d
           WHERE d.subscription_id = event_subscriptions.id AND d.status = 'pending')
