"""The relay's hand-off (broker.handoff): fresh deliveries go claimed to this process's idle
workers, in the relay's own statement, never at the cost of ordering, leases or other processes."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest

from broker import BusSettings, Delivery, EventBus, Retry, Router, metrics, postgres
from broker.delivery import ClaimedDelivery
from broker.handoff import Handoff
from broker.postgres import PostgresStore
from broker.relay import Relay
from broker.store import HandoffClaim, SubscriptionRef
from broker.testing import run_until_idle
from broker.wakeup import Wakeup
from broker.worker import Bound, Worker, run_worker
from tests.broker.events import Pinged, recording_router
from tests.waiting import wait_until

IDLE = BusSettings(poll_interval=30, cleanup_interval=0, workers=2)  # no poll within a test
QUIET = BusSettings(poll_interval=0.05, workers=0, relay=False, cleanup_interval=0)


@dataclass
class Recording:
    """An open bus (nothing running) whose one subscription records each Pinged's n in `seen`."""

    bus: EventBus
    store: PostgresStore
    ref: SubscriptionRef
    seen: list[int]

    async def relay_claiming(self, limit: int, worker_id: str) -> list[ClaimedDelivery]:
        """Relay the outbox, the relay claiming up to `limit` deliveries for `worker_id`."""
        return (await self.store.relay_and_claim(500, HandoffClaim([self.ref.id], limit, 30.0, worker_id))).claimed

    def worker(self, worker_id: str, lease: float) -> Worker:
        """A worker of the subscription, as the bus's own but with its own id and lease."""
        return Worker(self.store, [Bound(self.ref, self.bus.handlers[0])], worker_id=worker_id, lease=lease)


@pytest.fixture
async def recording(database_url: str) -> AsyncIterator[Recording]:
    seen: list[int] = []
    bus = EventBus(service="t", dsn=database_url, settings=QUIET)
    bus.include_router(recording_router(seen))
    async with bus:
        assert isinstance(bus.store, PostgresStore)
        [ref] = bus.subscriptions
        yield Recording(bus, bus.store, ref, seen)


@pytest.fixture
async def started(database_url: str) -> AsyncIterator[tuple[EventBus, list[int]]]:
    """A started bus whose `record` subscriber appends each Pinged's n, with its loops idle."""
    seen: list[int] = []
    bus = EventBus(service="t", dsn=database_url, settings=IDLE)
    bus.include_router(recording_router(seen))
    async with bus.lifespan():
        assert bus.relay is not None and bus.relay.handoff is not None
        wake = bus.relay.handoff.wake
        await wait_until(lambda: wake.waiting == IDLE.workers, what="both worker loops idle")
        yield bus, seen


async def test_an_idle_process_runs_a_relayed_event_without_a_claim_statement(started, monkeypatch):
    bus, seen = started
    store = bus.store
    assert isinstance(store, PostgresStore)
    claims: list[int] = []
    claim = store.claim

    async def counted(*args, **kwargs):
        claims.append(1)
        return await claim(*args, **kwargs)

    monkeypatch.setattr(store, "claim", counted)
    handed_before = metrics.handed_over._value.get()
    await bus.publish(None, Pinged(n=1))
    await wait_until(lambda: seen == [1], timeout=5)
    async with bus.pool.acquire() as conn:
        done = "SELECT attempts FROM event_deliveries WHERE status = 'done'"
        assert await wait_until(lambda: conn.fetchval(done), what="the delivery settled") == 1
    assert claims == []  # the relay's statement claimed it: no claim round trip on the way
    assert metrics.handed_over._value.get() - handed_before == 1  # what operators see of it


