"""What only the PostgreSQL bus can show: transactions, NOTIFY, reconnects, crashes, relays."""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from uuid import uuid4

import asyncpg
import pytest

from broker import BusSettings, Delivery, EventBus, RetryPolicy, Router, schema
from broker.cleanup import cleanup
from broker.testing import run_until_idle
from tests.broker.events import Pinged, publish_one_rolled_back_one_committed, recording_router
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
QUIET = BusSettings(poll_interval=0.05, workers=0, relay=False, cleanup_interval=0)


@contextlib.asynccontextmanager
async def running_recorder(dsn: str, settings: BusSettings) -> AsyncIterator[tuple[EventBus, list[int]]]:
    """A started bus whose `record` subscriber appends each Pinged's n to the list; closed after."""
    seen: list[int] = []
    bus = EventBus(service="t", dsn=dsn, settings=settings)
    bus.include_router(recording_router(seen))
    async with bus.lifespan():
        yield bus, seen


async def test_rolled_back_transaction_publishes_nothing(database_url):
    seen: list[int] = []
    async with EventBus(service="t", dsn=database_url, settings=QUIET) as bus:
        bus.include_router(recording_router(seen))
        async with bus.pool.acquire() as conn:
            await publish_one_rolled_back_one_committed(bus, conn)
        await run_until_idle(bus)
        assert seen == [2]
        async with bus.pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM events") == 1


async def test_publish_works_on_a_piccolo_transaction(database_url):
    from piccolo.columns import Varchar
    from piccolo.engine.postgres import PostgresEngine
    from piccolo.table import Table

    engine = PostgresEngine(config={"dsn": database_url})

    class Note(Table, db=engine, tablename="notes"):
        text = Varchar()

    await Note.create_table(if_not_exists=True)
    seen: list[int] = []
    async with EventBus(service="t", dsn=database_url, settings=QUIET) as bus:
        bus.include_router(recording_router(seen))
        async with engine.transaction() as tx:
            await Note.insert(Note(text="kept"))
            await bus.publish(tx.connection, Pinged(n=1))
        with pytest.raises(ValueError):
            async with engine.transaction() as tx:
                await Note.insert(Note(text="lost"))
                await bus.publish(tx.connection, Pinged(n=2))
                raise ValueError("rolled back together")
        await run_until_idle(bus)
        assert seen == [1]
        assert [n["text"] for n in await Note.select(Note.text)] == ["kept"]


async def test_notify_wakes_the_relay_and_workers_without_polling(database_url):
    async with running_recorder(database_url, BusSettings(poll_interval=30, cleanup_interval=0)) as (bus, seen):
        started = time.monotonic()
        await bus.publish(None, Pinged(n=1))
        await wait_until(lambda: seen == [1], timeout=5)
        assert time.monotonic() - started < 2  # far below the 30 s poll


async def test_polling_alone_delivers_when_notifications_are_off(database_url):
    polling = BusSettings(poll_interval=0.1, listen=False, cleanup_interval=0)
    async with running_recorder(database_url, polling) as (bus, seen):
        await bus.publish(None, Pinged(n=1))
        await wait_until(lambda: seen == [1], timeout=5)


@pytest.mark.chaos
async def test_bus_recovers_after_its_connections_are_killed(database_url):
    async with running_recorder(database_url, BusSettings(poll_interval=0.2, cleanup_interval=0)) as (bus, seen):
        await bus.publish(None, Pinged(n=1))
        await wait_until(lambda: seen == [1])
        admin = await asyncpg.connect(database_url)
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        await admin.close()
        assert killed >= 2  # the pool's connections and the LISTEN connection
        await wait_until(lambda: all(n.reconnects and n.connected.is_set() for n in bus._listeners),
                         what="LISTEN connection re-established")
        await bus.publish(None, Pinged(n=2))
        await wait_until(lambda: seen == [1, 2], timeout=15)


