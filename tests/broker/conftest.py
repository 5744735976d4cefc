"""Buses for the behaviour suite: the same tests run on PostgreSQL and in memory."""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from broker import BusSettings, EventBus
from broker.testing import memory_bus

FAST = BusSettings(poll_interval=0.05, workers=0, relay=False, cleanup_interval=0, lease=5.0)

BusFactory = Callable[..., Awaitable[EventBus]]


@pytest.fixture(params=["postgres", "memory"])
def bus_database(request: pytest.FixtureRequest) -> str | None:
    """The database URL of the parametrised store (None: the in-memory store)."""
    if request.param == "postgres":
        return str(request.getfixturevalue("database_url"))
    return None


@pytest.fixture
async def make_bus(bus_database: str | None) -> AsyncIterator[BusFactory]:
    """`await make_bus(service, router, ...)`: an open bus on the parametrised store."""
    opened: list[EventBus] = []

    async def make(service: str = "test", *routers: Any, settings: BusSettings = FAST) -> EventBus:
        if bus_database is not None:
            url = bus_database
            bus = EventBus(service=service, dsn=url, settings=settings)
        else:
            bus = memory_bus(service, settings=settings)
        for router in routers:
            bus.include_router(router)
        await bus.open()
        opened.append(bus)
        return bus

    yield make
    for bus in opened:
        await bus.close()
