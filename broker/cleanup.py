"""Retention: delete expired events and finished deliveries in small batches.

Small batches keep each transaction short, so cleanup never holds locks that would stall the
relay or the workers. An event is kept while a delivery of it is pending or dead-lettered,
so neither a slow subscriber nor a dead letter ever loses its payload.
"""

from dataclasses import dataclass

import asyncpg

DELETE_EXPIRED_EVENTS = """
WITH doomed AS (
    SELECT e.id FROM events e
    WHERE e.expires_at < now()
      AND NOT EXISTS (SELECT 1 FROM event_deliveries d
                      WHERE d.event_id = e.id AND d.status IN ('pending', 'dead'))
    ORDER BY e.expires_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
), gone_deliveries AS (
    DELETE FROM event_deliveries d USING doomed WHERE d.event_id = doomed.id
)
DELETE FROM events e USING doomed WHERE e.id = doomed.id
"""

DELETE_FINISHED_DELIVERIES = """
DELETE FROM event_deliveries WHERE id IN (
    SELECT id FROM event_deliveries
    WHERE status = 'done' AND finished_at < now() - make_interval(secs => $2)
    ORDER BY finished_at
    LIMIT $1
    FOR UPDATE SKIP LOCKED
)
"""


# An inbox record matters while its event can still be delivered again: past the event
# retention the event is gone, and with it any redelivery or replay.
DELETE_OLD_INBOX = """
DELETE FROM event_inbox WHERE ctid IN (
    SELECT ctid FROM event_inbox WHERE handled_at < now() - make_interval(secs => $2) LIMIT $1
)
"""


@dataclass(frozen=True, slots=True)
class CleanupResult:
    events: int
    deliveries: int
    inbox: int = 0


def _count(status: str) -> int:
    return int(status.split()[-1])


async def cleanup(
    pool: asyncpg.Pool,
    *,
    done_retention: float = 3600.0,
    batch_size: int = 5000,
    max_batches: int = 1000,
    inbox_retention: float | None = None,
    inbox_pool: asyncpg.Pool | None = None,
) -> CleanupResult:
    """Delete expired events and deliveries finished more than `done_retention` seconds ago,
    and (with `inbox_retention`, normally the event retention) inbox records older than that,
    in `inbox_pool` (the service's database) or else `pool`."""
    deliveries = events = 0
    for _ in range(max_batches):
        async with pool.acquire() as conn:
            removed = _count(await conn.execute(DELETE_FINISHED_DELIVERIES, batch_size, done_retention))
        deliveries += removed
        if removed < batch_size:
            break
    for _ in range(max_batches):
        async with pool.acquire() as conn:
            removed = _count(await conn.execute(DELETE_EXPIRED_EVENTS, batch_size))
        events += removed
        if removed < batch_size:
            break
    inbox = 0
    if inbox_retention is not None:
        for _ in range(max_batches):
            async with (inbox_pool or pool).acquire() as conn:
                removed = _count(await conn.execute(DELETE_OLD_INBOX, batch_size, inbox_retention))
            inbox += removed
            if removed < batch_size:
                break
    return CleanupResult(events=events, deliveries=deliveries, inbox=inbox)
