"""The relay is woken after the publishing transaction ends, never from inside it."""

import asyncio
import contextlib
from collections.abc import AsyncIterator

import asyncpg

from broker import BusSettings, EventBus
from broker.commit_notify import CommitNotifier
from tests.broker.events import Pinged
from tests.waiting import wait_until


async def notifications(conn: asyncpg.Connection) -> asyncio.Queue[float]:
    queue: asyncio.Queue[float] = asyncio.Queue()
    await conn.add_listener("bus_outbox", lambda *_: queue.put_nowait(asyncio.get_running_loop().time()))
    return queue


async def wake_ups_before_a_barrier(listener: asyncio.Queue[float], sender: asyncpg.Connection,
                                    barrier: asyncio.Event) -> int:
    """How many relay wake-ups arrive before a NOTIFY sent now from another session.

    PostgreSQL delivers notifications in commit order, so anything the bus had sent by now
    reaches the listener before the barrier: a bounded way to show that nothing was sent.
    """
    barrier.clear()
    await sender.execute("NOTIFY test_barrier")
    await asyncio.wait_for(barrier.wait(), 5)
    count = 0
    while not listener.empty():
        listener.get_nowait()
        count += 1
    return count


async def make_slow_commit_table(conn: asyncpg.Connection, seconds: float) -> None:
    """Table `slow_commit`: a transaction that inserts into it takes `seconds` to COMMIT (a
    deferred trigger sleeps at commit time)."""
    await conn.execute(f"""
        CREATE TABLE slow_commit (x int);
        CREATE FUNCTION sleep_at_commit() RETURNS trigger LANGUAGE plpgsql AS
            $$ BEGIN PERFORM pg_sleep({seconds}); RETURN NULL; END $$;
        CREATE CONSTRAINT TRIGGER slow AFTER INSERT ON slow_commit DEFERRABLE INITIALLY DEFERRED
            FOR EACH ROW EXECUTE FUNCTION sleep_at_commit();
    """)


async def test_notify_comes_after_commit_once_per_transaction(database_url):
    listener = await asyncpg.connect(database_url)
    queue = await notifications(listener)
    barrier = asyncio.Event()
    await listener.add_listener("test_barrier", lambda *_: barrier.set())
    bus = EventBus(service="t", dsn=database_url, settings=BusSettings(relay=False, workers=0, cleanup_interval=0))
    await bus.open()
    publisher = await asyncpg.connect(database_url)
    sender = await asyncpg.connect(database_url)
    try:
        async with publisher.transaction():
            await bus.publish(publisher, Pinged(n=1))
            await bus.publish(publisher, Pinged(n=2))
            # nothing while the transaction is open
            assert await wake_ups_before_a_barrier(queue, sender, barrier) == 0
        committed = asyncio.get_running_loop().time()
        woke = await asyncio.wait_for(queue.get(), 2)
        assert woke - committed < 0.5
        # two publishes, one transaction: one wake-up
        assert await wake_ups_before_a_barrier(queue, sender, barrier) == 0

        for n in range(3):  # back-to-back transactions on one connection each wake the relay
            async with publisher.transaction():
                await bus.publish(publisher, Pinged(n=n))
        await asyncio.wait_for(queue.get(), 2)
    finally:
        await sender.close()
        await publisher.close()
        await bus.close()
        await listener.close()


async def test_a_publishing_transaction_commits_without_taking_the_notify_lock(database_url):
    """No NOTIFY in the publisher's transaction: its commit never waits for other publishers'."""
    conn = await asyncpg.connect(database_url)
    try:
        triggers = await conn.fetchval(
            "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'bus_outbox'::regclass AND NOT tgisinternal"
        )
        assert triggers == 0
    finally:
        await conn.close()


async def test_the_wake_up_waits_for_the_commit_to_finish(database_url):
    """asyncpg forgets its transaction object before the COMMIT round trip; a slow commit (a
    deferred trigger sleeping at commit time) shows the nudge waits for the answer, so the relay
    never wakes to find nothing and then sleeps until its next poll."""
    setup = await asyncpg.connect(database_url)
    await make_slow_commit_table(setup, 0.3)
    observed: list[int] = []
    woke = asyncio.Event()

    async def look() -> None:
        observed.append(await setup.fetchval("SELECT count(*) FROM bus_outbox"))
        woke.set()

    listener = await asyncpg.connect(database_url)
    await listener.add_listener("bus_outbox", lambda *_: asyncio.ensure_future(look()))
    bus = EventBus(service="t", dsn=database_url, settings=BusSettings(relay=False, workers=0, cleanup_interval=0))
    await bus.open()
    publisher = await asyncpg.connect(database_url)
    try:
        async with publisher.transaction():
            await bus.publish(publisher, Pinged(n=1))
            await publisher.execute("INSERT INTO slow_commit VALUES (1)")  # its COMMIT takes 0.3 s
        await asyncio.wait_for(woke.wait(), 3)
        assert observed == [1]  # the row was visible when the relay would have looked
        await bus.publish(publisher, Pinged(n=2))  # outside a transaction: already committed
        await bus.close()  # and a wake-up still owed at close is sent, not dropped
        await wait_until(lambda: len(observed) == 2, what="a second wake-up")
        assert observed[-1] == 2
    finally:
        await publisher.close()
        await listener.close()
        await setup.close()


