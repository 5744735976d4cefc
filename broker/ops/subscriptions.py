"""Subscriptions as an operator names them: retire or activate one, resolve names to ids."""

import asyncpg

from broker.ops.connection import Db, connection
from broker.ops.errors import InactiveSubscription, UnknownSubscription
from broker.queries import query


async def retire_subscription(db: Db, name: str, *, active: bool = False) -> int:
    """Switch a subscription off (or on again, `active=True`); returns its pending deliveries.

    Retiring is an operator's decision, never a side effect of a process starting: a retired
    subscription gets no new deliveries, its pending ones stay (replay or purge them), and
    processes that still declare it do not serve it until it is activated again.
    """
    async with connection(db) as conn:
        pending = await conn.fetchval(query("retire_subscription"), name, active)
    if pending is None:
        raise UnknownSubscription(f"no subscription is named {name!r}")
    return int(pending)


async def subscription_ids(
    conn: asyncpg.Connection, subscription: str | None
) -> tuple[list[int], list[str]]:
    if subscription is None:
        ids = [int(r["id"]) for r in await conn.fetch(query("active_subscriptions"))]
        return ids, []
    row = await conn.fetchrow(query("subscription_by_name"), subscription)
    if row is None:
        similar = [r["name"] for r in await conn.fetch(query("similar_subscriptions"), subscription)]
        hint = f"; known subscriptions include: {', '.join(similar)}" if similar else "; there are none"
        raise UnknownSubscription(f"no subscription named {subscription!r}{hint}")
    if not row["is_active"] and not await consumed_over_rabbitmq(conn, subscription):
        raise InactiveSubscription(
            f"subscription {subscription!r} is inactive (its module no longer declares it): "
            "no worker would deliver a replay to it"
        )
    return [int(row["id"])], [row["name"]]


async def names_of(conn: asyncpg.Connection, ids: list[int]) -> list[str]:
    rows = await conn.fetch(query("subscription_names"), ids)
    return [r["name"] for r in rows]


async def consumed_over_rabbitmq(conn: asyncpg.Connection, name: str | None = None) -> set[str]:
    """The subscriptions (or `name`, if it is one) consumed over RabbitMQ: off in Postgres, their
    queue bound. Their deliveries made in Postgres (a replay, a redrive) reach the queue through
    the consuming process's bridge (broker/rabbit/transport.py)."""
    if not await conn.fetchval(query("rabbit_bindings_exist")):  # a database the bus has not upgraded yet
        return set()
    return {r["name"] for r in await conn.fetch(query("consumed_over_rabbitmq"), name)}
