"""The bus dashboard's RabbitMQ queues (`GET /api/v1/admin/bus/queues`): what an operator sees of
each subscription's queue and dead-letter queue on the RabbitMQ transport."""

from collections.abc import AsyncIterator
from uuid import uuid4

import pytest

from broker import BusSettings, EventBus, Reject, Router, ops
from broker.rabbit import delete_topology, queue_names
from tests.broker.events import Pinged
from tests.rabbitmq import amqp_url, amqp_url_or_skip
from tests.services.core.conftest import FAST_BUS, Harness, serve_core
from tests.waiting import wait_until

pytestmark = [pytest.mark.rabbit]

SUBSCRIPTION = "exporter.refuse"


@pytest.fixture
def prefix() -> str:
    amqp_url_or_skip()
    return f"test{uuid4().hex[:12]}"


@pytest.fixture
async def core(database_url: str, prefix: str) -> AsyncIterator[Harness]:
    """Core on the RabbitMQ transport (it consumes nothing itself: it reads the queues)."""
    bus = FAST_BUS.but(transport="rabbitmq", amqp_url=amqp_url(), amqp_prefix=prefix)
    async with serve_core(database_url, bus) as harness:
        yield harness


@pytest.fixture
async def exporter(database_url: str, prefix: str) -> AsyncIterator[EventBus]:
    """A service whose one subscription refuses every ping: each one parks in its dead-letter queue."""
    router = Router()

    @router.on("test.ping.sent")
    async def refuse(event: Pinged) -> None:
        raise Reject(f"ping {event.n} refused")

    settings = BusSettings(poll_interval=0.05, cleanup_interval=0, transport="rabbitmq", amqp_url=amqp_url(),
                           amqp_prefix=prefix)
    bus = EventBus(service="exporter", dsn=database_url, settings=settings)
    bus.include_router(router)
    await bus.start()
    try:
        yield bus
    finally:
        await bus.close()
        await delete_topology(amqp_url(), prefix, [SUBSCRIPTION])


async def test_the_dashboard_lists_each_queue_with_its_depths(core, root, acme, exporter, prefix):
    for n in range(3):
        await exporter.publish(None, Pinged(n=n))

    async def three_letters() -> bool:
        return len(await ops.dlq_list(exporter.pool)) == 3

    await wait_until(three_letters, timeout=20, what="three pings dead-lettered")
    main, _, dead = queue_names(prefix, SUBSCRIPTION)

    async def dead_queue_holds_three() -> bool:
        r = await core.client.get("/api/v1/admin/bus/queues", headers=root)
        assert r.status_code == 200, r.text
        return [q["messages"] for q in r.json()] == [3]

    await wait_until(dead_queue_holds_three, timeout=20, what="the dead-letter queue's depth on the dashboard")
    [queue] = (await core.client.get("/api/v1/admin/bus/queues", headers=root)).json()
    assert queue == {"subscription": SUBSCRIPTION, "queue": dead, "messages": 3, "open_letters": 3, "trimmed": 0,
                     "main_queue": main, "ready": 0, "consumers": 1}

    await exporter.close()  # nobody consumes now: what is published waits, ready, in the main queue
    publisher = EventBus(service="pinger", dsn=core.url, settings=BusSettings(
        poll_interval=0.05, cleanup_interval=0, transport="rabbitmq", amqp_url=amqp_url(), amqp_prefix=prefix))
    await publisher.start()  # its relay forwards to RabbitMQ
    try:
        await publisher.publish(None, Pinged(n=9))

        async def one_ready() -> bool:
            [q] = (await core.client.get("/api/v1/admin/bus/queues", headers=root)).json()
            return (q["ready"], q["consumers"]) == (1, 0)

        await wait_until(one_ready, timeout=20, what="one message ready and no consumer on the dashboard")
    finally:
        await publisher.close()

    refused = await core.client.get("/api/v1/admin/bus/queues", headers=acme.admin)
    assert refused.status_code == 403  # queue depths cover every tenant