async def test_closing_lets_a_wake_up_in_flight_finish_instead_of_cutting_its_connect():
    """A bus closed right after a publish must not cancel the wake-up's connect half-way: asyncpg
    then leaves an orphaned future that prints "Future exception was never retrieved" (seen on
    every `make run`, whose one-shot admin creation publishes and closes at once)."""
    connecting, release = asyncio.Event(), asyncio.Event()
    cut: list[bool] = []

    class Connection:
        def is_closed(self) -> bool:
            return False

        async def execute(self, _sql: str) -> None:
            return None

        async def close(self) -> None:
            return None

    async def slow_connect() -> Connection:
        connecting.set()
        try:
            await release.wait()
        except asyncio.CancelledError:
            cut.append(True)
            raise
        return Connection()

    notifier = CommitNotifier(slow_connect)  # type: ignore[arg-type]
    runner = asyncio.create_task(notifier.run())
    notifier.published(None)
    await wait_until(connecting.is_set, what="the wake-up connecting")
    flushing = asyncio.create_task(notifier.flush())  # what EventBus.stop() awaits before cancelling
    # a bounded check that something does NOT happen: flush is still waiting for the connect
    done, _ = await asyncio.wait({flushing}, timeout=0.2)
    assert not done, "flush returned while the wake-up was still connecting: the bus would cut it"
    release.set()
    await asyncio.wait_for(flushing, 5)
    runner.cancel()  # then EventBus.stop() cancels the task
    with contextlib.suppress(asyncio.CancelledError):
        await runner
    assert cut == [], "the wake-up's connect was cancelled half-way"


async def test_the_wake_up_follows_a_slow_commit_at_once_not_at_the_next_poll(database_url):
    """The commit itself wakes the notifier (the publishing connection reports each statement
    it finishes), so a commit that took 2 s is followed at once by the NOTIFY, not when a
    poll backed off to seconds next looks. Polling is only the fallback, every `max_wait`."""
    setup = await asyncpg.connect(database_url)
    try:
        await make_slow_commit_table(setup, 2)
        async with notifier_polling_every_30s(database_url) as (notifier, queue, publisher, _):
            async with publisher.transaction():
                await publisher.execute("INSERT INTO slow_commit VALUES (1)")  # its COMMIT takes 2 s
                notifier.published(publisher)
            committed = asyncio.get_running_loop().time()
            woke = await asyncio.wait_for(queue.get(), 35)
            assert woke - committed < 0.5
    finally:
        await setup.close()


@contextlib.asynccontextmanager
async def notifier_polling_every_30s(
    database_url: str, *, burst_cap: float = CommitNotifier(asyncpg.connect).burst_cap
) -> AsyncIterator[tuple[CommitNotifier, asyncio.Queue[float], asyncpg.Connection, asyncpg.Connection]]:
    """A running CommitNotifier whose fallback sweep is too slow to matter (its burst gap capped
    at `burst_cap`, the default unless told), the queue of the wake-ups it sends, a publishing
    connection and the listening one."""
    listener = await asyncpg.connect(database_url)
    queue = await notifications(listener)
    notifier = CommitNotifier(lambda: asyncpg.connect(database_url), max_wait=30.0, burst_cap=burst_cap)
    runner = asyncio.create_task(notifier.run())
    publisher = await asyncpg.connect(database_url)
    try:
        yield notifier, queue, publisher, listener
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        await publisher.close()
        await listener.close()


async def test_a_lone_commit_after_a_burst_is_announced_at_once(database_url):
    """Back-to-back commits share NOTIFYs (the gap between them doubles); once they stop, the
    next commit that ends a while after the last NOTIFY is announced at once, not a whole
    grown gap later (at 200 commits/s that gap stayed at its 50 ms cap: p50 latency 28 ms). The
    gap may grow to 30 s here, so a commit that waited for it would show."""
    async with notifier_polling_every_30s(database_url, burst_cap=30.0) as (notifier, queue, publisher, listener):

        async def commit() -> None:
            async with publisher.transaction():
                await publisher.execute("SELECT 1")
                notifier.published(publisher)

        while queue.qsize() < 10:  # steady publishing: 10 NOTIFYs, the gap is 1 s by now
            await commit()
        # the NOTIFY the burst still owes goes out after the grown gap; wait for it
        await wait_until(lambda: not notifier._due and not notifier._sending.locked(), timeout=35,
                         what="the burst's last NOTIFY sent")
        sender = await asyncpg.connect(database_url)
        try:  # and let it reach the queue (notifications arrive in commit order), then drop them
            barrier = asyncio.Event()
            await listener.add_listener("test_barrier", lambda *_: barrier.set())
            await wake_ups_before_a_barrier(queue, sender, barrier)
        finally:
            await sender.close()
        await commit()
        committed = asyncio.get_running_loop().time()
        woke = await asyncio.wait_for(queue.get(), 35)
        assert woke - committed < 0.25


async def test_back_to_back_commits_are_announced_within_the_burst_cap_however_long_they_last(database_url):
    """Steady publishing shares NOTIFYs, but the gap between them stops growing at
    `burst_cap`: a paced publisher catching up after a stall commits back to back, and a gap
    grown to `max_wait` (50 ms in services) kept its events waiting in the outbox — the
    latency tail at 200 events/s. Forty NOTIFYs take forty capped gaps, not half a minute."""
    async with notifier_polling_every_30s(database_url) as (notifier, queue, publisher, _):
        assert notifier.burst_cap < 0.05

        async def forty_notifies() -> None:
            while queue.qsize() < 40:
                async with publisher.transaction():
                    await publisher.execute("SELECT 1")
                    notifier.published(publisher)

        await asyncio.wait_for(forty_notifies(), 10)