async def test_concurrent_relays_neither_lose_nor_duplicate(database_url):
    subscriber = EventBus(service="count", dsn=database_url, settings=QUIET)
    subscriber.include_router(recording_router([]))
    await subscriber.open()
    relays = [EventBus(service=f"relay{i}", dsn=database_url, settings=QUIET) for i in range(3)]
    for relay in relays:
        await relay.open()

    async def publisher(k: int) -> None:
        for batch in range(10):
            await subscriber.publish_many(None, [Pinged(n=k * 1000 + batch * 100 + i) for i in range(50)])

    async def relaying(bus: EventBus, stop: asyncio.Event) -> None:
        assert bus.relay is not None
        while not stop.is_set():
            await bus.relay.run_once()

    stop = asyncio.Event()
    relay_tasks = [asyncio.create_task(relaying(r, stop)) for r in relays]
    await asyncio.gather(*(publisher(k) for k in range(4)))

    async def outbox_drained() -> bool:
        async with subscriber.pool.acquire() as conn:
            return await conn.fetchval("SELECT count(*) FROM bus_outbox") == 0

    await wait_until(outbox_drained, what="the relays moved every outbox row")
    stop.set()
    await asyncio.gather(*relay_tasks)
    await relays[0].relay.run_once()
    async with subscriber.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM bus_outbox") == 0
        assert await conn.fetchval("SELECT count(*) FROM events") == 2000
        assert await conn.fetchval("SELECT count(*) FROM event_deliveries") == 2000
        assert await conn.fetchval("SELECT count(DISTINCT event_id) FROM event_deliveries") == 2000
    for bus in [subscriber, *relays]:
        await bus.close()


async def test_outbox_in_a_separate_database_reaches_the_bus(database_url, second_database_url):
    seen: list[int] = []
    subscriber = EventBus(service="sub", dsn=database_url, settings=QUIET)
    subscriber.include_router(recording_router(seen))
    await subscriber.open()
    module = EventBus(service="module", dsn=database_url, outbox_dsn=second_database_url, settings=QUIET)
    await module.open()
    module_db = await asyncpg.connect(second_database_url)
    try:
        async with module_db.transaction():
            await module.publish(module_db, Pinged(n=1))
        assert await module.relay.run_once() == 1
        assert await module_db.fetchval("SELECT count(*) FROM bus_outbox") == 0
        await run_until_idle(subscriber)
        assert seen == [1]
    finally:
        await module_db.close()
        await module.close()
        await subscriber.close()


async def test_callback_subscription_receives_a_signed_post(database_url, monkeypatch):
    monkeypatch.setenv("BUS_CALLBACKS_ALLOW_PRIVATE", "true")  # the receiver is on 127.0.0.1
    import uvicorn
    from litestar import Litestar, Request, post

    from broker.webhooks import SIGNATURE_HEADER, add_callback_subscription, verify_signature

    received: list[tuple[bool, dict]] = []
    answers = [503, 200]

    @post("/hook", status_code=200)
    async def hook(request: Request) -> None:
        body = await request.body()
        received.append((verify_signature("s3cret", request.headers[SIGNATURE_HEADER], body), await request.json()))
        from litestar.exceptions import HTTPException

        status = answers.pop(0)
        if status != 200:
            raise HTTPException(status_code=status, detail="busy")

    server = uvicorn.Server(uvicorn.Config(Litestar([hook]), host="127.0.0.1", port=0, log_level="error"))
    serving = asyncio.create_task(server.serve())
    await wait_until(lambda: server.started)
    port = server.servers[0].sockets[0].getsockname()[1]
    settings = BusSettings(poll_interval=0.05, callbacks=True, cleanup_interval=0)
    bus = EventBus(service="core", dsn=database_url, settings=settings)
    try:
        await bus.open()
        from broker import RetryPolicy

        await add_callback_subscription(
            bus.pool, name="partner.invoices", module="partner", pattern="test.#",
            url=f"http://127.0.0.1:{port}/hook", secret="s3cret",
            retry=RetryPolicy(initial_delay=0.05, jitter=0), allow_private_networks=True,
        )
        await bus.start()
        event_id = await bus.publish(None, Pinged(n=3))
        await wait_until(lambda: len(received) == 2, timeout=10)
        assert [ok for ok, _ in received] == [True, True]
        body = received[1][1]
        assert body["id"] == str(event_id) and body["type"] == "test.ping.sent"
        assert body["payload"]["n"] == 3
        assert not verify_signature("wrong", sign_of(body), b"{}")
    finally:
        await bus.close()
        server.should_exit = True
        await serving


def sign_of(_body: dict) -> str:
    return "t=1,v1=00"


