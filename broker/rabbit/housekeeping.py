"""Keeping RabbitMQ in step with the subscriptions: a binding whose pattern changed is removed,
and the queues of a retired subscription go with it (`router.retire(name)` or
`buildify-events subscriptions retire NAME`; retiring stays an operator's decision, so a process
that merely stops declaring a handler removes nothing)."""

from collections.abc import Mapping

import asyncpg
import structlog
from faststream.rabbit import RabbitBroker

from broker.rabbit.topology import delete_queues, unbind

log = structlog.get_logger("broker.rabbit")

RECORDED = "SELECT subscription, event_pattern FROM bus_rabbit_bindings WHERE prefix = $1"

RETIRED = """
SELECT b.subscription FROM bus_rabbit_bindings b JOIN event_subscriptions s ON s.name = b.subscription
WHERE b.prefix = $1 AND s.retired_at IS NOT NULL
"""

FORGET = "DELETE FROM bus_rabbit_bindings WHERE prefix = $1 AND subscription = ANY($2::text[])"


async def unbind_changed(broker: RabbitBroker, pool: asyncpg.Pool, prefix: str, patterns: Mapping[str, str]) -> None:
    """Unbind the recorded pattern of each subscription in `patterns` whose pattern is now another
    (call it once the new binding is in place, so no matching event is missed in between)."""
    async with pool.acquire() as conn:
        recorded = {row["subscription"]: row["event_pattern"] for row in await conn.fetch(RECORDED, prefix)}
    for name, pattern in patterns.items():
        old = recorded.get(name)
        if old is not None and old != pattern:
            await unbind(broker, prefix, name, old)
            log.info("old binding removed", subscription=name, old_pattern=old, pattern=pattern)


async def remove_retired(broker: RabbitBroker, pool: asyncpg.Pool, prefix: str) -> list[str]:
    """Delete the queues (and the binding records) of retired subscriptions; returns their names.

    Their dead letters stay listed in `event_dead_letters`; the messages of their queues go."""
    async with pool.acquire() as conn:
        names = [row["subscription"] for row in await conn.fetch(RETIRED, prefix)]
    if not names:
        return []
    await delete_queues(broker, prefix, names)
    async with pool.acquire() as conn:
        await conn.execute(FORGET, prefix, names)
    for name in names:
        log.warning("queues of a retired subscription removed", subscription=name, prefix=prefix)
    return names
