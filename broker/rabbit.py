"""The RabbitMQ fan-out transport (DESIGN, the event bus, point 7): `BusSettings(transport="rabbitmq")`.

Publishing does not change: events go through the Postgres outbox and the relay writes the
`events` log. Three pieces move them over RabbitMQ, all built on the ordinary `Worker` and on
FastStream's `RabbitBroker` (declarations, subscribers with a manual ack policy, confirmed
publishes); aio-pika is reached only through FastStream's own connection and channel
(docs/architecture.md, "On FastStream"):

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
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from uuid import UUID

import asyncpg
import msgspec
import structlog
from faststream import AckPolicy
from faststream.rabbit import Channel, ExchangeType, RabbitBroker, RabbitExchange, RabbitMessage, RabbitQueue

from broker import metrics, schema
from broker.delivery import ClaimedDelivery, Delivery
from broker.errors import BrokerError
from broker.patterns import matches, to_regex, validate_pattern
from broker.postgres import PostgresStore
from broker.retry import RetryPolicy
from broker.router import Handler
from broker.store import SubscriptionRef
from broker.wakeup import Wakeup
from broker.webhooks import ADD as ADD_SUBSCRIPTION
from broker.worker import Bound, Worker, run_worker
from contracts.envelope import Envelope, Event

if TYPE_CHECKING:
    from broker.bus import EventBus

log = structlog.get_logger("broker.rabbit")

FORWARD_NAME = "rabbitmq.forward"
FORWARD_MODULE = "rabbitmq"
# The forwarder never gives up on an event (a dead letter nobody sees would be a silent loss):
# attempts are unbounded (the column's largest value), the backoff is capped, and past
# FORWARD_ALERT_AFTER failed attempts of one event the bus reports itself degraded.
FOREVER = 2**31 - 1
FORWARD_RETRY = RetryPolicy(max_attempts=FOREVER, initial_delay=0.5, max_delay=30.0)
FORWARD_ALERT_AFTER = 5
BRIDGE_RETRY = FORWARD_RETRY
FAILING_FORGET = 3 * FORWARD_RETRY.max_delay  # a failing event is retried at least this often
PUBLISH_TIMEOUT = 10.0
CONNECT_BACKOFF_MAX = 30.0
ATTEMPT_HEADER = "x-buildify-attempt"
MESSAGE_PRIORITY = 5

# Hand-over in one transaction, after the queues are bound: every relay statement sees either
# the service's subscriptions active (deliveries in Postgres, moved into the queues by the
# bridge) or the forwarder active and the queues recorded (events reach the bound queues).
DEACTIVATE = """
UPDATE event_subscriptions SET is_active = false, updated_at = now() WHERE id = ANY($1::bigint[]) AND is_active
"""

RECORD_BINDINGS = """
INSERT INTO bus_rabbit_bindings (prefix, subscription, event_pattern, pattern_regex)
SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[])
ON CONFLICT (prefix, subscription) DO UPDATE SET event_pattern = EXCLUDED.event_pattern,
    pattern_regex = EXCLUDED.pattern_regex, bound_at = now()
"""

HANDED_OVER = """
SELECT s.name FROM event_subscriptions s JOIN bus_rabbit_bindings b ON b.subscription = s.name AND b.prefix = $2
WHERE s.name = ANY($1::text[]) AND b.event_pattern = s.event_pattern
"""

BOUND_PATTERNS = "SELECT event_pattern FROM bus_rabbit_bindings WHERE prefix = $1"
BINDINGS_TTL = 1.0  # seconds the forwarder reuses the list of bound patterns

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


def topic_exchange(prefix: str) -> RabbitExchange:
    """The durable topic exchange every event is published to (routing key = event type)."""
    return RabbitExchange(exchange_name(prefix), type=ExchangeType.TOPIC, durable=True)


def main_queue(prefix: str, subscription: str, pattern: str) -> RabbitQueue:
    """A subscription's queue, bound to the exchange with its pattern when its subscriber starts."""
    main, _, _ = queue_names(prefix, subscription)
    return RabbitQueue(main, durable=True, routing_key=pattern, arguments={"x-max-priority": 10})


