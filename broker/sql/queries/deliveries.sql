-- Workers: claim due deliveries and settle each outcome under the claim's name.

-- name: due_delivery
d.subscription_id = s.id AND d.status = 'pending' AND d.available_at <= now()
          AND (d.ordering_key IS NULL OR NOT EXISTS (
                SELECT 1 FROM event_deliveries p
                WHERE p.subscription_id = d.subscription_id AND p.ordering_key = d.ordering_key
                  AND p.status = 'pending' AND p.id < d.id))

-- One claim serves several subscriptions. `quota` shares the batch out: every subscription
-- with due work gets at least one delivery (no starvation), the rest goes in proportion to
-- 2^priority (so priority 9 takes ~99 of 100 places next to priority 2, and equal priorities
-- share evenly) — weighted fair queuing over the k-th due delivery of each subscription.
-- Demand is counted only up to what a subscription could be given: its weighted share of the
-- batch among the subscriptions with due work, plus whatever those with less than their share
-- leave over (so 16 busy subscriptions count 16 each for a batch of 250, not 250 each).
-- Then each subscription's deliveries are locked in the order they fell due (an ordered subscription skips
-- a key while an earlier delivery of it is pending). Deliveries claimed `max_attempts` times
-- already (their workers died without settling) and deliveries whose event is missing from
-- the log (an UNLOGGED log emptied by a crash) are dead-lettered here instead of claimed; a
-- last row counts them (`buried`), so the caller can claim again rather than stall.
-- name: claim_deliveries
WITH subs AS (
    SELECT s.id, s.priority, sub.max_attempts
    FROM unnest($1::bigint[], $2::int[]) AS s(id, priority)
    JOIN event_subscriptions sub ON sub.id = s.id
), busy AS (
    SELECT s.id, s.priority,
           ceil($3::bigint * power(2, s.priority) / sum(power(2, s.priority)) OVER ())::bigint AS share
    FROM subs s
    WHERE (SELECT count(*) FROM subs) > 1 AND EXISTS (SELECT 1 FROM event_deliveries d WHERE {{due_delivery}})
), counted AS (
    SELECT s.id, s.priority, s.share, n.due FROM busy s
    CROSS JOIN LATERAL (
        SELECT count(*) AS due FROM (
            SELECT 1 FROM event_deliveries d WHERE {{due_delivery}}
            ORDER BY d.available_at, d.id LIMIT s.share
        ) x
    ) n
), demand AS (
    SELECT c.id, c.priority,
           CASE WHEN c.due < c.share THEN c.due
                ELSE c.share + greatest(0, $3::bigint - sum(c.due) OVER ())::bigint END AS due
    FROM counted c
), quota AS (
    SELECT id, $3::bigint AS n FROM subs WHERE (SELECT count(*) FROM subs) = 1  -- nothing to share
    UNION ALL
    SELECT id, count(*) AS n FROM (
        SELECT dm.id FROM demand dm CROSS JOIN LATERAL generate_series(1, dm.due) AS g(k)
        ORDER BY (g.k - 1) / power(2, dm.priority), dm.priority DESC, dm.id
        LIMIT $3
    ) q
    GROUP BY id
), picked AS (
    SELECT d.id, s.priority, s.max_attempts, d.attempts, d.event_id
    FROM quota q JOIN subs s ON s.id = q.id
    CROSS JOIN LATERAL (
        SELECT d.id, d.attempts, d.event_id FROM event_deliveries d
        WHERE {{due_delivery}}
        ORDER BY d.available_at, d.id
        LIMIT q.n
        FOR UPDATE SKIP LOCKED
    ) d
    LIMIT $3  -- no more than that anyway; says so to the planner (index lookups, not hash joins)
), found AS (
    SELECT p.id, p.priority, p.max_attempts, p.attempts, p.event_id, e.id IS NOT NULL AS logged,
           e.event_type, e.source, e.tenant_id, e.company_id, e.ordering_key, e.occurred_at,
           e.correlation_id, e.causation_id, e.version, e.payload::text AS payload
    FROM picked p LEFT JOIN LATERAL (SELECT * FROM events e WHERE e.id = p.event_id LIMIT 1) e ON true
), claimed AS (
    UPDATE event_deliveries d
    SET available_at = now() + make_interval(secs => $4), attempts = d.attempts + 1, locked_by = $5
    FROM found f
    WHERE d.id = f.id AND f.logged AND f.attempts < f.max_attempts
    RETURNING d.id, d.subscription_id, d.attempts, f.event_id, f.event_type, f.source, f.tenant_id,
              f.company_id, f.ordering_key, f.occurred_at, f.correlation_id, f.causation_id,
              f.version, f.payload, f.priority
), buried AS (
    UPDATE event_deliveries d
    SET status = 'dead', finished_at = now(), locked_by = NULL,
        last_error = CASE WHEN NOT f.logged
            THEN 'event ' || f.event_id || ' is missing from the events log (an UNLOGGED log emptied by a crash, '
                 || 'or deleted); nothing left to deliver'
            ELSE 'gave up after ' || f.attempts || ' attempt(s); last error: the worker never settled '
                 || 'the delivery (its process died or its lease ran out)' END
    FROM found f
    WHERE d.id = f.id AND NOT (f.logged AND f.attempts < f.max_attempts)
    RETURNING d.id, d.subscription_id, d.event_id, d.attempts, d.last_error
), lettered AS (
    INSERT INTO event_dead_letters (delivery_id, subscription_id, event_id, attempts, reason, error)
    SELECT id, subscription_id, event_id, attempts, last_error, last_error FROM buried
)
SELECT c.*, 0::bigint AS buried FROM claimed c
UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, count(*)
FROM buried HAVING count(*) > 0

