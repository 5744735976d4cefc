-- What a starting process records of its subscriptions, and its heartbeat.

-- name: upsert_subscription
INSERT INTO event_subscriptions (name, module_name, event_pattern, pattern_regex, priority, ordered,
                                 max_attempts, retry_initial_ms, retry_max_ms, is_active)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, true)
ON CONFLICT (name) DO UPDATE SET
    module_name = EXCLUDED.module_name, event_pattern = EXCLUDED.event_pattern,
    pattern_regex = EXCLUDED.pattern_regex, priority = EXCLUDED.priority, ordered = EXCLUDED.ordered,
    max_attempts = EXCLUDED.max_attempts, retry_initial_ms = EXCLUDED.retry_initial_ms,
    retry_max_ms = EXCLUDED.retry_max_ms, updated_at = now(),
    is_active = event_subscriptions.retired_at IS NULL
RETURNING id, name, priority, retired_at IS NOT NULL AS retired

-- Subscriptions are never switched off by a process starting (an old version restarting
-- mid-deploy would switch off what a newer one added): only an operator retires one
-- (`buildify-events subscriptions retire NAME`, broker.ops.retire_subscription).
-- name: retire_declared
UPDATE event_subscriptions SET is_active = false, retired_at = now(), updated_at = now()
WHERE name = ANY($1::text[]) AND retired_at IS NULL
RETURNING name

-- `$2`: also switch back on what is not retired — during the rollout of this version, a
-- process of an older one still switches subscriptions off when it starts.
-- name: heartbeat_subscriptions
UPDATE event_subscriptions
SET last_seen_at = now(), is_active = is_active OR ($2 AND retired_at IS NULL)
WHERE id = ANY($1::bigint[])
