"""Claims and their settling under leases that run out, slow and hung handlers, crashes and load.

Run on PostgreSQL and on the in-memory store alike (the `make_bus` fixture).
"""

from uuid import uuid4

from broker import Router
from tests.broker.events import OrderLine
from tests.broker.test_behaviour import dead_letters


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
