"""The RabbitMQ fan-out transport (DESIGN, the event bus, point 7): `BusSettings(transport="rabbitmq")`.

Publishing does not change: events go through the Postgres outbox and the relay writes the
`events` log. Three pieces move them over RabbitMQ, all built on the ordinary `Worker`:

- **Forwarder** (in a process that runs the relay): a built-in subscription `rabbitmq.forward`
  (pattern `#`) whose handler publishes the envelope, with publisher confirms, to the durable
  topic exchange `<prefix>.events`, routing key = event type. It is an ordinary Postgres
  delivery, so forwarding is at-least-once with the bus's retries and dead letters.
- **Consumer**: per subscription of the service, a durable queue `<prefix>.<subscription>`
  bound with the subscription's pattern (AMQP topic rules, as in broker/patterns.py),
  `<prefix>.<subscription>.retry` (no consumer: a retried message waits out its per-message
  TTL there, then dead-letters back into the main queue) and `<prefix>.<subscription>.dead`.
  Messages are handed to a `Worker` through `MessageStore`, a `Store` whose claims are the
  received messages and whose complete / retry / dead_letter ack, republish to `.retry` or
  `.dead` (dead letters are also recorded in `event_dead_letters`). Decoding, Retry/Reject,
  timeouts and the retry policy are the worker's; the attempt travels in a message header.
- **Bridge**: the service's own subscriptions are kept `is_active = false` in Postgres, so the
  relay fans nothing out to them (no double handling). Deliveries that still appear for them
  (a backlog from before the switch, `dlq redrive`) are moved into their queue by a worker.
"""

import asyncio
import itertools
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any
from uuid import UUID

import aio_pika
import asyncpg
import msgspec
import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractExchange,
    AbstractIncomingMessage,
    AbstractRobustConnection,
)

from broker.delivery import ClaimedDelivery
from broker.errors import BrokerError, BusUnavailable
from broker.patterns import to_regex, validate_pattern
from broker.postgres import PostgresStore
from broker.retry import RetryPolicy
from broker.router import Handler
from broker.signals import Doorbell
from broker.store import SubscriptionRef
from broker.webhooks import ADD as ADD_SUBSCRIPTION
from broker.worker import Bound, Worker, run_worker
from contracts.envelope import Envelope, Event

if TYPE_CHECKING:
    from broker.bus import EventBus

log = structlog.get_logger("broker.rabbit")

FORWARD_NAME = "rabbitmq.forward"
FORWARD_MODULE = "rabbitmq"
FORWARD_RETRY = RetryPolicy(max_attempts=20, initial_delay=1.0, max_delay=60.0)
ATTEMPT_HEADER = "x-buildify-attempt"
MESSAGE_PRIORITY = 5

DEACTIVATE = """
UPDATE event_subscriptions SET is_active = false, updated_at = now() WHERE id = ANY($1::bigint[]) AND is_active
"""

DEAD_LETTER = """
INSERT INTO event_dead_letters (delivery_id, subscription_id, event_id, attempts, reason, error, traceback)
VALUES (NULL, $1, $2, $3, $4, $5, $6)
"""

_envelope_decoder = msgspec.json.Decoder(Envelope)


def exchange_name(prefix: str) -> str:
    return f"{prefix}.events"


def queue_names(prefix: str, subscription: str) -> tuple[str, str, str]:
    """The main, retry and dead-letter queues of a subscription."""
    main = f"{prefix}.{subscription}"
    return main, f"{main}.retry", f"{main}.dead"


def envelope_message(body: bytes, envelope: Envelope, attempt: int = 0) -> aio_pika.Message:
    return aio_pika.Message(
        body,
        content_type="application/json",
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        priority=MESSAGE_PRIORITY,
        message_id=str(envelope.id),
        type=envelope.type,
        headers={ATTEMPT_HEADER: attempt},
    )


async def hand_over(pool: asyncpg.Pool, refs: Sequence[SubscriptionRef]) -> None:
    """Mark subscriptions consumed over RabbitMQ inactive, so the relay fans nothing out to them."""
    if refs:
        async with pool.acquire() as conn:
            await conn.execute(DEACTIVATE, [ref.id for ref in refs])