def side_queues(prefix: str, subscription: str) -> tuple[RabbitQueue, RabbitQueue]:
    """The retry queue (no consumer: a message waits out its TTL, then dead-letters back into the
    main queue) and the dead-letter queue; FastStream declares only queues it consumes."""
    main, retry, dead = queue_names(prefix, subscription)
    return (
        RabbitQueue(retry, durable=True, arguments={"x-dead-letter-exchange": "", "x-dead-letter-routing-key": main}),
        RabbitQueue(dead, durable=True),
    )


async def publish_confirmed(
    broker: RabbitBroker,
    body: bytes,
    *,
    exchange: RabbitExchange | None,
    routing_key: str,
    message_id: str | None,
    message_type: str | None,
    headers: dict[str, Any],
    priority: int | None = MESSAGE_PRIORITY,
    content_type: str | None = "application/json",
    expiration: float | None = None,
) -> bool:
    """Publish persistent and mandatory, await the confirm; whether a queue took the message.

    FastStream hands back aio-pika's confirmation frame: `Basic.Ack`, or for a message RabbitMQ
    returned (mandatory, unroutable) the returned message, which carries `delivery` (Basic.Return).
    """
    async with asyncio.timeout(PUBLISH_TIMEOUT):  # a reconnecting channel may wait, not hang
        result = await broker.publish(
            body, exchange=exchange, routing_key=routing_key, mandatory=True, persist=True,
            priority=priority, message_id=message_id, message_type=message_type, headers=headers,
            content_type=content_type, expiration=expiration, timeout=PUBLISH_TIMEOUT,
        )
    return not _returned(result)


class Unroutable(BrokerError):
    """RabbitMQ returned the message: no queue is bound for it."""


async def hand_over(pool: asyncpg.Pool, prefix: str, refs: Sequence[SubscriptionRef], patterns: Sequence[str]) -> None:
    """Switch subscriptions to their (already bound) queues: record the bindings, make sure the
    forwarder's subscription exists and mark the service's subscriptions inactive, atomically."""
    async with pool.acquire() as conn, conn.transaction():
        await _add_forward_subscription(conn)
        if refs:
            await conn.execute(
                RECORD_BINDINGS, prefix, [ref.name for ref in refs], list(patterns), [to_regex(p) for p in patterns]
            )
            await conn.execute(DEACTIVATE, [ref.id for ref in refs])


async def keep_handed_over(pool: asyncpg.Pool, prefix: str, refs: Sequence[SubscriptionRef]) -> None:
    """After a restart re-activated them, switch back off the subscriptions whose queues were bound
    before (with the same pattern): their durable queues still take every forwarded event, so
    leaving them active until RabbitMQ answers would deliver events twice."""
    if not refs:
        return
    async with pool.acquire() as conn:
        await schema.install_rabbit(conn)
        names = {r["name"] for r in await conn.fetch(HANDED_OVER, [ref.name for ref in refs], prefix)}
        bound = [ref.id for ref in refs if ref.name in names]
        if bound:
            await conn.execute(DEACTIVATE, bound)


async def _add_forward_subscription(conn: Any) -> int:
    sub_id: int = await conn.fetchval(
        ADD_SUBSCRIPTION, FORWARD_NAME, FORWARD_MODULE, "#", to_regex("#"), MESSAGE_PRIORITY, False,
        None, None, FORWARD_RETRY.max_attempts, int(FORWARD_RETRY.initial_delay * 1000),
        int(FORWARD_RETRY.max_delay * 1000),
    )
    return sub_id


async def add_forward_subscription(pool: asyncpg.Pool) -> SubscriptionRef:
    """Create (or re-activate) the `rabbitmq.forward` subscription: every event, once."""
    async with pool.acquire() as conn:
        sub_id = await _add_forward_subscription(conn)
    return SubscriptionRef(id=sub_id, name=FORWARD_NAME, priority=MESSAGE_PRIORITY)


