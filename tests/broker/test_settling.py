"""Claims and their settling under leases that run out, slow and hung handlers, crashes and load.

Run on PostgreSQL and on the in-memory store alike (the `make_bus` fixture).
"""

import asyncio
import contextlib
from uuid import uuid4

import asyncpg
import pytest

from broker import BrokerError, Delivery, Retry, RetryPolicy, Router
from broker.testing import MemoryStore, memory_bus, run_until_idle
from tests.broker.conftest import FAST
from tests.broker.events import OrderLine, Pinged, Ponged
from tests.broker.test_behaviour import QUICK, dead_letters
from tests.waiting import wait_until


async def test_a_stale_worker_s_settle_neither_finishes_nor_releases_a_reclaimed_delivery(make_bus):
    router = Router()

    @router.on("test.order.line_added", ordered=True)
    async def book_line(event: OrderLine) -> None:
        """Never run here: the test claims and settles through the store, as two workers would."""

    bus = await make_bus("own", router)
    order = uuid4()
    await bus.publish_many(None, [OrderLine(order_id=order, n=1), OrderLine(order_id=order, n=2)], ordering_key="o")
    await bus.relay.run_once()
    store, refs = bus.store, bus.subscriptions
    # Worker A's lease runs out at once (lease 0); worker B takes the delivery over.
    [stale] = await store.claim(refs, 10, 0.0, "worker-a")
    [taken] = await store.claim(refs, 10, 30.0, "worker-b")
    assert taken.delivery_id == stale.delivery_id and taken.attempt == 2
    # A finishes late and settles: it no longer owns the delivery, so nothing changes ...
    await store.complete([stale])
    await store.retry(stale, 0.0, "late failure")
    await store.dead_letter(stale, "late", "late", "")
    await store.extend_leases([stale], 0.0)
    # ... the next event of the key stays held back behind B's delivery, and nothing is dead.
    assert await store.claim(refs, 10, 30.0, "worker-c") == []
    assert await dead_letters(bus) == []
    await store.complete([taken])
    [second] = await store.claim(refs, 10, 30.0, "worker-c")
    assert second.event_id != taken.event_id


async def delivery_statuses(bus) -> list[str]:
    """The status of every delivery, oldest first, on either store."""
    if isinstance(bus.store, MemoryStore):
        return [d.status for d in sorted(bus.store.deliveries.values(), key=lambda d: d.id)]
    async with bus.pool.acquire() as conn:
        return [r[0] for r in await conn.fetch("SELECT status FROM event_deliveries ORDER BY id")]


async def test_each_delivery_is_completed_as_it_finishes_not_when_its_batch_does(make_bus):
    router = Router()
    gate = asyncio.Event()

    @router.on("test.ping.sent")
    async def slow_on_two(event: Pinged) -> None:
        if event.n == 2:
            await gate.wait()

    bus = await make_bus("each", router)
    await bus.publish_many(None, [Pinged(n=1), Pinged(n=2)])
    await bus.relay.run_once()
    batch = asyncio.create_task(bus.worker.run_once())
    # The fast delivery is done while the slow one of the same batch still runs: a crash
    # now would re-run only the slow one.
    await wait_until(
        lambda: _eq(delivery_statuses(bus), ["done", "pending"]), what="the fast delivery completed alone"
    )
    gate.set()
    assert await batch == 2
    assert await delivery_statuses(bus) == ["done", "done"]


async def _eq(statuses, expected: list[str]) -> bool:
    return await statuses == expected


async def test_a_failed_lease_extension_keeps_the_batch_s_outcomes(make_bus):
    router = Router()
    runs: list[int] = []
    extension_failed = asyncio.Event()

    @router.on("test.ping.sent")
    async def outlives_a_lease_extension(event: Pinged) -> None:
        runs.append(event.n)
        await extension_failed.wait()

    bus = await make_bus("keep", router, settings=FAST.but(lease=0.3))
    real_extend = bus.store.extend_leases

    async def failing_extend(claims, lease):
        extension_failed.set()
        raise ConnectionError("the database went away for a moment")

    bus.store.extend_leases = failing_extend
    await bus.publish(None, Pinged(n=1))
    await bus.relay.run_once()
    assert await bus.worker.run_once() == 1  # the failed extension is logged, not raised
    bus.store.extend_leases = real_extend
    assert await delivery_statuses(bus) == ["done"]
    await run_until_idle(bus)
    assert runs == [1]


