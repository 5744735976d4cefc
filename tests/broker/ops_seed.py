"""Direct inserts for the ops tests: events, subscriptions and deliveries as the relay leaves them."""

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from broker.patterns import to_regex
from contracts.ids import uuid7

INSERT_EVENTS = """
INSERT INTO events (id, event_type, source, tenant_id, company_id, occurred_at, recorded_at, version,
                    payload, expires_at)
SELECT id, $2, $3, $4, $5, coalesce($6, now()), coalesce($6, now()), $7, p::jsonb, now() + interval '7 days'
FROM unnest($1::uuid[], $8::text[]) AS t(id, p)
"""


async def add_subscription(
    conn: Any, name: str, pattern: str, *, module: str = "test", active: bool = True, priority: int = 5
) -> int:
    return int(await conn.fetchval(
        "INSERT INTO event_subscriptions (name, module_name, event_pattern, pattern_regex, priority, is_active) "
        "VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        name, module, pattern, to_regex(pattern), priority, active,
    ))


async def add_events(
    conn: Any,
    event_type: str,
    n: int = 1,
    *,
    tenant: UUID | None = None,
    company: UUID | None = None,
    source: str = "test",
    recorded_at: datetime | None = None,
    version: int = 1,
    payload: dict[str, Any] | None = None,
) -> list[UUID]:
    ids = [uuid7() for _ in range(n)]
    payloads = [json.dumps(payload if payload is not None else {"n": i}) for i in range(n)]
    await conn.execute(INSERT_EVENTS, ids, event_type, source, tenant, company, recorded_at, version, payloads)
    return ids


async def add_deliveries(
    conn: Any, subscription_id: int, event_ids: list[UUID], *, status: str = "done", attempts: int = 1
) -> None:
    await conn.execute(
        "INSERT INTO event_deliveries (subscription_id, event_id, priority, status, attempts, finished_at) "
        "SELECT $1, e, 5, $3, $4, CASE WHEN $3 = 'pending' THEN NULL ELSE now() END FROM unnest($2::uuid[]) e",
        subscription_id, event_ids, status, attempts,
    )


async def add_dead_letter(conn: Any, subscription_id: int, event_id: UUID, reason: str) -> int:
    await conn.execute(
        "INSERT INTO event_deliveries (subscription_id, event_id, priority, status, attempts, last_error, "
        "finished_at) VALUES ($1, $2, 5, 'dead', 5, $3, now()) "
        "ON CONFLICT (subscription_id, event_id) DO UPDATE SET status = 'dead'",
        subscription_id, event_id, reason,
    )
    return int(await conn.fetchval(
        "INSERT INTO event_dead_letters (subscription_id, event_id, attempts, reason, error, traceback) "
        "VALUES ($1, $2, 5, $3, $3, 'Traceback: ...') RETURNING id",
        subscription_id, event_id, reason,
    ))


SNAPSHOT_TABLES = ("events", "event_deliveries", "event_dead_letters", "event_ops_audit", "event_replay_runs",
                   "event_subscriptions", "event_inbox", "bus_outbox")


async def snapshot(conn: Any) -> dict[str, str]:
    """A digest of every bus table, to prove an operation changed nothing."""
    digests = {}
    for table in SNAPSHOT_TABLES:
        digests[table] = await conn.fetchval(
            f"SELECT count(*)::text || ':' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') "
            f"FROM {table} t"
        )
    return digests


async def deliveries(conn: Any, subscription_id: int) -> dict[UUID, tuple[str, int]]:
    rows = await conn.fetch(
        "SELECT event_id, status, attempts FROM event_deliveries WHERE subscription_id = $1", subscription_id
    )
    return {r["event_id"]: (r["status"], r["attempts"]) for r in rows}