async def add_forward_subscription(pool: asyncpg.Pool) -> SubscriptionRef:
    """Create (or re-activate) the `rabbitmq.forward` subscription: every event, once."""
    async with pool.acquire() as conn:
        sub_id: int = await conn.fetchval(
            ADD_SUBSCRIPTION, FORWARD_NAME, FORWARD_MODULE, "#", to_regex("#"), MESSAGE_PRIORITY, False,
            None, None, FORWARD_RETRY.max_attempts, int(FORWARD_RETRY.initial_delay * 1000),
            int(FORWARD_RETRY.max_delay * 1000),
        )
    return SubscriptionRef(id=sub_id, name=FORWARD_NAME, priority=MESSAGE_PRIORITY)


def _publisher(
    exchange: AbstractExchange, routing_key: Callable[[Envelope], str]
) -> Callable[[Envelope], Awaitable[None]]:
    async def publish(envelope: Envelope) -> None:
        message = envelope_message(msgspec.json.encode(envelope), envelope)
        await exchange.publish(message, routing_key(envelope), mandatory=False)  # awaits the confirm

    return publish


def _to(queue: str) -> Callable[[Envelope], str]:
    return lambda _envelope: queue


def _envelope_handler(name: str, func: Callable[[Envelope], Awaitable[None]], retry: RetryPolicy) -> Handler:
    return Handler(name=name, pattern="#", func=func, decode_type=Envelope, retry=retry, wants_context=False)


class MessageStore:
    """A `Store` whose deliveries are RabbitMQ messages, so `Worker` handles them unchanged.

    Publishing and the inbox go to the bus's Postgres store; settling acts on the message.
    """

    def __init__(self, store: PostgresStore, channel: AbstractChannel, prefix: str) -> None:
        self.store = store
        self.channel = channel
        self.prefix = prefix
        self.pending: deque[ClaimedDelivery] = deque()
        self.held: dict[int, tuple[ClaimedDelivery, AbstractIncomingMessage, str]] = {}
        self.priorities: dict[int, int] = {}
        self._ids = itertools.count(1)

    def received(self, message: AbstractIncomingMessage, ref: SubscriptionRef, envelope: Envelope) -> None:
        attempts = message.headers.get(ATTEMPT_HEADER, 0)
        claimed = ClaimedDelivery(
            delivery_id=next(self._ids),
            subscription_id=ref.id,
            attempt=(attempts if isinstance(attempts, int) else 0) + 1,
            event_id=envelope.id,
            event_type=envelope.type,
            source=envelope.source,
            tenant_id=envelope.tenant_id,
            company_id=envelope.company_id,
            ordering_key=envelope.ordering_key,
            occurred_at=envelope.occurred_at,
            correlation_id=envelope.correlation_id,
            causation_id=envelope.causation_id,
            version=envelope.version,
            payload=bytes(envelope.payload).decode(),
        )
        self.held[claimed.delivery_id] = (claimed, message, ref.name)
        self.priorities[ref.id] = ref.priority
        self.pending.append(claimed)

    # -- what the worker calls ----------------------------------------------------------------

    async def publish(
        self,
        conn: Any,
        events: Sequence[Event],
        *,
        tenant_id: UUID | None,
        company_id: UUID | None,
        ordering_key: str | None,
        correlation_id: UUID | None,
        causation_id: UUID | None,
    ) -> list[UUID]:
        return await self.store.publish(
            conn, events, tenant_id=tenant_id, company_id=company_id, ordering_key=ordering_key,
            correlation_id=correlation_id, causation_id=causation_id,
        )

    def inbox_transaction(self, subscription: str, event_id: UUID) -> AbstractAsyncContextManager[Any]:
        return self.store.inbox_transaction(subscription, event_id)

    async def sync_subscriptions(self, module: str, handlers: Sequence[Handler]) -> list[SubscriptionRef]:
        raise BrokerError("subscriptions are synced by the bus, not by the RabbitMQ consumer")

    async def relay_batch(self, limit: int) -> int:
        return 0

    async def claim(
        self, subscriptions: Sequence[SubscriptionRef], limit: int, lease: float, worker_id: str
    ) -> list[ClaimedDelivery]:
        batch = [self.pending.popleft() for _ in range(min(limit, len(self.pending)))]
        batch.sort(key=lambda c: -self.priorities.get(c.subscription_id, 0))
        return batch

    async def complete(self, claims: Sequence[ClaimedDelivery]) -> None:
        for claim in claims:
            _, message, _ = self.held.pop(claim.delivery_id)
            await message.ack()

    async def retry(self, claim: ClaimedDelivery, delay: float, error: str) -> None:
        claimed, message, name = self.held.pop(claim.delivery_id)
        _, retry_queue, _ = queue_names(self.prefix, name)
        await self._republish(message, retry_queue, {ATTEMPT_HEADER: claimed.attempt, "x-buildify-error": error[:1000]},
                              expiration=max(0.0, delay))
        await message.ack()

    async def dead_letter(self, claim: ClaimedDelivery, reason: str, error: str, traceback: str) -> None:
        claimed, message, name = self.held.pop(claim.delivery_id)
        _, _, dead_queue = queue_names(self.prefix, name)
        headers = {ATTEMPT_HEADER: claimed.attempt, "x-buildify-reason": reason[:1000],
                   "x-buildify-error": error[:1000]}
        await self._republish(message, dead_queue, headers)
        async with self.store.pool.acquire() as conn:
            await conn.execute(DEAD_LETTER, claimed.subscription_id, claimed.event_id, claimed.attempt,
                               reason, error, traceback)
        await message.ack()

    async def extend_leases(self, claims: Sequence[ClaimedDelivery], lease: float) -> list[int]:
        # an unacknowledged message stays with its consumer until the channel closes
        return [claim.delivery_id for claim in claims]

    async def seconds_until_due(self, subscriptions: Sequence[SubscriptionRef]) -> float | None:
        return None

    async def _republish(
        self, message: AbstractIncomingMessage, queue: str, headers: dict[str, Any], expiration: float | None = None
    ) -> None:
        copy = aio_pika.Message(
            message.body,
            content_type=message.content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            priority=message.priority,
            message_id=message.message_id,
            type=message.type,
            headers=headers,
            expiration=expiration,
        )
        await self.channel.default_exchange.publish(copy, queue, mandatory=False)


