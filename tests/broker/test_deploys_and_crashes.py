"""What only PostgreSQL shows: rolling deploys, a crash that empties the UNLOGGED log, relays
that meet each other."""


from broker import EventBus, Router
from broker.testing import run_until_idle
from tests.broker.conftest import FAST
from tests.broker.events import Pinged
from tests.broker.test_behaviour import dead_letters


def recording_router(seen: list[int]) -> Router:
    router = Router()

    @router.on("test.ping.sent")
    async def record(event: Pinged) -> None:
        seen.append(event.n)

    return router


async def test_deliveries_whose_event_a_crash_erased_are_dead_lettered_and_the_rest_flow(database_url):
    seen: list[int] = []
    async with EventBus(service="t", dsn=database_url, settings=FAST.but(worker_batch=10)) as bus:
        bus.include_router(recording_router(seen))
        await bus.sync()
        await bus.publish_many(None, [Pinged(n=n) for n in range(25)])
        await bus.relay.run_once()
        async with bus.pool.acquire() as conn:  # what a PostgreSQL crash does to an UNLOGGED log
            await conn.execute("TRUNCATE events")
        await bus.publish_many(None, [Pinged(n=100), Pinged(n=101)])
        await run_until_idle(bus, timeout=5)
        assert seen == [100, 101]
        letters = await dead_letters(bus)
        assert len(letters) == 25
        assert all("missing from the events log" in letter["reason"] for letter in letters)
