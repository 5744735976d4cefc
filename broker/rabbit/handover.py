"""Handing a service's subscriptions over from Postgres deliveries to their RabbitMQ queues, and
the forwarder's own subscription (`rabbitmq.forward`, pattern `#`)."""

from collections.abc import Sequence
from typing import Any

import asyncpg

from broker.patterns import to_regex
from broker.rabbit.publishing import MESSAGE_PRIORITY
from broker.retry import RetryPolicy
from broker.store import SubscriptionRef
from broker.webhooks import ADD as ADD_SUBSCRIPTION

FORWARD_NAME = "rabbitmq.forward"
FORWARD_MODULE = "rabbitmq"
# The forwarder never gives up on an event (a dead letter nobody sees would be a silent loss):
# attempts are unbounded (the column's largest value), the backoff is capped, and past
# FORWARD_ALERT_AFTER failed attempts of one event the bus reports itself degraded.
FOREVER = 2**31 - 1
FORWARD_RETRY = RetryPolicy(max_attempts=FOREVER, initial_delay=0.5, max_delay=30.0)

# Hand-over in one transaction, after the queues are bound: every relay statement sees either
# the service's subscriptions active (deliveries in Postgres, moved into the queues by the
# bridge) or the forwarder active and the queues recorded (events reach the bound queues).
DEACTIVATE = """
UPDATE event_subscriptions SET is_active = false, updated_at = now() WHERE id = ANY($1::bigint[]) AND is_active
"""

RECORD_BINDINGS = """
INSERT INTO bus_rabbit_bindings (prefix, subscription, event_pattern, pattern_regex)
SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[])
ON CONFLICT (prefix, subscription) DO UPDATE SET event_pattern = EXCLUDED.event_pattern,
    pattern_regex = EXCLUDED.pattern_regex, bound_at = now()
"""

BOUND_PATTERNS = "SELECT event_pattern FROM bus_rabbit_bindings WHERE prefix = $1"

HANDED_OVER = """
SELECT s.name FROM event_subscriptions s JOIN bus_rabbit_bindings b ON b.subscription = s.name AND b.prefix = $2
WHERE s.name = ANY($1::text[]) AND b.event_pattern = s.event_pattern
"""


async def hand_over(pool: asyncpg.Pool, prefix: str, refs: Sequence[SubscriptionRef], patterns: Sequence[str]) -> None:
    """Switch subscriptions to their (already bound) queues: record the bindings, make sure the
    forwarder's subscription exists and mark the service's subscriptions inactive, atomically."""
    async with pool.acquire() as conn, conn.transaction():
        await _add_forward_subscription(conn)
        if refs:
            await conn.execute(
                RECORD_BINDINGS, prefix, [ref.name for ref in refs], list(patterns), [to_regex(p) for p in patterns]
            )
            await conn.execute(DEACTIVATE, [ref.id for ref in refs])


async def keep_handed_over(pool: asyncpg.Pool, prefix: str, refs: Sequence[SubscriptionRef]) -> None:
    """After a restart re-activated them, switch back off the subscriptions whose queues were bound
    before (with the same pattern): their durable queues still take every forwarded event, so
    leaving them active until RabbitMQ answers would deliver events twice."""
    if not refs:
        return
    async with pool.acquire() as conn:
        names = {r["name"] for r in await conn.fetch(HANDED_OVER, [ref.name for ref in refs], prefix)}
        bound = [ref.id for ref in refs if ref.name in names]
        if bound:
            await conn.execute(DEACTIVATE, bound)


async def _add_forward_subscription(conn: Any) -> int:
    sub_id: int = await conn.fetchval(
        ADD_SUBSCRIPTION, FORWARD_NAME, FORWARD_MODULE, "#", to_regex("#"), MESSAGE_PRIORITY, False,
        None, None, FORWARD_RETRY.max_attempts, int(FORWARD_RETRY.initial_delay * 1000),
        int(FORWARD_RETRY.max_delay * 1000),
    )
    return sub_id


async def add_forward_subscription(pool: asyncpg.Pool) -> SubscriptionRef:
    """Create (or re-activate) the `rabbitmq.forward` subscription: every event, once."""
    async with pool.acquire() as conn:
        sub_id = await _add_forward_subscription(conn)
    return SubscriptionRef(id=sub_id, name=FORWARD_NAME, priority=MESSAGE_PRIORITY)