def _returned(result: object) -> bool:
    """Whether a confirmed publish came back returned (mandatory and unroutable), or unconfirmed."""
    return result is None or hasattr(result, "delivery")


def _publisher(
    broker: RabbitBroker, exchange: RabbitExchange | None, routing_key: Callable[[Envelope], str]
) -> Callable[[Envelope], Awaitable[bool]]:
    """Publish an envelope with confirms and mandatory=True; the result says whether a queue took it."""

    async def publish(envelope: Envelope) -> bool:
        return await publish_confirmed(
            broker, msgspec.json.encode(envelope), exchange=exchange, routing_key=routing_key(envelope),
            message_id=str(envelope.id), message_type=envelope.type, headers={ATTEMPT_HEADER: 0},
        )

    return publish


async def _undecoded(message: RabbitMessage) -> RabbitMessage:
    """FastStream's decoder for our subscribers: hand the handler the message itself (its body is
    decoded once, as an envelope, by the handler)."""
    return message


def _to(queue: str) -> Callable[[Envelope], str]:
    return lambda _envelope: queue


def _envelope_handler(
    name: str, func: Callable[[Envelope, Delivery], Awaitable[None]], retry: RetryPolicy
) -> Handler:
    return Handler(name=name, pattern="#", func=func, decode_type=Envelope, retry=retry, wants_context=True)


class MessageStore:
    """A `Store` whose deliveries are RabbitMQ messages, so `Worker` handles them unchanged.

    Publishing and the inbox go to the bus's Postgres store; settling acts on the message.
    """

    def __init__(self, store: PostgresStore, broker: RabbitBroker, prefix: str) -> None:
        self.store = store
        self.broker = broker
        self.prefix = prefix
        self.pending: deque[ClaimedDelivery] = deque()
        self.held: dict[int, tuple[ClaimedDelivery, RabbitMessage, str]] = {}
        self.priorities: dict[int, int] = {}
        self._ids = itertools.count(1)
        self.claimed = 0  # messages handed to the worker so far (run_until_idle counts them)
        self.retries_out = 0  # messages sent to a retry queue, and those back from one:
        self.retries_back = 0  # run_until_idle waits for every retry to come back

    def received(self, message: RabbitMessage, ref: SubscriptionRef, envelope: Envelope) -> None:
        attempts = message.headers.get(ATTEMPT_HEADER, 0)
        if isinstance(attempts, int) and attempts > 0:
            self.retries_back += 1
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
        """The received messages, highest subscription priority first, oldest first within one."""
        self.claimed += min(limit, len(self.pending))
        if len(self.pending) <= limit:
            batch = list(self.pending)
            self.pending.clear()
            batch.sort(key=lambda c: -self.priorities.get(c.subscription_id, 0))  # stable: oldest first
            return batch
        ranked = sorted(self.pending, key=lambda c: -self.priorities.get(c.subscription_id, 0))
        batch, rest = ranked[:limit], {c.delivery_id for c in ranked[limit:]}
        self.pending = deque(c for c in self.pending if c.delivery_id in rest)
        return batch

    async def complete(self, claims: Sequence[ClaimedDelivery]) -> None:
        stale = 0
        for claim in claims:
            _, message, _ = self.held.pop(claim.delivery_id)
            try:
                await message.ack()
            except Exception:  # received on a channel since closed: RabbitMQ redelivers it (inbox dedupes)
                stale += 1
        if stale:  # not an error of this batch: raising would skip settling its failures
            log.info("acknowledgements lost with a closed channel; those messages come back", messages=stale)

    async def retry(self, claim: ClaimedDelivery, delay: float, error: str) -> None:
        claimed, message, name = self.held.pop(claim.delivery_id)
        _, retry_queue, _ = queue_names(self.prefix, name)
        await self._republish(message, retry_queue, {ATTEMPT_HEADER: claimed.attempt, "x-buildify-error": error[:1000]},
                              expiration=max(0.0, delay))
        self.retries_out += 1
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
        self, message: RabbitMessage, queue: str, headers: dict[str, Any], expiration: float | None = None
    ) -> None:
        raw = message.raw_message
        if not await publish_confirmed(
            self.broker, message.body, exchange=None, routing_key=queue, message_id=message.message_id,
            message_type=raw.type, headers=headers, priority=raw.priority, content_type=message.content_type,
            expiration=expiration,
        ):
            raise Unroutable(f"queue {queue} does not exist: the message stays unacknowledged and comes back")


