"""Draining a RabbitMQ bus in tests, as `broker.testing.run_until_idle` drains the others."""

import asyncio
import time
from typing import TYPE_CHECKING

from faststream.rabbit import RabbitBroker

from broker.rabbit.forwarder import Forwarder
from broker.rabbit.topology import depth, queue_names

if TYPE_CHECKING:
    from broker.rabbit.transport import RabbitTransport


async def run_until_idle(transport: "RabbitTransport", timeout: float) -> int:
    """Relay, forward and bridge what is due, wait until RabbitMQ has handed this process every
    ready message, run a consumer batch; until nothing moves, no message waits in a queue (delay
    and broadcast queues included), no broadcast handler runs and no forwarding is due.
    Returns how many messages the handlers got."""
    bus, settings = transport.bus, transport.settings
    relay, consumer, messages, broker = bus.relay, transport.consumer, transport.messages, transport.broker
    broadcasts = transport.broadcasts
    assert relay is not None and messages is not None and broker is not None, "the transport is not ready"
    deadline = time.monotonic() + timeout
    started, quiet = messages.claimed + (broadcasts.handled if broadcasts else 0), 0
    while quiet < 2:  # idle twice in a row: a delivery in flight to us shows up in between
        if time.monotonic() >= deadline:
            raise TimeoutError(f"the RabbitMQ bus of {bus.service} was still busy after {timeout} s")
        moved = await relay.run_once()
        for worker in transport.forwarding:
            moved += await worker.run_once()
            if isinstance(worker, Forwarder):
                await worker.settled()  # what it published is in the queues, and settled
        arriving, retrying = await ready_messages(transport, broker)
        waiting = arriving + retrying + max(0, messages.retries_out - messages.retries_back)
        if broadcasts is not None:
            waiting += broadcasts.running
        # Consume once RabbitMQ has pushed us every ready message (or the prefetch is full), so
        # a batch ranks all that arrived by priority, as a Postgres claim would.
        if consumer is not None and messages.pending and (
            not arriving or len(messages.held) >= settings.amqp_prefetch
        ):
            moved += await consumer.run_once()
        due = [b.ref for worker in transport.forwarding for b in worker.bound.values()]
        if moved or messages.pending:
            quiet = 0
        elif waiting or (due and await transport.store.seconds_until_due(due) is not None):
            quiet = 0
            await asyncio.sleep(0.005)  # a retry's TTL or backoff running out
        else:
            quiet += 1
    return messages.claimed + (broadcasts.handled if broadcasts else 0) - started


async def ready_messages(transport: "RabbitTransport", broker: RabbitBroker) -> tuple[int, int]:
    """Messages ready in the service's main and broadcast queues, and in the delay queues it declared."""
    assert transport.messages is not None
    arriving = [queue_names(transport.prefix, ref.name)[0] for ref in transport.bus.subscriptions]
    if transport.broadcasts is not None and transport.broadcasts.queue is not None:
        arriving.append(transport.broadcasts.queue.name)
    return (
        sum([await depth(broker, name) for name in arriving]),
        sum([await depth(broker, name) for name in sorted(transport.messages.delay_queues)]),
    )
