-- Replaying past events into the delivery tables (broker/ops/replay.py).

-- $8 subscription ids, $9 the run's upper bound on recorded_at.
-- name: replay_count
SELECT count(DISTINCT e.id) AS events, count(*) AS deliveries
FROM events e JOIN event_subscriptions s
  ON s.id = ANY($8::bigint[]) AND ('.' || e.event_type) ~ s.pattern_regex
WHERE {{event_filter}} AND e.recorded_at <= $9

-- name: replay_sample
SELECT e.id, e.event_type, e.tenant_id, e.recorded_at, array_agg(s.name ORDER BY s.name) AS subscriptions
FROM events e JOIN event_subscriptions s
  ON s.id = ANY($8::bigint[]) AND ('.' || e.event_type) ~ s.pattern_regex
WHERE {{event_filter}} AND e.recorded_at <= $9
GROUP BY e.id
ORDER BY e.recorded_at, e.id
LIMIT $10

-- name: start_replay
WITH audit AS (
    INSERT INTO event_ops_audit (action, actor, tenant_id, selection, status, run_id)
    VALUES ('replay', $2, $3, $4::jsonb, 'running', $1)
    RETURNING id
)
INSERT INTO event_replay_runs (id, actor, tenant_id, selection, subscription_ids, upper_bound, audit_id)
SELECT $1, $2, $3, $4::jsonb, $5::bigint[], $6, audit.id FROM audit

-- name: get_replay
SELECT id, actor, tenant_id, selection::text, subscription_ids, upper_bound, position_at, position_id,
       events, deliveries, status, audit_id, started_at, finished_at
FROM event_replay_runs WHERE id = $1

-- One batch of a replay: pick the next events after the checkpoint, make or reset one
-- delivery per matching target, close the open dead letters those deliveries supersede, and
-- move the checkpoint — one statement, one transaction. The walk is a keyset on the primary
-- key (UUIDv7, so roughly publish order), which lets every batch start where the last one
-- stopped through the index instead of sorting what is left; `recorded_at <= upper bound`
-- freezes the selection at the start of the run. A delivery a worker holds under a live
-- lease is left to that worker.
-- $8 position (last event id), $9 upper bound, $10 batch size, $11 subscription ids,
-- $12 actor (for superseded dead letters), $13 run id.
-- name: replay_batch
WITH picked AS (
    SELECT e.id, e.event_type, e.ordering_key, e.recorded_at
    FROM events e
    WHERE {{event_filter}}
      AND e.id > $8::uuid AND e.recorded_at <= $9
      AND EXISTS (SELECT 1 FROM event_subscriptions t
                  WHERE t.id = ANY($11::bigint[]) AND ('.' || e.event_type) ~ t.pattern_regex)
    ORDER BY e.id
    LIMIT $10
), last AS (
    SELECT recorded_at, id FROM picked ORDER BY id DESC LIMIT 1
), upserted AS (
    INSERT INTO event_deliveries (subscription_id, event_id, priority, ordering_key)
    SELECT s.id, p.id, s.priority, CASE WHEN s.ordered THEN p.ordering_key END
    FROM picked p JOIN event_subscriptions s
      ON s.id = ANY($11::bigint[]) AND ('.' || p.event_type) ~ s.pattern_regex
    ORDER BY p.id, s.id
    ON CONFLICT (subscription_id, event_id) DO UPDATE
        SET status = 'pending', attempts = 0, available_at = now(), locked_by = NULL, last_error = NULL,
            finished_at = NULL, created_at = now(), priority = EXCLUDED.priority
        WHERE NOT (event_deliveries.status = 'pending' AND event_deliveries.locked_by IS NOT NULL
                   AND event_deliveries.available_at > now())
    RETURNING subscription_id, event_id
), superseded AS (
    UPDATE event_dead_letters dl SET redriven_at = now(), redriven_by = $12
    FROM upserted u
    WHERE dl.event_id = u.event_id AND dl.subscription_id = u.subscription_id AND dl.redriven_at IS NULL
    RETURNING 1
), moved AS (
    UPDATE event_replay_runs r
    SET position_at = last.recorded_at, position_id = last.id,
        events = r.events + (SELECT count(*) FROM picked),
        deliveries = r.deliveries + (SELECT count(*) FROM upserted), updated_at = now()
    FROM last
    WHERE r.id = $13
    RETURNING 1
)
SELECT (SELECT count(*) FROM picked) AS events, (SELECT count(*) FROM upserted) AS deliveries,
       (SELECT count(*) FROM superseded) AS superseded, (SELECT count(*) FROM moved) AS moved,
       (SELECT id FROM last) AS position_id

-- The planner underestimates how many events pass the pattern test and would rather sort
-- what is left of the log than walk the primary key; without a sort it walks the key from the
-- checkpoint and stops after one batch, which keeps a long replay linear instead of quadratic.
-- The penalty that turns sorting off also inflates the plan's cost past the JIT thresholds,
-- and compiling would cost more than the batch itself: JIT goes off too.
-- name: replay_plan
SET LOCAL enable_sort = off; SET LOCAL jit = off

-- name: finish_replay
WITH run AS (
    UPDATE event_replay_runs SET status = $2, finished_at = CASE WHEN $2 = 'done' THEN now() END,
                                 updated_at = now()
    WHERE id = $1
    RETURNING audit_id, deliveries
)
UPDATE event_ops_audit a SET status = $2, affected = run.deliveries, finished_at = now()
FROM run WHERE a.id = run.audit_id

-- name: resume_replay
UPDATE event_replay_runs SET status = 'running' WHERE id = $1
