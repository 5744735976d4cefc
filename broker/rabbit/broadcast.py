"""Broadcast subscriptions on RabbitMQ: each process of a service declares one exclusive,
auto-deleted queue of its own, bound to the topic exchange with every broadcast pattern of the
service, so every running process gets every matching event once (several matching patterns
still give one message per queue). The queue dies with the process's connection: nothing to
retire, and a process gets only the events published while it runs — as on PostgreSQL, where
the process follows the events log (broker/follower.py), and with the same handler semantics
(`BroadcastFollower.deliver`: no retries, no inbox, a failure is logged)."""

import itertools
from uuid import uuid4

import msgspec
import structlog
from faststream import AckPolicy
from faststream.rabbit import Channel, RabbitBroker, RabbitExchange, RabbitMessage, RabbitQueue

from broker.follower import BroadcastFollower
from broker.rabbit.messages import claimed_from, undecoded
from contracts.envelope import Envelope

log = structlog.get_logger("broker.rabbit")

_decoder = msgspec.json.Decoder(Envelope)
BROADCAST_PREFETCH = 100  # on a channel of its own: its acknowledgements are FastStream's


def broadcast_queue(prefix: str, service: str, pattern: str) -> RabbitQueue:
    """A fresh per-process queue (classic: quorum queues cannot be exclusive)."""
    return RabbitQueue(
        f"{prefix}.{service}.broadcast.{uuid4().hex[:12]}", durable=False, exclusive=True, auto_delete=True,
        routing_key=pattern,
    )


class BroadcastConsumer:
    """Receives this process's broadcast queue and runs the follower's handlers on each event."""

    def __init__(self, follower: BroadcastFollower) -> None:
        self.follower = follower
        self.queue: RabbitQueue | None = None
        self.handled = 0  # events run so far, and events being run (run_until_idle counts them)
        self.running = 0
        self._ids = itertools.count(1)

    async def declare(self, broker: RabbitBroker, exchange: RabbitExchange, prefix: str, service: str) -> None:
        """Subscribe before `broker.start()` (which declares the queue and binds its first pattern)."""
        first, *_ = self.follower.patterns
        self.queue = broadcast_queue(prefix, service, first)
        subscriber = broker.subscriber(
            self.queue, exchange, channel=Channel(prefetch_count=BROADCAST_PREFETCH), ack_policy=AckPolicy.ACK,
            no_reply=True, include_in_schema=False, decoder=undecoded,
        )
        subscriber(self._on_message)

    async def bind_the_rest(self, broker: RabbitBroker, exchange: RabbitExchange) -> None:
        """Bind the other patterns once the queue exists (FastStream binds one routing key per
        queue; the others through aio-pika on FastStream's channel)."""
        channel = broker._channel
        assert channel is not None and self.queue is not None, "start the broker first"
        queue = await channel.get_queue(self.queue.name, ensure=False)
        for pattern in self.follower.patterns[1:]:
            await queue.bind(exchange.name, pattern)

    async def _on_message(self, message: RabbitMessage) -> None:
        try:
            envelope = _decoder.decode(message.body)
        except msgspec.MsgspecError as exc:
            log.error("broadcast message is not a Buildify envelope; dropped", error=str(exc))
            return
        self.running += 1
        try:
            claimed = claimed_from(envelope, delivery_id=next(self._ids), subscription_id=0, attempt=1)
            await self.follower.deliver(claimed)
        finally:
            self.running -= 1
            self.handled += 1