async def test_a_relay_that_hands_every_delivery_over_wakes_no_other_process(recording, database_url):
    """NOTIFY bus_deliveries would send every worker of every process to claim nothing."""
    bus, store = recording.bus, recording.store
    heard: list[str] = []
    listener = await asyncpg.connect(database_url)
    try:
        await listener.add_listener("bus_deliveries", lambda *args: heard.append("notified"))
        await bus.publish(None, Pinged(n=1))
        relayed = await store.relay_and_claim(500, HandoffClaim([recording.ref.id], 500, 30.0, "w"))
        assert (relayed.moved, relayed.fanned, relayed.local, len(relayed.claimed)) == (1, 1, 1, 1)
        [handed] = relayed.claimed
        assert handed.attempt == 1 and handed.claimed_by == "w"
        await bus.publish(None, Pinged(n=2))
        assert await store.relay_batch(500) == 1  # left to be claimed: this one is announced
        await wait_until(lambda: heard, what="the second relay's NOTIFY")
        await listener.fetchval("SELECT 1")  # notifications arrive in commit order, before this
        assert heard == ["notified"]
    finally:
        await listener.close()


async def test_an_ordered_subscription_is_never_handed_over_so_a_retry_holds_its_key(database_url):
    handled: list[int] = []
    router = Router()

    @router.on("test.ping.sent", ordered=True)
    async def strict(event: Pinged, ctx: Delivery) -> None:
        if event.n == 1 and ctx.attempt == 1:
            raise Retry("not yet", after=0.05)
        handled.append(event.n)

    bus = EventBus(service="t", dsn=database_url, settings=BusSettings(poll_interval=0.05, cleanup_interval=0))
    bus.include_router(router)
    async with bus.lifespan():
        async with bus.pool.acquire() as conn, conn.transaction():
            await bus.publish(conn, Pinged(n=1), ordering_key="k")
            await bus.publish(conn, Pinged(n=2), ordering_key="k")
        await wait_until(lambda: len(handled) == 2, timeout=10)
    assert handled == [1, 2]


async def test_when_the_hand_off_is_full_the_higher_priority_subscription_goes_first(database_url):
    """More local deliveries than the worker has room for: the ones handed over (run at once)
    are the urgent subscription's; the routine ones are left to the claim's weighted share."""
    router = Router()

    @router.on("test.ping.sent", priority=9)
    async def urgent(event: Pinged) -> None: ...

    @router.on("test.ping.sent", priority=1)
    async def routine(event: Pinged) -> None: ...

    bus = EventBus(service="t", dsn=database_url, settings=QUIET)
    bus.include_router(router)
    async with bus:
        assert isinstance(bus.store, PostgresStore)
        by_id = {ref.id: ref.name.rpartition(".")[2] for ref in bus.subscriptions}
        await bus.publish_many(None, [Pinged(n=n) for n in range(4)])
        relayed = await bus.store.relay_and_claim(500, HandoffClaim(list(by_id), 4, 30.0, "w"))
    assert relayed.fanned == 8
    assert [by_id[c.subscription_id] for c in relayed.claimed] == ["urgent"] * 4


async def test_a_handed_batch_taken_late_runs_only_the_deliveries_it_still_holds(recording):
    """Every loop was busy past a third of the lease: another worker may have taken a delivery
    over meanwhile, and that one must not run twice."""
    await recording.bus.publish_many(None, [Pinged(n=1), Pinged(n=2)])
    handed = await recording.relay_claiming(500, "late")
    worker = recording.worker("late", lease=1e-6)  # any wait is late
    worker.hand(handed)
    async with recording.bus.pool.acquire() as conn:
        await conn.execute("UPDATE event_deliveries SET locked_by = 'other', attempts = 2 WHERE id = $1",
                           handed[0].delivery_id)
    await asyncio.wait_for(worker.run_once(), 10)
    assert handed[0].event_id != handed[1].event_id and recording.seen == [2]  # n=1 is the other's now


