"""Broadcast subscriptions: every process of a service runs them on every matching event,
where a competing subscription is served once by one of the processes."""

import time

import pytest

from broker import BrokerError, BusSettings, Delivery, EventBus, RetryPolicy, Router
from broker.testing import run_until_idle
from tests.broker.conftest import FAST, BusFactory
from tests.broker.events import Pinged, Ponged
from tests.waiting import wait_until


def replica_router(broadcasts: list[int], competing: list[int]) -> Router:
    """What one process of a service declares: a cache to invalidate and a job to do once."""
    router = Router()

    @router.on("test.*.sent", broadcast=True)
    async def invalidate_cache(event: Pinged) -> None:
        broadcasts.append(event.n)

    @router.on("test.ping.sent")
    async def book_ping(event: Pinged) -> None:
        competing.append(event.n)

    return router


async def test_every_running_process_gets_a_broadcast_and_one_of_them_the_competing_delivery(database_url):
    # A 30 s poll: the processes that did not relay the event are woken by its NOTIFY.
    settings = BusSettings(poll_interval=30, cleanup_interval=0)
    seen: list[tuple[list[int], list[int]]] = [([], []), ([], [])]
    buses = [EventBus(service="cache", dsn=database_url, settings=settings) for _ in seen]
    for bus, (broadcasts, competing) in zip(buses, seen, strict=True):
        bus.include_router(replica_router(broadcasts, competing))
    try:
        for bus in buses:
            await bus.start()
        started = time.monotonic()
        await buses[0].publish(None, Pinged(n=7))
        await wait_until(lambda: all(b == [7] for b, _ in seen), timeout=5, what="both processes got the broadcast")
        assert time.monotonic() - started < 2
        await wait_until(lambda: sum(len(c) for _, c in seen) == 1, timeout=5, what="the competing delivery")
        async with buses[0].pool.acquire() as conn:
            await wait_until(lambda: conn.fetchval("SELECT count(*) = 0 FROM event_deliveries WHERE status <> 'done'"),
                             what="every delivery settled")
        assert sorted(c for _, cs in seen for c in cs) == [7]
        assert [b for b, _ in seen] == [[7], [7]]
    finally:
        for bus in buses:
            await bus.close()


async def test_a_process_gets_the_broadcasts_logged_after_it_opened_and_no_row_to_retire(database_url):
    early: list[int] = []
    late: list[int] = []
    first = EventBus(service="cache", dsn=database_url, settings=FAST)
    first.include_router(replica_router(early, []))
    await first.open()
    second = EventBus(service="cache", dsn=database_url, settings=FAST)
    second.include_router(replica_router(late, []))
    try:
        await first.publish(None, Pinged(n=1))
        await run_until_idle(first)
        await second.open()
        await first.publish(None, Pinged(n=2))
        await run_until_idle(first)
        await run_until_idle(second)
        assert early == [1, 2]
        assert late == [2]
        async with first.pool.acquire() as conn:
            names = await conn.fetch("SELECT name FROM event_subscriptions ORDER BY name")
        assert [row[0] for row in names] == ["cache.book_ping"]  # nothing per process, nothing to retire
    finally:
        await first.close()
        await second.close()


async def test_a_failing_broadcast_handler_is_logged_not_retried_and_the_next_event_arrives(make_bus: BusFactory):
    calls: list[int] = []
    router = Router()

    @router.on("test.ping.sent", broadcast=True)
    async def flaky(event: Pinged) -> None:
        calls.append(event.n)
        if event.n == 1:
            raise RuntimeError("cache unreachable")

    bus = await make_bus("cache", router)
    await bus.publish(None, Pinged(n=1))
    await run_until_idle(bus)
    await bus.publish(None, Pinged(n=2))
    await run_until_idle(bus)
    assert calls == [1, 2]


async def test_a_broadcast_gets_its_envelope_but_no_effectively_once_transaction(make_bus: BusFactory):
    outcomes: list[str] = []
    router = Router()

    @router.on("test.#", broadcast=True)
    async def forget(event: Pinged | Ponged, ctx: Delivery) -> None:
        outcomes.append(ctx.event_type)
        try:
            async with ctx.transaction():
                outcomes.append("transaction opened")
        except BrokerError as exc:
            outcomes.append("no inbox" if "broadcast" in str(exc) else str(exc))

    bus = await make_bus("cache", router)
    await bus.publish(None, Ponged(n=1))
    await run_until_idle(bus)
    assert outcomes == ["test.pong.sent", "no inbox"]


def test_the_rabbitmq_transport_refuses_a_broadcast_when_it_is_declared():
    router = Router()

    @router.on("core.module.*", broadcast=True)
    async def invalidate(event: Pinged) -> None: ...

    bus = EventBus(service="cache", dsn="postgresql://unused", settings=BusSettings(transport="rabbitmq"))
    with pytest.raises(BrokerError, match="broadcast=True is not supported on the RabbitMQ transport"):
        bus.include_router(router)


def test_a_broadcast_cannot_ask_for_retries_or_order():
    with pytest.raises(ValueError, match="broadcast"):
        Router().on("test.#", broadcast=True, retry=RetryPolicy(max_attempts=3))
