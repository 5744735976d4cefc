-- Who replayed, redrove or purged what (broker/ops/audit.py).

-- name: list_audit
SELECT id, action, actor, tenant_id, selection::text, affected, status, run_id, started_at, finished_at
FROM event_ops_audit
WHERE ($1::uuid IS NULL OR tenant_id = $1)
ORDER BY started_at DESC, id DESC
LIMIT $2