async def test_a_stream_of_handed_batches_does_not_starve_deliveries_left_to_be_claimed(database_url):
    """Retries, ordered subscriptions and leases that ran out are found only by a claim: a loop
    that always has a handed batch waiting must still claim now and then."""
    seen: list[int] = []
    bus = EventBus(service="t", dsn=database_url, settings=QUIET)
    router = Router()

    @router.on("test.ping.sent")
    async def record(event: Pinged) -> None:
        seen.append(event.n)
        if event.n > 0 and 0 not in seen:  # an endless stream: each handed event hands the next
            await bus.publish(None, Pinged(n=event.n + 1))
            worker.hand((await store.relay_and_claim(500, HandoffClaim([ref.id], 1, 30.0, worker.worker_id))).claimed)

    bus.include_router(router)
    async with bus:
        store = bus.store
        assert isinstance(store, PostgresStore) and bus.worker is not None
        worker = bus.worker
        [ref] = bus.subscriptions
        await bus.publish(None, Pinged(n=0))
        assert await store.relay_batch(500) == 1  # left to be claimed
        await bus.publish(None, Pinged(n=1))
        worker.hand((await store.relay_and_claim(500, HandoffClaim([ref.id], 1, 30.0, worker.worker_id))).claimed)
        loop = asyncio.create_task(run_worker(worker, Wakeup(), poll_interval=0.1))
        try:
            await wait_until(lambda: 0 in seen, timeout=10, what="the claimable delivery handled during the stream")
        finally:
            loop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await loop
    assert max(seen) > 1  # the stream was running meanwhile


async def test_a_stopping_bus_gives_back_the_handed_deliveries_no_loop_started(recording):
    bus = recording.bus
    assert bus.worker is not None
    await bus.publish(None, Pinged(n=1))
    bus.worker.hand(await recording.relay_claiming(1, bus.worker.worker_id))
    await bus.stop()
    async with bus.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT attempts, locked_by, available_at <= now() AS due FROM event_deliveries")
    assert dict(row) == {"attempts": 0, "locked_by": None, "due": True}  # claimable at once, no attempt spent
    await run_until_idle(bus)
    assert recording.seen == [1]


async def test_keeping_waiting_batches_leased_does_not_mix_them_up_when_a_loop_takes_one_meanwhile(recording):
    store = recording.store
    await recording.bus.publish_many(None, [Pinged(n=1), Pinged(n=2)])
    first, second = await recording.relay_claiming(2, "w")
    worker = recording.worker("w", lease=1e-6)  # both have waited
    worker.hand([first])
    worker.hand([second])
    extend = store.extend_leases
    taken: list[int] = []

    async def a_loop_takes_the_first_meanwhile(claims, lease):
        held = await extend(claims, lease)
        store.extend_leases = extend  # type: ignore[method-assign]  # once
        taken.append(len(await worker._take_handed()))  # what a loop does while this awaits
        return held

    store.extend_leases = a_loop_takes_the_first_meanwhile  # type: ignore[method-assign]
    await worker.keep_handed()
    assert taken == [1] and worker.handed == 1
    await asyncio.wait_for(worker.run_once(), 10)
    assert recording.seen == [2]  # the batch still waiting is the second, not the first again


async def test_a_two_database_relay_whose_outbox_side_fails_gives_back_what_it_claimed(
    database_url, second_database_url, monkeypatch
):
    """The bus side committed the claimed deliveries, then the outbox side failed: the relay
    raises, so nobody runs them from here; they must be claimable at once, no attempt spent."""
    bus = EventBus(service="module", dsn=database_url, outbox_dsn=second_database_url, settings=QUIET)
    bus.include_router(recording_router([]))
    async with bus:
        store = bus.store
        assert isinstance(store, PostgresStore)
        [ref] = bus.subscriptions
        await bus.publish(None, Pinged(n=1))
        named = postgres.query
        failing = "SELECT 1 / 0 WHERE $1::bigint[] IS NOT NULL"  # the outbox delete fails
        monkeypatch.setattr(postgres, "query", lambda name: failing if name == "delete_relayed" else named(name))
        with pytest.raises(asyncpg.DivisionByZeroError):
            await store.relay_and_claim(500, HandoffClaim([ref.id], 10, 30.0, "w"))
        async with bus.pool.acquire() as conn:
            row = await conn.fetchrow("SELECT attempts, locked_by FROM event_deliveries")
        assert dict(row) == {"attempts": 0, "locked_by": None}


