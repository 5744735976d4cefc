"""What a bus process does on a timer besides delivering: say which subscriptions it serves,
keep the backlog gauges current, and delete what has passed its retention."""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, NoReturn

import structlog

from broker import ops
from broker.backoff import run_forever
from broker.cleanup import cleanup
from broker.postgres import PostgresStore

if TYPE_CHECKING:
    from broker.bus import EventBus

log = structlog.get_logger("broker.housekeeping")

GAUGES_INTERVAL = 15.0


async def every(seconds: float, work: Callable[[], Awaitable[object]], *, what: str, now: bool = False) -> NoReturn:
    """Run `work` every `seconds` until cancelled (`now`: the first time at once); a failure is
    logged and the next round comes as usual."""

    async def one_round() -> None:
        if not now:
            await asyncio.sleep(seconds)
        await work()
        if now:
            await asyncio.sleep(seconds)

    await run_forever(one_round, what=what, logger="broker.housekeeping")


async def heartbeat(bus: "EventBus") -> None:
    """Say that this process serves its subscriptions, so `stats` can tell an active
    subscription that nothing serves any more."""
    store = bus.store
    assert isinstance(store, PostgresStore)
    await store.heartbeat(bus.serving(), activate=bus.settings.transport != "rabbitmq")


async def refresh_gauges(bus: "EventBus", *, now: float | None = None) -> None:
    """Keep the backlog gauges of /metrics current, and warn of subscriptions nobody serves — once
    this process has been up for the window after which a subscription counts as unserved: until
    then its siblings may still be starting (`now`: a monotonic time, for tests)."""
    if bus.rabbit is not None:
        bus.rabbit.refresh_gauges()
    unserved_after = 3 * bus.settings.heartbeat_interval
    snapshot = await ops.stats(bus.pool, unserved_after=unserved_after)
    ops.export_gauges(snapshot)
    up_for = (time.monotonic() if now is None else now) - bus.created_at
    if snapshot.unserved and up_for >= unserved_after:
        log.warning(
            "subscriptions that no running process serves (active in Postgres, or consumed over "
            "RabbitMQ): their events wait (start a process that serves them, or retire them; "
            "retiring one consumed over RabbitMQ deletes its queues and the messages in them)",
            subscriptions=snapshot.unserved,
        )


async def clean_up(bus: "EventBus") -> None:
    """Delete expired events, finished deliveries and old inbox rows."""
    store = bus.store
    assert isinstance(store, PostgresStore)
    result = await cleanup(
        bus.pool, done_retention=bus.settings.done_retention, inbox_retention=bus.settings.retention,
        inbox_pool=store.outbox_pool,
    )
    if result.events or result.deliveries or result.inbox:
        log.info("cleanup", events=result.events, deliveries=result.deliveries, inbox=result.inbox)
