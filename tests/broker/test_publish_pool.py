"""`publish(None, ...)` borrows a connection of the bus pool for one INSERT: what that leaves behind."""

import asyncpg

from broker import BusSettings, EventBus
from broker.testing import run_until_idle
from tests.broker.events import Pinged, recording_router

# pool_size 2: the bus pool holds at most 2 connections, so the test can hold all of them.
SMALL = BusSettings(poll_interval=0.05, workers=0, relay=False, cleanup_interval=0, pool_size=2, listen=False)


async def _session_of(conn: asyncpg.Connection) -> tuple[str, int]:
    """A setting and the advisory locks a caller may leave on a pooled connection."""
    name = await conn.fetchval("SELECT current_setting('application_name')")
    locks = await conn.fetchval(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
    )
    return name, locks


async def test_a_session_left_on_the_bus_pool_is_still_reset_among_publishes(database_url):
    seen: list[int] = []
    async with EventBus(service="t", dsn=database_url, settings=SMALL) as bus:
        bus.include_router(recording_router(seen))
        for n in range(3):
            async with bus.pool.acquire() as conn:
                await conn.execute("SET application_name = 'left behind'")
                await conn.execute("SELECT pg_advisory_lock(42)")
            await bus.publish(None, Pinged(n=n))
        async with bus.pool.acquire() as first, bus.pool.acquire() as second:
            assert await _session_of(first) == ("", 0)
            assert await _session_of(second) == ("", 0)
        await run_until_idle(bus)
        assert sorted(seen) == [0, 1, 2]


async def test_a_publish_outside_a_transaction_costs_one_statement(database_url):
    async with EventBus(service="t", dsn=database_url, settings=SMALL) as bus:
        async with bus.pool.acquire() as first, bus.pool.acquire() as second:
            pids = {first.get_server_pid(), second.get_server_pid()}  # the pool's every connection
        async with bus.pool.acquire() as held:  # so the publishes borrow the other one
            for n in range(4):
                await bus.publish(None, Pinged(n=n))
            (publishing,) = pids - {held.get_server_pid()}
            # An idle backend shows the last statement it ran: the INSERT, not a reset query
            # sent after it as a round trip of its own.
            last = await held.fetchval("SELECT query FROM pg_stat_activity WHERE pid = $1", publishing)
        assert last.split()[:3] == ["INSERT", "INTO", "bus_outbox"]