async def test_handlers_have_a_default_timeout(make_bus):
    router = Router()
    attempts: list[int] = []

    @router.on("test.ping.sent", retry=QUICK)  # no timeout= of its own
    async def hangs_once(event: Pinged, ctx: Delivery) -> None:
        attempts.append(ctx.attempt)
        if ctx.attempt == 1:
            await asyncio.Event().wait()  # never set: a hung call

    bus = await make_bus("hung", router, settings=FAST.but(handler_timeout=0.1))
    await bus.publish(None, Pinged(n=1))
    await asyncio.wait_for(run_until_idle(bus), 10)
    assert attempts == [1, 2]


async def test_the_lease_of_a_handler_past_its_timeout_is_no_longer_extended(make_bus):
    router = Router()
    release, started = asyncio.Event(), asyncio.Event()

    @router.on("test.ping.sent", timeout=0.05)
    async def ignores_cancellation(event: Pinged) -> None:
        started.set()
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                continue  # a handler that will not stop

    bus = await make_bus("stuck", router, settings=FAST.but(lease=0.3))
    await bus.publish(None, Pinged(n=1))
    await bus.relay.run_once()
    batch = asyncio.create_task(bus.worker.run_once())
    await started.wait()
    # Past the timeout the lease runs out, and another worker takes the delivery over.
    [taken] = await wait_until(
        lambda: bus.store.claim(bus.subscriptions, 10, 30.0, "another-worker"),
        what="the stuck delivery's lease to run out",
    )
    assert taken.attempt == 2
    release.set()
    await batch
    assert await delivery_statuses(bus) == ["pending"]  # the stuck worker no longer owns it


async def test_poison_that_kills_its_worker_is_dead_lettered_at_claim_after_max_attempts(make_bus):
    router = Router()
    runs: list[int] = []

    @router.on("test.ping.sent", retry=RetryPolicy(max_attempts=2, initial_delay=0.01))
    async def crashes_its_process(event: Pinged) -> None:
        runs.append(event.n)

    bus = await make_bus("poison", router)
    await bus.publish(None, Pinged(n=1))
    await bus.relay.run_once()
    # Twice a worker claims the delivery and dies before settling it (OOM, SIGKILL): the
    # lease runs out each time (lease 0 here) and nothing records a failure.
    for _ in range(2):
        [_claim] = await bus.store.claim(bus.subscriptions, 10, 0.0, "doomed-worker")
    await run_until_idle(bus)
    assert runs == []  # not handed to a handler a third time
    [letter] = await dead_letters(bus)
    assert letter["attempts"] == 2
    assert "gave up after 2 attempt(s)" in letter["reason"] and "never settled" in letter["reason"]


async def test_under_load_a_batch_serves_higher_priority_first_without_starving_the_lower(make_bus):
    router = Router()
    handled: list[str] = []

    @router.on("test.ping.sent", priority=2)
    async def report(event: Pinged) -> None:
        handled.append("low")

    @router.on("test.ping.sent", priority=9)
    async def bill(event: Pinged) -> None:
        handled.append("high")

    bus = await make_bus("load", router, settings=FAST.but(worker_batch=100))
    await bus.publish_many(None, [Pinged(n=n) for n in range(300)])
    await bus.relay.run_once()
    assert await bus.worker.run_once() == 100
    assert handled.count("high") >= 90, handled.count("high")
    assert handled.count("low") >= 1  # the lower priority still moves in every batch
    await run_until_idle(bus)
    assert handled.count("high") == handled.count("low") == 300


async def test_a_claim_gives_a_quiet_subscription_all_it_has_and_shares_the_rest_of_the_batch(make_bus):
    router = Router()

    @router.on("test.pong.sent")
    async def quiet(event: Ponged) -> None:
        """Never run here: the test claims through the store."""

    for name in ("a", "b", "c"):
        router.on("test.ping.sent", name=name)(quiet_ping)

    bus = await make_bus("share", router)
    await bus.publish_many(None, [Ponged(n=n) for n in range(2)])
    await bus.publish_many(None, [Pinged(n=n) for n in range(100)])
    await bus.relay.run_once()
    claimed = await bus.store.claim(bus.subscriptions, 40, 30.0, "worker")
    names = {ref.id: ref.name for ref in bus.subscriptions}
    taken = {name: sum(1 for c in claimed if names[c.subscription_id] == name) for name in names.values()}
    assert len(claimed) == 40  # the batch is full although one subscription had only 2
    assert taken.pop("share.quiet") == 2
    assert sorted(taken.values()) == [12, 13, 13]


