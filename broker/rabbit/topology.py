"""What the RabbitMQ transport declares: the topic exchange, and per subscription a main queue,
one delay queue per backoff step and a dead-letter queue — quorum queues (replicated, durable).

Priority: quorum queues have no `x-max-priority`. Subscription priority needs none: each
subscription has its own queue (a queue per priority band, in effect), and the consumer ranks the
messages it holds by their subscription's priority, as a Postgres claim does (docs/architecture.md,
"RabbitMQ queues"). Within one subscription every message has the same priority anyway.
"""

from bisect import bisect_left
from collections.abc import Sequence

from faststream.rabbit import ExchangeType, QueueType, RabbitBroker, RabbitExchange, RabbitQueue
from faststream.rabbit.schemas.queue import QuorumQueueArgs

# Delay queues: a queue's TTL is one per queue, so a short retry never waits behind a long one
# in the same queue. A retry goes to the smallest step not shorter than its delay (never early,
# at most 1.7x late); delays past the last step (about 19 h) wait the last step.
DELAY_STEPS_MS: tuple[int, ...] = (0, *sorted({int(m * 10**e) for e in range(1, 8) for m in (1, 1.5, 2, 3, 5, 7)}))

def exchange_name(prefix: str) -> str:
    return f"{prefix}.events"


def queue_names(prefix: str, subscription: str) -> tuple[str, str, str]:
    """The main queue, the stem of the delay queues (`<stem>.<ms>`) and the dead-letter queue."""
    main = f"{prefix}.{subscription}"
    return main, f"{main}.retry", f"{main}.dead"


def delay_step(delay: float) -> int:
    """The delay queue (its TTL in milliseconds) a retry after `delay` seconds waits in."""
    index = bisect_left(DELAY_STEPS_MS, max(0.0, delay) * 1000)
    return DELAY_STEPS_MS[min(index, len(DELAY_STEPS_MS) - 1)]


def delay_queue_name(prefix: str, subscription: str, step_ms: int) -> str:
    _, stem, _ = queue_names(prefix, subscription)
    return f"{stem}.{step_ms}"


def all_queue_names(prefix: str, subscription: str) -> list[str]:
    """Every queue a subscription may have (delay queues are declared when first used)."""
    main, _, dead = queue_names(prefix, subscription)
    return [main, dead, *(delay_queue_name(prefix, subscription, step) for step in DELAY_STEPS_MS)]


def topic_exchange(prefix: str) -> RabbitExchange:
    """The durable topic exchange every event is published to (routing key = event type)."""
    return RabbitExchange(exchange_name(prefix), type=ExchangeType.TOPIC, durable=True)


def main_queue(prefix: str, subscription: str, pattern: str) -> RabbitQueue:
    """A subscription's queue, bound to the exchange with its pattern when its subscriber starts."""
    main, _, _ = queue_names(prefix, subscription)
    return RabbitQueue(main, queue_type=QueueType.QUORUM, durable=True, routing_key=pattern)


def dead_queue(prefix: str, subscription: str) -> RabbitQueue:
    _, _, dead = queue_names(prefix, subscription)
    return RabbitQueue(dead, queue_type=QueueType.QUORUM, durable=True)


def delay_queue(prefix: str, subscription: str, step_ms: int) -> RabbitQueue:
    """A delay queue: no consumer; a message waits out the queue's TTL, then dead-letters back
    into the main queue. At-least-once dead-lettering (quorum queues, RabbitMQ 3.10+) keeps a
    message until the main queue has confirmed it; it needs `reject-publish` overflow."""
    main, _, _ = queue_names(prefix, subscription)
    return RabbitQueue(
        delay_queue_name(prefix, subscription, step_ms), queue_type=QueueType.QUORUM, durable=True,
        arguments=QuorumQueueArgs({
            "x-message-ttl": step_ms, "x-dead-letter-exchange": "", "x-dead-letter-routing-key": main,
            "x-dead-letter-strategy": "at-least-once", "x-overflow": "reject-publish",
        }),
    )


async def delete_queues(broker: RabbitBroker, prefix: str, subscriptions: Sequence[str]) -> None:
    """Delete every queue of `subscriptions` (deleting a queue that does not exist is a no-op)."""
    channel = broker._channel  # deleting has no FastStream call: aio-pika, on FastStream's channel
    assert channel is not None, "connect the broker first"
    for name in subscriptions:
        for queue in all_queue_names(prefix, name):
            await channel.queue_delete(queue)


async def unbind(broker: RabbitBroker, prefix: str, subscription: str, pattern: str) -> None:
    """Remove a binding a subscription no longer has (its pattern changed)."""
    channel = broker._channel  # unbinding has no FastStream call either
    assert channel is not None, "connect the broker first"
    main, _, _ = queue_names(prefix, subscription)
    queue = await channel.get_queue(main, ensure=False)
    await queue.unbind(exchange_name(prefix), pattern)


async def depth(broker: RabbitBroker, queue: str) -> int:
    """Messages ready in `queue`, now: a passive `queue.declare` on the AMQP channel under
    FastStream's (FastStream has no call for it, and both `broker.declare_queue` and aio-pika's
    `declare_queue` answer a queue declared before on that channel with its first, stale count)."""
    return (await depth_and_consumers(broker, queue))[0]


async def depth_and_consumers(broker: RabbitBroker, queue: str) -> tuple[int, int]:
    """Messages ready in `queue` and consumers attached to it, now (as `depth` asks)."""
    channel = broker._channel
    assert channel is not None, "connect the broker first"
    declared = await (await channel.get_underlay_channel()).queue_declare(queue, passive=True)
    return declared.message_count or 0, declared.consumer_count or 0


async def delete_topology(url: str, prefix: str, subscriptions: Sequence[str]) -> None:
    """Delete the exchange and the queues of `subscriptions` (tests; retiring a prefix)."""
    broker = RabbitBroker(url, logger=None)
    try:
        await broker.connect()
        await delete_queues(broker, prefix, subscriptions)
        channel = broker._channel
        assert channel is not None
        await channel.exchange_delete(exchange_name(prefix))
    finally:
        await broker.stop()


async def queue_depth(url: str, queue: str) -> int:
    """Messages ready in `queue` (tests and ops)."""
    broker = RabbitBroker(url, logger=None)
    try:
        await broker.connect()
        declared = await broker.declare_queue(RabbitQueue(queue, declare=False))
        return declared.declaration_result.message_count or 0
    finally:
        await broker.stop()
