"""The inbox of a claimed batch on PostgreSQL (broker/inbox_batch.py): the inboxed deliveries of
one claim share a transaction, a savepoint each, and still have an effect exactly once."""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from broker import BusSettings, Delivery, EventBus, RetryPolicy, Router
from broker.testing import run_until_idle
from tests.broker.events import Pinged
from tests.waiting import wait_until

QUIET = BusSettings(poll_interval=0.05, workers=0, relay=False, cleanup_interval=0, worker_batch=50)
QUICK = RetryPolicy(max_attempts=3, initial_delay=0.01, max_delay=0.02, jitter=0.0)


@pytest.fixture
async def admin(database_url):
    conn = await asyncpg.connect(database_url)
    await conn.execute("CREATE TABLE booked (n int NOT NULL, attempt int NOT NULL)")
    yield conn
    await conn.close()


def inbox_bus(url: str, router: Router) -> EventBus:
    bus = EventBus(service="inbox", dsn=url, settings=QUIET)
    bus.include_router(router)
    return bus


async def booked(admin) -> list[int]:
    return [row[0] for row in await admin.fetch("SELECT n FROM booked ORDER BY n")]


async def statuses(admin) -> list[str]:
    return [row[0] for row in await admin.fetch("SELECT DISTINCT status FROM event_deliveries")]


Step = Callable[[Any, Pinged, Delivery], Awaitable[Any]]


def booking(*, before: Step | None = None, after: Step | None = None) -> tuple[Router, list[Any]]:
    """A router whose handler books each event in its inbox transaction: `before(conn, event, ctx)`
    first (what it returns is collected), then the row, then `after(conn, event, ctx)`."""
    router, noted = Router(), []

    @router.on("test.ping.sent", retry=QUICK)
    async def book(event: Pinged, ctx: Delivery) -> None:
        async with ctx.transaction() as conn:
            if before is not None:
                noted.append(await before(conn, event, ctx))
            await conn.execute("INSERT INTO booked VALUES ($1, $2)", event.n, ctx.attempt)
            if after is not None:
                await after(conn, event, ctx)

    return router, noted


async def test_the_inboxed_deliveries_of_one_claim_commit_in_one_transaction(database_url, admin):
    async def transaction_id(conn: Any, _event: Pinged, _ctx: Delivery) -> int:
        return int(await conn.fetchval("SELECT txid_current()"))

    router, transactions = booking(before=transaction_id)
    async with inbox_bus(database_url, router) as bus:
        await bus.publish_many(None, [Pinged(n=n) for n in range(20)])
        await bus.relay.run_once()
        assert await bus.worker.run_once() == 20
    assert len(set(transactions)) == 1  # one commit for the claim, not one per delivery
    assert await booked(admin) == list(range(20))
    assert await statuses(admin) == ["done"]


async def test_a_failing_handler_rolls_back_only_its_own_writes_in_a_shared_transaction(database_url, admin):
    async def fail_once(_conn: Any, event: Pinged, ctx: Delivery) -> None:
        if event.n == 3 and ctx.attempt == 1:
            raise ConnectionError("this delivery's writes roll back, its neighbours' stay")

    router, _ = booking(after=fail_once)

    async with inbox_bus(database_url, router) as bus:
        await bus.publish_many(None, [Pinged(n=n) for n in range(6)])
        await bus.relay.run_once()
        assert await bus.worker.run_once() == 6
        assert await booked(admin) == [0, 1, 2, 4, 5]
        await run_until_idle(bus)
    assert await admin.fetch("SELECT n, attempt FROM booked WHERE n = 3") == [(3, 2)]
    assert await booked(admin) == list(range(6))
    assert await statuses(admin) == ["done"]


async def test_an_event_already_in_the_inbox_is_skipped_within_a_batch(database_url, admin):
    async def number(_conn: Any, event: Pinged, _ctx: Delivery) -> int:
        return event.n

    router, ran = booking(before=number)
    async with inbox_bus(database_url, router) as bus:
        ids = await bus.publish_many(None, [Pinged(n=n) for n in range(4)])
        # An earlier delivery of event 2 committed its effect (its worker died before completing it).
        await admin.execute("INSERT INTO event_inbox (subscription, event_id) VALUES ('inbox.book', $1)", ids[2])
        await bus.relay.run_once()
        assert await bus.worker.run_once() == 4
    assert sorted(ran) == [0, 1, 3]
    assert await booked(admin) == [0, 1, 3]
    assert await statuses(admin) == ["done"]


async def test_a_shared_commit_that_fails_leaves_no_writes_and_every_delivery_is_retried(database_url, admin):
    router = Router()
    holding, go_on = asyncio.Event(), asyncio.Event()
    backends: set[int] = set()

    @router.on("test.ping.sent", retry=QUICK)
    async def book(event: Pinged, ctx: Delivery) -> None:
        async with ctx.transaction() as conn:
            backends.add(conn.get_server_pid())
            await conn.execute("INSERT INTO booked VALUES ($1, $2)", event.n, ctx.attempt)
            if event.n == 4 and ctx.attempt == 1:  # the last in turn: the others wait for its commit
                holding.set()
                await go_on.wait()

    async with inbox_bus(database_url, router) as bus:
        await bus.publish_many(None, [Pinged(n=n) for n in range(5)])
        await bus.relay.run_once()
        batch = asyncio.create_task(bus.worker.run_once())
        await wait_until(holding.is_set, what="the last handler holding the shared transaction")
        assert await booked(admin) == []  # five handlers wrote, none of it committed yet
        [backend] = backends
        await admin.execute("SELECT pg_terminate_backend($1)", backend)  # the database side of a crash
        go_on.set()
        assert await batch == 5
        assert await booked(admin) == []
        await run_until_idle(bus)  # the retries: every delivery again, each booked once
    assert await admin.fetch("SELECT n, attempt FROM booked ORDER BY n") == [(n, 2) for n in range(5)]
    assert await statuses(admin) == ["done"]


async def test_a_subscription_name_with_a_quote_is_recorded_as_written(database_url, admin):
    router = Router()

    @router.on("test.ping.sent", name="o'brien; DROP TABLE booked; --")
    async def book(event: Pinged, ctx: Delivery) -> None:
        async with ctx.transaction() as conn:
            await conn.execute("INSERT INTO booked VALUES ($1, $2)", event.n, ctx.attempt)

    async with inbox_bus(database_url, router) as bus:
        await bus.publish(None, Pinged(n=1))
        await run_until_idle(bus)
    assert await booked(admin) == [1]
    assert await admin.fetchval("SELECT subscription FROM event_inbox") == "inbox.o'brien; DROP TABLE booked; --"


async def test_a_handler_that_swallows_a_database_error_gets_no_delivery_completed_without_its_writes(
    database_url, admin
):
    async def swallow_an_error(conn: Any, event: Pinged, ctx: Delivery) -> None:
        if event.n == 2 and ctx.attempt == 1:
            with contextlib.suppress(asyncpg.PostgresError):  # the transaction is now aborted
                await conn.execute("SELECT 1 / 0")

    router, _ = booking(after=swallow_an_error)

    async with inbox_bus(database_url, router) as bus:
        await bus.publish_many(None, [Pinged(n=n) for n in range(5)])
        await run_until_idle(bus)
    # PostgreSQL answers COMMIT on an aborted transaction with a silent ROLLBACK: none of it may count as done.
    assert await booked(admin) == list(range(5))
    assert await statuses(admin) == ["done"]