@pytest.mark.chaos
async def test_a_killed_worker_s_delivery_is_taken_over_after_its_lease(database_url):
    admin = await asyncpg.connect(database_url)
    await admin.execute("CREATE TABLE started (attempt int)")
    lease = 1.0
    proc = subprocess.Popen(  # noqa: ASYNC220 - started once, before the loop has work
        [sys.executable, "-m", "tests.broker.killable_worker", database_url, str(lease)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    attempts: list[int] = []
    router = Router()

    @router.on("test.ping.sent")
    async def book_ping(event: Pinged, ctx: Delivery) -> None:
        attempts.append(ctx.attempt)

    bus = EventBus(service="chaos", dsn=database_url, settings=QUIET.but(lease=lease))
    bus.include_router(router)  # the same subscription as the worker process's
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == b"ready"
        await bus.open()
        await bus.publish(None, Pinged(n=1))
        await bus.relay.run_once()
        await wait_until(lambda: admin.fetchval("SELECT count(*) FROM started"), timeout=15)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
        await run_until_idle(bus, timeout=10)
        assert attempts == [2]  # the killed worker's attempt counted; ours is the second
        assert await admin.fetchval("SELECT status FROM event_deliveries") == "done"
    finally:
        if proc.poll() is None:
            proc.kill()
        await bus.close()
        await admin.close()


async def test_cleanup_removes_expired_events_and_finished_deliveries_only(database_url):
    seen: list[int] = []
    router = recording_router(seen)
    bus = EventBus(service="t", dsn=database_url, settings=QUIET)
    bus.include_router(router)
    await bus.open()
    try:
        await bus.publish_many(None, [Pinged(n=1), Pinged(n=2)])
        await run_until_idle(bus)
        await bus.publish(None, Pinged(n=3))
        await bus.relay.run_once()  # n=3 stays pending
        async with bus.pool.acquire() as conn:
            await conn.execute("UPDATE events SET expires_at = now() - interval '1 second'")
            await conn.execute(
                "UPDATE event_deliveries SET finished_at = now() - interval '2 hours' WHERE status = 'done'"
            )
        result = await cleanup(bus.pool, done_retention=3600, batch_size=1)
        assert (result.events, result.deliveries) == (2, 2)
        async with bus.pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM events") == 1  # the pending one is kept
            assert await conn.fetchval("SELECT count(*) FROM event_deliveries WHERE status = 'pending'") == 1
    finally:
        await bus.close()


async def test_events_log_is_logged_by_default_and_unlogged_when_created_so_or_switched(database_url):
    conn = await asyncpg.connect(database_url)
    try:
        persistence = "SELECT relpersistence::text FROM pg_class WHERE oid = 'events'::regclass"
        assert await conn.fetchval(persistence) == "p"
        await schema.set_events_logged(conn, logged=False)  # the operator's switch
        assert await conn.fetchval(persistence) == "u"
        await schema.set_events_logged(conn, logged=True)
        assert await conn.fetchval(persistence) == "p"
        # A database whose bus tables do not exist yet takes the setting of its first install.
        await conn.execute("DROP TABLE events; DELETE FROM bus_schema WHERE part = 'bus'")
        await schema.install(conn, unlogged_events=True)
        assert await conn.fetchval(persistence) == "u"
    finally:
        await conn.close()


async def test_an_unreachable_database_is_a_clear_error():
    from broker import BusUnavailable

    bus = EventBus(service="t", dsn="postgresql://postgres@127.0.0.1:1/nowhere", settings=QUIET)
    with pytest.raises(BusUnavailable, match="cannot reach the bus database"):
        await bus.open()
    assert uuid4()


async def test_a_slow_handler_keeps_its_lease_so_no_other_worker_takes_the_delivery(database_url):
    attempts: list[int] = []
    release = asyncio.Event()
    router = Router()

    @router.on("test.ping.sent")
    async def slow(event: Pinged, ctx: Delivery) -> None:
        attempts.append(ctx.attempt)
        await release.wait()  # runs until the test has seen its lease extended past three leases

    settings = BusSettings(lease=0.3, poll_interval=0.05, cleanup_interval=0, workers=1)
    buses = [EventBus(service="slow", dsn=database_url, settings=settings) for _ in range(2)]
    for bus in buses:
        bus.include_router(router)
        await bus.start()
    try:
        await buses[0].publish(None, Pinged(n=1))

        async def status() -> str | None:
            async with buses[0].pool.acquire() as conn:
                return await conn.fetchval("SELECT status FROM event_deliveries")

        async def lease_outlived_three_times() -> bool:
            async with buses[0].pool.acquire() as conn:
                return await conn.fetchval(
                    "SELECT now() - (SELECT min(recorded_at) FROM events) > interval '0.9 s'")

        await wait_until(lambda: attempts == [1], what="the handler started")
        await wait_until(lease_outlived_three_times, what="three leases passed while the handler runs")
        assert attempts == [1] and await status() == "pending"  # nobody else took it meanwhile
        release.set()

        async def done() -> bool:
            return await status() == "done"

        await wait_until(done, what="the delivery completed")
        assert attempts == [1]  # the lease was extended while the handler ran
    finally:
        release.set()
        for bus in buses:
            await bus.close()


async def test_a_callback_answering_410_is_dead_lettered_at_once(database_url, monkeypatch):
    monkeypatch.setenv("BUS_CALLBACKS_ALLOW_PRIVATE", "true")  # the receiver is on 127.0.0.1
    import uvicorn
    from litestar import Litestar, post
    from litestar.exceptions import HTTPException

    from broker.webhooks import add_callback_subscription

    calls: list[int] = []

    @post("/gone", status_code=200)
    async def gone() -> None:
        calls.append(1)
        raise HTTPException(status_code=410, detail="this endpoint was retired")

    server = uvicorn.Server(uvicorn.Config(Litestar([gone]), host="127.0.0.1", port=0, log_level="error"))
    serving = asyncio.create_task(server.serve())
    await wait_until(lambda: server.started)
    port = server.servers[0].sockets[0].getsockname()[1]
    bus = EventBus(service="core", dsn=database_url,
                   settings=BusSettings(poll_interval=0.05, callbacks=True, cleanup_interval=0))
    try:
        await bus.open()
        await add_callback_subscription(bus.pool, name="partner.old", module="partner", pattern="test.#",
                                        url=f"http://127.0.0.1:{port}/gone", secret="s",
                                        allow_private_networks=True)
        await bus.start()
        await bus.publish(None, Pinged(n=1))

        async def dead() -> str | None:
            async with bus.pool.acquire() as conn:
                return await conn.fetchval("SELECT reason FROM event_dead_letters")
        reason = await wait_until(dead, timeout=10)
        assert "answered 410" in reason and "retired" in reason
        assert calls == [1]  # no retries for a 4xx other than 408/429
    finally:
        await bus.close()
        server.should_exit = True
        await serving


async def test_a_running_worker_wakes_for_its_own_retry_without_polling(database_url):
    attempts: list[float] = []
    router = Router()

    @router.on("test.ping.sent", retry=RetryPolicy(initial_delay=0.2, jitter=0))
    async def flaky(event: Pinged, ctx: Delivery) -> None:
        attempts.append(time.monotonic())
        if ctx.attempt == 1:
            raise ConnectionError("not yet")

    bus = EventBus(service="t", dsn=database_url, settings=BusSettings(poll_interval=30, cleanup_interval=0))
    bus.include_router(router)
    await bus.start()
    try:
        await bus.publish(None, Pinged(n=1))
        await wait_until(lambda: len(attempts) == 2, timeout=5)
        assert 0.15 < attempts[1] - attempts[0] < 2  # the 0.2 s backoff, not the 30 s poll
    finally:
        await bus.close()


async def test_schema_install_runs_its_ddl_only_when_the_sql_changed(database_url):
    """A starting service must not take DDL locks on hot tables that other processes are using."""
    from broker.schema import _apply, _sql

    conn = await asyncpg.connect(database_url)
    try:
        assert await _apply(conn, "outbox", _sql("outbox.sql")) is False  # the template applied it already
        before = await conn.fetchval("SELECT applied_at FROM bus_schema WHERE part = 'bus'")
        await schema.install(conn)
        assert await conn.fetchval("SELECT applied_at FROM bus_schema WHERE part = 'bus'") == before
        assert await _apply(conn, "outbox", _sql("outbox.sql") + "\n-- changed") is True
    finally:
        await conn.close()