-- Settling names the claim: delivery id, attempt and worker. A worker whose lease ran out
-- and whose delivery was claimed again (attempts moved on, or another worker holds it)
-- matches nothing, so it can neither finish nor release a delivery it no longer owns.
-- (A join with the ids keeps the planner on the primary key whatever its statistics say:
-- `id = ANY($1) AND status = 'pending'` on a table not yet analysed was planned as a bitmap
-- AND with the whole `event_deliveries_ready` index, a second per completion under backlog.)
-- name: complete_deliveries
UPDATE event_deliveries d SET status = 'done', finished_at = now(), locked_by = NULL
FROM unnest($1::bigint[], $2::int[]) AS c(id, attempt)
WHERE d.id = c.id AND d.attempts = c.attempt AND d.locked_by = $3 AND d.status = 'pending'

-- name: retry_delivery
UPDATE event_deliveries
SET available_at = now() + make_interval(secs => $2), last_error = $3, locked_by = NULL
WHERE id = $1 AND attempts = $4 AND locked_by = $5 AND status = 'pending'

-- name: dead_letter_delivery
WITH dead AS (
    UPDATE event_deliveries
    SET status = 'dead', finished_at = now(), last_error = $2, locked_by = NULL
    WHERE id = $1 AND attempts = $5 AND locked_by = $6 AND status = 'pending'
    RETURNING id, subscription_id, event_id, attempts
)
INSERT INTO event_dead_letters (delivery_id, subscription_id, event_id, attempts, reason, error, traceback)
SELECT id, subscription_id, event_id, attempts, $2, $3, $4 FROM dead

-- Claims given back unstarted (a stopping worker's handed batches): due at once, and the
-- attempt they were claimed with not counted.
-- name: release_deliveries
UPDATE event_deliveries d SET available_at = now(), attempts = d.attempts - 1, locked_by = NULL
FROM unnest($1::bigint[], $2::int[]) AS c(id, attempt)
WHERE d.id = c.id AND d.attempts = c.attempt AND d.locked_by = $3 AND d.status = 'pending'

-- name: extend_leases
UPDATE event_deliveries d SET available_at = now() + make_interval(secs => $2)
FROM unnest($1::bigint[], $3::int[]) AS c(id, attempt)
WHERE d.id = c.id AND d.attempts = c.attempt AND d.locked_by = $4 AND d.status = 'pending'
RETURNING d.id

-- name: seconds_until_due
SELECT EXTRACT(EPOCH FROM min(available_at) - now())::float8 FROM event_deliveries
WHERE subscription_id = ANY($1::bigint[]) AND status = 'pending'

-- Effectively-once: the handler's transaction records the event first; a second delivery
-- of it finds the row and stops (AlreadyHandled).
-- name: record_in_inbox
INSERT INTO event_inbox (subscription, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING true

-- The inbox of a claimed batch (broker/inbox_batch.py): a savepoint and the inbox row in one
-- round trip (a simple query: `{subscription}` and `{event_id}` are filled in as quoted
-- literals), released when the next delivery takes its turn or at the commit; "INSERT 0 0"
-- says an earlier delivery committed the event.
-- name: inbox_savepoint
SAVEPOINT inbox; INSERT INTO event_inbox (subscription, event_id) VALUES ({subscription}, {event_id}) ON CONFLICT DO NOTHING

-- name: inbox_rollback
ROLLBACK TO SAVEPOINT inbox; RELEASE SAVEPOINT inbox
