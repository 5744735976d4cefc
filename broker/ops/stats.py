"""The bus at a glance: rates over a window, the backlog of every subscription, and the
Prometheus gauges that publish it."""

from uuid import UUID

from broker.ops.connection import Db, connection
from broker.ops.results import Stats, SubscriptionStats, TypeCount
from broker.ops.subscriptions import consumed_over_rabbitmq
from broker.queries import query


async def stats(
    db: Db, *, window: float = 300.0, tenant: UUID | None = None, unserved_after: float = 90.0
) -> Stats:
    """Rates over the last `window` seconds and the backlog of every subscription.

    Backlog is what grows when a consumer is down or slow; the oldest pending age says how
    far behind it is; open dead letters are what needs a person. A subscription is
    `unserved` when it is active (or consumed over RabbitMQ) but no process has marked it
    served for `unserved_after` seconds (worker processes mark theirs every
    `BusSettings.heartbeat_interval`): its events wait, in Postgres or in its queue, for a
    process that may never come back, until someone retires it. One consumed over RabbitMQ
    (`rabbitmq`) is switched off in Postgres, so it has no backlog here: its queue's depth is
    in `buildify-events dlq queues` and the dashboard's queues card.
    """
    async with connection(db) as conn:
        totals = await conn.fetchrow(query("stats_totals"), window, tenant)
        types = await conn.fetch(query("stats_types"), window, tenant)
        subs = await conn.fetch(query("stats_subscriptions"), tenant, unserved_after)
        on_rabbitmq = await consumed_over_rabbitmq(conn)
        outbox_rows = outbox_oldest = None
        if tenant is None and await conn.fetchval(query("outbox_exists")):
            outbox = await conn.fetchrow(query("stats_outbox"))
            assert outbox is not None
            outbox_rows, outbox_oldest = int(outbox["rows"]), outbox["oldest_seconds"]
    assert totals is not None
    subscriptions = [
        SubscriptionStats(
            name=r["name"], module=r["module_name"], pattern=r["event_pattern"], active=r["is_active"],
            priority=r["priority"], pending=r["pending"], due=r["due"], in_flight=r["in_flight"],
            retrying=r["retrying"], oldest_pending_seconds=r["oldest_pending_seconds"],
            dead_letters=r["dead_letters"], last_seen_at=r["last_seen_at"],
            unserved=r["unheard"] and (r["is_active"] or r["name"] in on_rabbitmq),
            retired=r["retired"], rabbitmq=r["name"] in on_rabbitmq,
        )
        for r in subs
    ]
    ages = [s.oldest_pending_seconds for s in subscriptions if s.oldest_pending_seconds is not None]
    return Stats(
        window_seconds=window,
        events=totals["events"],
        events_per_second=round(totals["events"] / window, 3),
        delivered=totals["delivered"],
        delivered_per_second=round(totals["delivered"] / window, 3),
        delivered_after_retry=totals["delivered_after_retry"],
        dead_lettered=totals["dead_lettered"],
        pending=sum(s.pending for s in subscriptions),
        retrying=sum(s.retrying for s in subscriptions),
        oldest_pending_seconds=max(ages) if ages else None,
        dead_letters_open=sum(s.dead_letters for s in subscriptions),
        outbox_rows=outbox_rows,
        outbox_oldest_seconds=outbox_oldest,
        types=[TypeCount(r["event_type"], r["events"]) for r in types],
        subscriptions=subscriptions,
        unserved=[s.name for s in subscriptions if s.unserved],
    )


def export_gauges(snapshot: Stats) -> None:
    """Copy a `stats` snapshot into the Prometheus backlog gauges.

    Backlog lives in the database, not in any one process's counters, so a service's
    `/metrics` (or a periodic task) calls `stats` and then this to publish it.
    """
    from broker import metrics

    for sub in snapshot.subscriptions:
        metrics.backlog.labels(sub.name).set(sub.pending)
