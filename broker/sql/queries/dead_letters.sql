-- Dead letters: list, show, redrive, purge (broker/ops/dead_letters.py).

-- name: letter_columns
dl.id, s.name AS subscription, dl.event_id, e.event_type, e.tenant_id, dl.attempts,
    dl.reason, dl.error, dl.failed_at, dl.redriven_at, dl.redriven_by

-- $1 subscription name, $2 error ILIKE pattern, $3 tenant, $4 type regex, $5 ids, $6 include redriven.
-- name: dlq_filter
    ($1::text IS NULL OR s.name = $1::text)
    AND ($2::text IS NULL OR dl.reason ILIKE $2::text OR dl.error ILIKE $2::text)
    AND ($3::uuid IS NULL OR e.tenant_id = $3::uuid)
    AND ($4::text IS NULL OR ('.' || e.event_type) ~ $4::text)
    AND (cardinality($5::bigint[]) = 0 OR dl.id = ANY($5::bigint[]))
    AND ($6::boolean OR dl.redriven_at IS NULL)

-- name: dlq_list
SELECT {{letter_columns}}
FROM event_dead_letters dl JOIN event_subscriptions s ON s.id = dl.subscription_id
LEFT JOIN events e ON e.id = dl.event_id
WHERE {{dlq_filter}}
ORDER BY dl.failed_at DESC, dl.id DESC
LIMIT $7

-- name: dlq_count
SELECT count(*) FROM event_dead_letters dl JOIN event_subscriptions s ON s.id = dl.subscription_id
LEFT JOIN events e ON e.id = dl.event_id
WHERE {{dlq_filter}}

-- name: dlq_get
SELECT {{letter_columns}}, dl.traceback
FROM event_dead_letters dl JOIN event_subscriptions s ON s.id = dl.subscription_id
LEFT JOIN events e ON e.id = dl.event_id
WHERE dl.id = $1

-- Redrive: the chosen open letters are marked (who, when) and their deliveries set back to
-- pending with no attempts, due now — same event id, so inbox-backed handlers stay idempotent.
-- Letters whose event has left the log cannot be redriven and are not chosen.
-- $7 actor, then the audit row: $8 tenant, $9 selection, $10 action.
-- name: dlq_redrive
WITH chosen AS (
    SELECT dl.id, dl.subscription_id, dl.event_id, s.priority, s.ordered, e.ordering_key
    FROM event_dead_letters dl JOIN event_subscriptions s ON s.id = dl.subscription_id
    JOIN events e ON e.id = dl.event_id
    WHERE {{dlq_filter}} AND dl.redriven_at IS NULL
    FOR UPDATE OF dl SKIP LOCKED
), letters AS (
    UPDATE event_dead_letters dl SET redriven_at = now(), redriven_by = $7
    FROM chosen c WHERE dl.id = c.id
    RETURNING dl.id
), deliveries AS (
    INSERT INTO event_deliveries (subscription_id, event_id, priority, ordering_key)
    SELECT DISTINCT ON (c.subscription_id, c.event_id)
           c.subscription_id, c.event_id, c.priority, CASE WHEN c.ordered THEN c.ordering_key END
    FROM chosen c
    ORDER BY c.subscription_id, c.event_id
    ON CONFLICT (subscription_id, event_id) DO UPDATE
        SET status = 'pending', attempts = 0, available_at = now(), locked_by = NULL, last_error = NULL,
            finished_at = NULL, created_at = now()
    RETURNING 1
), {{dlq_audited}}

-- Purge: the letters go, and with them their dead deliveries, so cleanup may then let the
-- events expire. $7 actor, $8 tenant, $9 selection, $10 action.
-- name: dlq_purge
WITH chosen AS (
    SELECT dl.id, dl.subscription_id, dl.event_id
    FROM event_dead_letters dl JOIN event_subscriptions s ON s.id = dl.subscription_id
    LEFT JOIN events e ON e.id = dl.event_id
    WHERE {{dlq_filter}}
    FOR UPDATE OF dl SKIP LOCKED
), letters AS (
    DELETE FROM event_dead_letters dl USING chosen c WHERE dl.id = c.id RETURNING dl.id
), deliveries AS (
    DELETE FROM event_deliveries d USING chosen c
    WHERE d.subscription_id = c.subscription_id AND d.event_id = c.event_id AND d.status = 'dead'
    RETURNING 1
), {{dlq_audited}}

-- The end of a redrive or purge, after its CTEs `letters` (the letters acted on) and
-- `deliveries` (the deliveries changed): one audit row in the same statement, and the counts.
-- name: dlq_audited
audit AS (
    INSERT INTO event_ops_audit (action, actor, tenant_id, selection, affected, finished_at)
    SELECT $10::text, $7, $8, $9::jsonb, count(*), now() FROM letters
    RETURNING id
)
SELECT (SELECT count(*) FROM letters) AS letters, (SELECT count(*) FROM deliveries) AS deliveries,
       (SELECT id FROM audit) AS audit_id