async def test_a_bus_stopping_while_its_relay_statement_runs_gives_back_what_that_statement_claimed(
    database_url, second_database_url, monkeypatch
):
    """Stopping cancels the relay. Its statement had already committed deliveries claimed for
    this process (attempt 1, leased), and nobody here will run them: they must be given back,
    not left to wait out a lease and spend an attempt (dead letters where max_attempts is 1)."""
    held = await asyncpg.connect(second_database_url)
    await held.execute("SELECT pg_advisory_lock(4242)")
    named = postgres.query
    # The outbox delete (after the bus side committed) waits for the test's lock.
    slow_delete = ("WITH gone AS (DELETE FROM bus_outbox WHERE seq = ANY($1::bigint[]) RETURNING 1) "
                   "SELECT count(*), pg_advisory_xact_lock_shared(4242) FROM gone")
    monkeypatch.setattr(postgres, "query", lambda name: slow_delete if name == "delete_relayed" else named(name))
    bus = EventBus(service="module", dsn=database_url, outbox_dsn=second_database_url, settings=IDLE)
    bus.include_router(recording_router([]))
    try:
        async with bus.lifespan():
            await bus.publish(None, Pinged(n=1))

            async def relay_waits_for_the_lock() -> bool:
                return bool(await held.fetchval(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 4242 AND NOT granted"))

            await wait_until(relay_waits_for_the_lock, what="the relay's outbox delete waiting")
            relay_task = next(t for t in asyncio.all_tasks() if t.get_name().endswith("-relay"))
            stopping = asyncio.create_task(bus.stop())
            await wait_until(lambda: relay_task.cancelling() > 0, what="the stop cancelling the relay")
            await held.execute("SELECT pg_advisory_unlock(4242)")
            await asyncio.wait_for(stopping, 10)
            async with bus.pool.acquire() as conn:
                row = await conn.fetchrow(
                    "SELECT attempts, locked_by, available_at <= now() AS due FROM event_deliveries")
        assert dict(row) == {"attempts": 0, "locked_by": None, "due": True}
    finally:
        await held.close()


async def test_a_relay_whose_worker_is_full_waits_for_a_loop_and_then_hands_the_next_event_over(recording):
    """All the relay's recent work was this process's and the worker holds a batch per loop: the
    relay waits for a loop to take one, so the next event's delivery is handed over too, rather
    than left in the deliveries table for a claim statement."""
    worker = recording.worker("w", lease=30.0)
    handoff = Handoff(worker, Wakeup(), loops=1)
    relay = Relay(recording.store, Wakeup(), handoff=handoff)
    await recording.bus.publish(None, Pinged(n=1))
    await relay.run_once()
    assert worker.handed == 1 and handoff.should_wait()  # the one loop's batch is waiting
    waiting = asyncio.Event()
    room = handoff.room

    async def noted_room(timeout: float) -> None:
        waiting.set()
        await room(30.0)  # as long as it takes: the test takes the batch when the relay waits

    handoff.room = noted_room  # type: ignore[method-assign]
    await recording.bus.publish(None, Pinged(n=2))
    relaying = asyncio.create_task(relay.run_once())
    await asyncio.wait_for(waiting.wait(), 10)
    assert not relaying.done()
    first = await worker._take_handed()  # a loop takes the first batch
    assert await asyncio.wait_for(relaying, 10) == 1
    second = await worker._take_handed()
    assert [c.event_id for c in first] != [c.event_id for c in second] and len(second) == 1
    async with recording.bus.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM event_deliveries WHERE attempts = 0") == 0