async def quiet_ping(event: Pinged) -> None:
    """Never run here: the test claims through the store."""


async def test_a_broad_except_in_a_handler_does_not_turn_already_handled_into_a_failure(make_bus):
    router = Router()
    calls: list[int] = []
    effects: list[int] = []

    @router.on("test.ping.sent", retry=QUICK)
    async def book(event: Pinged, ctx: Delivery) -> None:
        calls.append(ctx.attempt)
        try:
            async with ctx.transaction():
                effects.append(event.n)
            if ctx.attempt == 1:
                raise ConnectionError("lost the connection after committing")
        except Exception as exc:  # as services write them: any failure becomes a retry
            raise Retry(f"booking failed: {exc}") from exc

    bus = await make_bus("broad", router)
    await bus.publish(None, Pinged(n=5))
    await run_until_idle(bus)
    assert calls == [1, 2]  # the redelivery stopped at the inbox, counted as done
    assert effects == [5]
    assert await dead_letters(bus) == []


async def test_a_nested_transaction_joins_the_open_one_and_a_rolled_back_one_may_be_tried_again(make_bus):
    router = Router()
    outcomes: list[str] = []

    @router.on("test.ping.sent")
    async def book(event: Pinged, ctx: Delivery) -> None:
        with pytest.raises(LookupError):
            async with ctx.transaction():
                raise LookupError("rolled back: the inbox row with it")
        # A second try of the unit of work, and inside it a helper that opens its own.
        async with ctx.transaction() as outer, ctx.transaction() as inner:
            outcomes.append("joined" if inner is outer else "separate")
        with pytest.raises(BrokerError, match="already committed"):
            async with ctx.transaction():
                pass
        outcomes.append("done")

    bus = await make_bus("nested", router)
    await bus.publish(None, Pinged(n=1))
    await asyncio.wait_for(run_until_idle(bus), 10)
    assert outcomes == ["joined", "done"]
    assert await dead_letters(bus) == []


async def test_the_memory_bus_transaction_is_a_real_unit_of_work():
    router = Router()
    seen: list[int] = []

    @router.on("test.ping.sent", retry=QUICK)
    async def answer(event: Pinged, ctx: Delivery) -> None:
        if ctx.attempt == 1:
            with contextlib.suppress(ConnectionError):
                async with ctx.transaction() as tx:
                    await ctx.publish(tx, Ponged(n=event.n))
                    raise ConnectionError("rolled back: the follow-up with it")
            raise ConnectionError("try again")
        async with ctx.transaction() as tx:
            assert tx is not None
            await ctx.publish(tx, Ponged(n=event.n))

    @router.on("test.pong.sent")
    async def record(event: Ponged) -> None:
        seen.append(event.n)

    bus = memory_bus("mem", settings=FAST)
    bus.include_router(router)
    await bus.open()
    await bus.publish(None, Pinged(n=3))
    await run_until_idle(bus)
    assert seen == [3]  # the rolled-back follow-up never left


async def test_the_memory_bus_runs_transactions_on_the_service_s_own_database(database_url):
    router = Router()

    @router.on("test.ping.sent")
    async def book(event: Pinged, ctx: Delivery) -> None:
        async with ctx.transaction() as conn:
            await conn.execute("CREATE TABLE IF NOT EXISTS booked (n int); INSERT INTO booked VALUES (1)")

    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)

    @contextlib.asynccontextmanager
    async def transaction():
        async with pool.acquire() as conn, conn.transaction():
            yield conn

    try:
        bus = memory_bus("own-db", settings=FAST, transaction=transaction)
        bus.include_router(router)
        await bus.open()
        await bus.publish(None, Pinged(n=1))
        await run_until_idle(bus)
        assert await pool.fetchval("SELECT count(*) FROM booked") == 1
    finally:
        await pool.close()