class RabbitTransport:
    """Runs the forwarder, the consumers and the bridge of one bus (see the module docstring)."""

    def __init__(self, bus: "EventBus") -> None:
        settings = bus.settings
        if not settings.amqp_url:
            raise BrokerError("BUS_TRANSPORT=rabbitmq needs BUS_AMQP_URL (amqp://user:password@host:5672/)")
        store = bus.store
        if not isinstance(store, PostgresStore):
            raise BrokerError("the RabbitMQ transport runs on the Postgres bus (it needs the events log)")
        self.bus = bus
        self.store = store
        self.settings = settings
        self.prefix = settings.amqp_prefix
        self.connection: AbstractRobustConnection | None = None

    async def start(self) -> list["asyncio.Task[Any]"]:
        """Connect, declare the topology and return the tasks that run the three pieces."""
        tasks: list[asyncio.Task[Any]] = []
        try:
            await self._start(tasks)
        except BaseException:
            for task in tasks:
                task.cancel()
            await self.close()
            raise
        return tasks

    async def _start(self, tasks: list["asyncio.Task[Any]"]) -> None:
        bus, settings = self.bus, self.settings
        try:
            self.connection = await aio_pika.connect_robust(settings.amqp_url)
        except OSError as exc:
            raise BusUnavailable(f"cannot reach RabbitMQ (BUS_AMQP_URL): {exc}") from exc
        publishing = await self.connection.channel(publisher_confirms=True)
        exchange = await publishing.declare_exchange(
            exchange_name(self.prefix), aio_pika.ExchangeType.TOPIC, durable=True
        )

        def spawn(worker: Worker, name: str, count: int = 1) -> None:
            doorbell = bus.delivery_signal.doorbell()
            for n in range(count):
                tasks.append(asyncio.create_task(
                    run_worker(worker, doorbell, poll_interval=settings.poll_interval), name=f"{bus.service}-{name}-{n}"
                ))

        refs = bus.subscriptions
        if refs and settings.workers > 0:
            by_name = {bus.subscription_name(h): h for h in bus.handlers}
            consuming = await self.connection.channel(publisher_confirms=True)
            await consuming.set_qos(prefetch_count=settings.amqp_prefetch)
            messages = MessageStore(self.store, consuming, self.prefix)
            consumer = Worker(
                messages, [Bound(ref=ref, handler=by_name[ref.name]) for ref in refs],
                worker_id=bus.worker_id + ":rabbit", batch_size=settings.worker_batch, upcast=bus.upcast,
            )
            arrived = Doorbell()
            bridge = []
            for ref in refs:
                main, retry_queue, dead = queue_names(self.prefix, ref.name)
                queue = await consuming.declare_queue(main, durable=True, arguments={"x-max-priority": 10})
                await queue.bind(exchange, routing_key=validate_pattern(by_name[ref.name].pattern))
                await consuming.declare_queue(retry_queue, durable=True, arguments={
                    "x-dead-letter-exchange": "", "x-dead-letter-routing-key": main,
                })
                await consuming.declare_queue(dead, durable=True)
                await queue.consume(self._on_message(messages, ref, arrived.set), no_ack=False)
                to_queue = _publisher(publishing.default_exchange, _to(main))
                bridge.append(Bound(ref=ref, handler=_envelope_handler(ref.name, to_queue, FORWARD_RETRY)))
            spawn(Worker(self.store, bridge, worker_id=bus.worker_id + ":bridge"), "rabbit-bridge")
            for n in range(settings.workers):
                tasks.append(asyncio.create_task(
                    run_worker(consumer, arrived, poll_interval=settings.poll_interval),
                    name=f"{bus.service}-rabbit-{n}",
                ))
        if settings.relay:
            ref = await add_forward_subscription(self.store.pool)
            bus.mark_served([ref])  # so stats do not call the forwarder unserved
            forward = _publisher(exchange, lambda envelope: envelope.type)
            worker = Worker(
                self.store, [Bound(ref=ref, handler=_envelope_handler(FORWARD_NAME, forward, FORWARD_RETRY))],
                worker_id=bus.worker_id + ":forward", batch_size=settings.worker_batch,
            )
            spawn(worker, "rabbit-forward")

    def _on_message(
        self, messages: MessageStore, ref: SubscriptionRef, ring: Callable[[], None]
    ) -> Callable[[AbstractIncomingMessage], Awaitable[None]]:
        async def on_message(message: AbstractIncomingMessage) -> None:
            try:
                envelope = _envelope_decoder.decode(message.body)
            except msgspec.MsgspecError as exc:
                # Not an envelope at all: nothing to hand a handler, and no event id to record.
                reason = f"message on {ref.name} is not a Buildify envelope: {exc}"
                log.error("message dead-lettered", subscription=ref.name, reason=reason)
                _, _, dead = queue_names(self.prefix, ref.name)
                await messages._republish(message, dead, {"x-buildify-reason": reason[:1000]})
                await message.ack()
                return
            messages.received(message, ref, envelope)
            ring()

        return on_message

    async def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None:
            try:
                await asyncio.wait_for(connection.close(), 5)
            except Exception as exc:
                log.warning("closing the RabbitMQ connection failed", error=str(exc))


async def delete_topology(url: str, prefix: str, subscriptions: Sequence[str]) -> None:
    """Delete the exchange and the queues of `subscriptions` (tests; retiring a prefix)."""
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        for name in subscriptions:
            for queue in queue_names(prefix, name):
                await channel.queue_delete(queue)
        await channel.exchange_delete(exchange_name(prefix))
    finally:
        await connection.close()


async def queue_depth(url: str, queue: str) -> int:
    """Messages ready in `queue` (tests and ops)."""
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        declared = await channel.declare_queue(queue, passive=True)
        return declared.declaration_result.message_count or 0
    finally:
        await connection.close()


__all__ = [
    "FORWARD_NAME",
    "MessageStore",
    "RabbitTransport",
    "add_forward_subscription",
    "delete_topology",
    "exchange_name",
    "hand_over",
    "queue_depth",
    "queue_names",
]
