"""Buses for the behaviour suite: the same tests run in memory, on PostgreSQL and on RabbitMQ."""

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from uuid import uuid4

import pytest

from broker import BusSettings, EventBus
from broker.testing import memory_bus
from tests.rabbitmq import amqp_url, rabbitmq

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


@pytest.fixture(params=["memory", "postgres", pytest.param("rabbitmq", marks=pytest.mark.rabbit)])
def transport(request: pytest.FixtureRequest) -> str:
    """The transport a behaviour test runs on: every test of the suite runs on all three."""
    if request.param == "rabbitmq" and not rabbitmq()[0]:
        pytest.skip(rabbitmq()[1])
    return str(request.param)


@pytest.fixture
def transport_database(transport: str, request: pytest.FixtureRequest) -> str | None:
    """The bus database of the transport (None: the in-memory store)."""
    return None if transport == "memory" else str(request.getfixturevalue("database_url"))


@pytest.fixture
async def make_transport_bus(transport: str, transport_database: str | None) -> AsyncIterator[BusFactory]:
    """`await make_bus(service, router, ...)` on the parametrised transport. The memory and
    PostgreSQL buses are opened and drained by `run_until_idle`; the RabbitMQ bus is started
    with `run_workers=False`: connected, its queues bound and handed over, and its relay,
    forwarder and consumer driven by `run_until_idle` too. Each test has its own exchange and
    queues, deleted afterwards."""
    from broker.rabbit import delete_topology

    opened: list[EventBus] = []
    prefix = f"behave{uuid4().hex[:12]}"

    async def make(service: str = "test", *routers: Any, settings: BusSettings = FAST) -> EventBus:
        if transport == "memory":
            bus = memory_bus(service, settings=settings)
        elif transport == "postgres":
            bus = EventBus(service=service, dsn=transport_database, settings=settings)
        else:
            settings = settings.but(transport="rabbitmq", amqp_url=amqp_url(), amqp_prefix=prefix, relay=True,
                                    workers=1, amqp_start_timeout=15)
            bus = EventBus(service=service, dsn=transport_database, settings=settings)
        for router in routers:
            bus.include_router(router)
        opened.append(bus)
        if transport == "rabbitmq":
            await bus.start(run_workers=False)
            assert bus.health().rabbitmq_connected, bus.health()
        else:
            await bus.open()
        return bus

    yield make
    for bus in opened:
        await bus.close()
    if transport == "rabbitmq":
        names = sorted({bus.subscription_name(h) for bus in opened for h in bus.handlers})
        await delete_topology(amqp_url(), prefix, names)