class RabbitTransport:
    """Runs the forwarder, the consumers and the bridge of one bus (see the module docstring).

    RabbitMQ being away never stops the service: `start` returns at once with a supervisor task
    that connects (retrying with a capped backoff), binds the queues, hands the subscriptions
    over and then runs the three pieces; until then events wait in Postgres.
    """

    def __init__(self, bus: "EventBus", *, run_workers: bool = True) -> None:
        settings = bus.settings
        if not settings.amqp_url:
            raise BrokerError("BUS_TRANSPORT=rabbitmq needs BUS_AMQP_URL (amqp://user:password@host:5672/)")
        store = bus.store
        if not isinstance(store, PostgresStore):
            raise BrokerError("the RabbitMQ transport runs on the Postgres bus (it needs the events log)")
        self.bus = bus
        self.run_workers = run_workers  # False: run_until_idle drives the workers below (tests)
        self.forwarding: list[Worker] = []  # the forwarder and the bridge: Postgres deliveries
        self.consumer: Worker | None = None
        self.messages: MessageStore | None = None
        self.store = store
        self.settings = settings
        self.prefix = settings.amqp_prefix
        self.broker: RabbitBroker | None = None
        self.ready = asyncio.Event()
        self.last_error: str | None = None
        # Events the forwarder failed to publish: id -> (attempt, when). An entry leaves when the
        # event goes through, or when it has not failed again for FAILING_FORGET seconds (another
        # relay process forwarded it), so one stuck event type keeps the alarm up on its own.
        self._failing: dict[UUID, tuple[int, float]] = {}
        self.reconnects = 0  # times the robust connection came back after a loss
        self._bound: tuple[float, list[str]] = (-BINDINGS_TTL - 1, [])
        metrics.rabbitmq_connected.labels(bus.service).set(0)

    # -- health ------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        broker = self.broker
        # FastStream's robust connection (aio-pika's): its `connected` flag drops while it reconnects
        connection = broker._connection if broker is not None else None
        return self.ready.is_set() and connection is not None and connection.connected.is_set()

    @property
    def forward_failing_attempt(self) -> int:
        """The highest attempt number among events the forwarder keeps failing (0: none)."""
        now = time.monotonic()
        for event_id, (_, when) in list(self._failing.items()):
            if now - when > FAILING_FORGET:
                del self._failing[event_id]
        return max((attempt for attempt, _ in self._failing.values()), default=0)

    @property
    def forward_stalled(self) -> bool:
        return self.forward_failing_attempt >= FORWARD_ALERT_AFTER

    def problems(self) -> list[str]:
        """What an operator should know, empty when the transport works."""
        found = []
        if not self.connected:
            found.append(f"RabbitMQ not connected ({self.last_error or 'connecting'}); events wait in Postgres")
        if self.forward_stalled:
            found.append(
                f"forwarding to RabbitMQ keeps failing (attempt {self.forward_failing_attempt}): {self.last_error}"
            )
        return found

    def _reconnected(self) -> None:
        self.reconnects += 1
        metrics.rabbitmq_reconnects.labels(self.bus.service).inc()
        self.refresh_gauges()

    def refresh_gauges(self) -> None:
        """Set the connection and stall gauges from the current state (also called periodically,
        so an alarm for an event another relay forwarded meanwhile clears)."""
        metrics.rabbitmq_connected.labels(self.bus.service).set(1 if self.connected else 0)
        metrics.rabbitmq_forward_stalled.labels(self.bus.service).set(1 if self.forward_stalled else 0)

    # -- running -----------------------------------------------------------------------------

    async def start(self) -> list["asyncio.Task[Any]"]:
        """Return the supervisor task at once; it connects in the background (see the class)."""
        return [asyncio.create_task(self._supervise(), name=f"{self.bus.service}-rabbit")]

    async def _supervise(self) -> None:
        delay = 0.2
        while True:
            tasks: list[asyncio.Task[Any]] = []
            try:
                self.broker = self._broker()
                await self._start(self.broker, tasks)
                self.ready.set()
                self.last_error = None
                self.refresh_gauges()
                log.info("RabbitMQ transport ready", service=self.bus.service, prefix=self.prefix)
                # run until cancelled (robust channels reconnect themselves); with run_workers=False
                # there are no tasks and the connection just stays up
                await asyncio.gather(*tasks) if tasks else await asyncio.Event().wait()
                raise BrokerError("a RabbitMQ transport task ended")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                self.ready.clear()
                self.refresh_gauges()
                log.warning("RabbitMQ transport not running, retrying", error=self.last_error, retry_in=delay)
            finally:
                for task in tasks:
                    task.cancel()
                if tasks:
                    await asyncio.gather(*tasks, return_exceptions=True)
                if not self.ready.is_set():
                    await self.close()
            await asyncio.sleep(delay)
            delay = min(delay * 2, CONNECT_BACKOFF_MAX)

    def _broker(self) -> RabbitBroker:
        """A FastStream broker for one connection attempt: a robust connection named after this
        process (so an operator, or the fault suite, can find it), no per-message log lines."""
        url = self.settings.amqp_url
        name = urlencode({"name": f"buildify {self.bus.worker_id}"})
        return RabbitBroker(
            f"{url}{'&' if '?' in url else '?'}{name}",
            reconnect_interval=1.0,
            logger=None,
            graceful_timeout=None,
            apply_types=False,  # no dependency injection per message: the handler takes the message
            on_close=[lambda *_: self.refresh_gauges()],
            on_reconnected=[lambda *_: self._reconnected()],
        )

    async def _start(self, broker: RabbitBroker, tasks: list["asyncio.Task[Any]"]) -> None:
        """Declare and bind everything, then hand over, then start forwarding and consuming."""
        bus, settings = self.bus, self.settings
        async with self.store.pool.acquire() as conn:
            await schema.install_rabbit(conn)
        await broker.connect()
        exchange = topic_exchange(self.prefix)
        await broker.declare_exchange(exchange)

        def spawn(worker: Worker, name: str, count: int = 1) -> None:
            self.forwarding.append(worker)
            if not self.run_workers:
                return
            doorbell = bus.wake_workers.wakeup()
            for n in range(count):
                tasks.append(asyncio.create_task(
                    run_worker(worker, doorbell, poll_interval=settings.poll_interval), name=f"{bus.service}-{name}-{n}"
                ))

        refs = bus.subscriptions if settings.workers > 0 else []
        by_name = {bus.subscription_name(h): h for h in bus.handlers}
        patterns = [validate_pattern(by_name[ref.name].pattern) for ref in refs]
        bridge = []
        self.forwarding, self.consumer = [], None
        self.messages = messages = MessageStore(self.store, broker, self.prefix)
        arrived = Wakeup()
        consuming = Channel(prefetch_count=settings.amqp_prefetch)  # one channel, one prefetch for all queues
        for ref, pattern in zip(refs, patterns, strict=True):
            queue = main_queue(self.prefix, ref.name, pattern)
            for side in side_queues(self.prefix, ref.name):
                await broker.declare_queue(side)
            # Acknowledgement is the MessageStore's (after the worker settles), hence MANUAL.
            subscriber = broker.subscriber(
                queue, exchange, channel=consuming, ack_policy=AckPolicy.MANUAL, no_reply=True,
                include_in_schema=False, decoder=_undecoded,
            )
            subscriber(self._on_message(messages, ref, arrived.set))
            to_queue = _publisher(broker, None, _to(queue.name))
            handler = _envelope_handler(ref.name, self._bridging(to_queue), BRIDGE_RETRY)
            bridge.append(Bound(ref=ref, handler=handler))
        # Starting the subscribers declares every queue and binds it with its pattern; messages
        # that arrive wait in the MessageStore until the workers below run.
        await broker.start()
        # Only now, with every queue bound, may the relay stop fanning out to these subscriptions.
        await hand_over(self.store.pool, self.prefix, refs, patterns)
        if refs:
            consumer = Worker(
                messages, [Bound(ref=ref, handler=by_name[ref.name]) for ref in refs],
                worker_id=bus.worker_id + ":rabbit", batch_size=settings.worker_batch, upcast=bus.upcast,
            )
            spawn(Worker(self.store, bridge, worker_id=bus.worker_id + ":bridge"), "rabbit-bridge")
            self.consumer = consumer
            for n in range(settings.workers if self.run_workers else 0):
                tasks.append(asyncio.create_task(
                    run_worker(consumer, arrived, poll_interval=settings.poll_interval),
                    name=f"{bus.service}-rabbit-{n}",
                ))
        if settings.relay:
            ref = await add_forward_subscription(self.store.pool)
            bus.mark_served([ref])  # so stats do not call the forwarder unserved
            forward = _publisher(broker, exchange, lambda envelope: envelope.type)
            worker = Worker(
                self.store, [Bound(ref=ref, handler=_envelope_handler(FORWARD_NAME, self._forwarding(forward),
                                                                      FORWARD_RETRY))],
                worker_id=bus.worker_id + ":forward", batch_size=settings.worker_batch,
            )
            spawn(worker, "rabbit-forward")

    async def run_until_idle(self, timeout: float) -> int:
        """Drain the bus as `broker.testing.run_until_idle` does on the other transports (the bus
        started with `run_workers=False`): relay, forward and bridge what is due, wait until
        RabbitMQ has handed this process every ready message, run a consumer batch; until nothing
        moves, no message waits in a queue (retry queues included) and no forwarding is due.
        Returns how many messages the handlers got."""
        relay, consumer, messages, broker = self.bus.relay, self.consumer, self.messages, self.broker
        assert relay is not None and messages is not None and broker is not None, "the transport is not ready"
        deadline = time.monotonic() + timeout
        started, quiet = messages.claimed, 0
        while quiet < 2:  # idle twice in a row: a delivery in flight to us shows up in between
            if time.monotonic() >= deadline:
                raise TimeoutError(f"the RabbitMQ bus of {self.bus.service} was still busy after {timeout} s")
            moved = await relay.run_once()
            for worker in self.forwarding:
                moved += await worker.run_once()
            arriving, retrying = await self._ready_messages(broker)
            waiting = arriving + retrying + max(0, messages.retries_out - messages.retries_back)
            # Consume once RabbitMQ has pushed us every ready message (or the prefetch is full), so
            # a batch ranks all that arrived by priority, as a Postgres claim would.
            if consumer is not None and messages.pending and (
                not arriving or len(messages.held) >= self.settings.amqp_prefetch
            ):
                moved += await consumer.run_once()
            due = [b.ref for worker in self.forwarding for b in worker.bound.values()]
            if moved or messages.pending:
                quiet = 0
            elif waiting or (due and await self.store.seconds_until_due(due) is not None):
                quiet = 0
                await asyncio.sleep(0.005)  # a retry's TTL or backoff running out
            else:
                quiet += 1
        return messages.claimed - started

    async def _ready_messages(self, broker: RabbitBroker) -> tuple[int, int]:
        """Messages ready in this service's main queues and in its retry queues (a passive
        declare on FastStream's channel: FastStream has no call for a queue's depth)."""
        channel = broker._channel
        assert channel is not None
        counts = [0, 0]
        for ref in self.bus.subscriptions:
            for n, name in enumerate(queue_names(self.prefix, ref.name)[:2]):
                declared = await channel.declare_queue(name, passive=True, robust=False)
                counts[n] += declared.declaration_result.message_count or 0
        return counts[0], counts[1]

    def _bridging(
        self, publish: Callable[[Envelope], Awaitable[bool]]
    ) -> Callable[[Envelope, Delivery], Awaitable[None]]:
        async def bridge(envelope: Envelope, _ctx: Delivery) -> None:
            if not await publish(envelope):
                raise Unroutable(f"the queue for {envelope.type} is gone; the delivery waits in Postgres")

        return bridge

    def _forwarding(
        self, publish: Callable[[Envelope], Awaitable[bool]]
    ) -> Callable[[Envelope, Delivery], Awaitable[None]]:
        """The forwarder's handler: publish, count and report failures, never give up."""

        async def forward(envelope: Envelope, ctx: Delivery) -> None:
            try:
                if not await publish(envelope) and await self._expected(envelope.type):
                    raise Unroutable(
                        f"RabbitMQ returned {envelope.type}: a subscription consumes it over RabbitMQ "
                        "but no queue of theirs is bound"
                    )
            except Exception as exc:
                metrics.rabbitmq_forward_failures.labels(self.bus.service).inc()
                self.last_error = f"{type(exc).__name__}: {exc}"
                self._failing[envelope.id] = (ctx.attempt, time.monotonic())
                if ctx.attempt >= FORWARD_ALERT_AFTER:
                    log.error("forwarding to RabbitMQ keeps failing; events wait in Postgres",
                              attempt=ctx.attempt, error=self.last_error, event_type=envelope.type)
                self.refresh_gauges()
                raise
            if self._failing.pop(envelope.id, None) is not None:
                self.refresh_gauges()

        return forward

    async def _expected(self, event_type: str) -> bool:
        """Whether a queue should have taken a returned event (else nobody consumes it over RabbitMQ).

        The bound patterns are cached briefly: returns are routine where only some services
        consume over RabbitMQ. A stale list is safe, since a subscription is recorded only after
        its queue is bound, and an event fanned out before that also has its Postgres delivery.
        """
        fetched_at, patterns = self._bound
        if time.monotonic() - fetched_at > BINDINGS_TTL:
            async with self.store.pool.acquire() as conn:
                patterns = [row["event_pattern"] for row in await conn.fetch(BOUND_PATTERNS, self.prefix)]
            self._bound = (time.monotonic(), patterns)
        return any(matches(pattern, event_type) for pattern in patterns)

    def _on_message(
        self, messages: MessageStore, ref: SubscriptionRef, ring: Callable[[], None]
    ) -> Callable[[RabbitMessage], Awaitable[None]]:
        async def on_message(message: RabbitMessage) -> None:
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
        self.ready.clear()
        broker, self.broker = self.broker, None
        if broker is not None:
            try:
                await asyncio.wait_for(broker.stop(), 5)
            except Exception as exc:
                log.warning("closing the RabbitMQ connection failed", error=str(exc))


async def delete_topology(url: str, prefix: str, subscriptions: Sequence[str]) -> None:
    """Delete the exchange and the queues of `subscriptions` (tests; retiring a prefix)."""
    broker = RabbitBroker(url, logger=None)
    try:
        await broker.connect()
        channel = broker._channel  # deleting has no FastStream call: aio-pika, on FastStream's channel
        assert channel is not None
        for name in subscriptions:
            for queue in queue_names(prefix, name):
                await channel.queue_delete(queue)
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


__all__ = [
    "FORWARD_NAME",
    "MessageStore",
    "RabbitTransport",
    "add_forward_subscription",
    "delete_topology",
    "exchange_name",
    "hand_over",
    "keep_handed_over",
    "queue_depth",
    "queue_names",
]
