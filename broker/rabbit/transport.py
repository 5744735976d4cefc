"""The RabbitMQ transport of one bus: connects, declares, hands over, then runs the forwarder,
the consumer and the bridge (the package docstring says what each does)."""

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from uuid import UUID

import msgspec
import structlog
from faststream import AckPolicy
from faststream.rabbit import Channel, RabbitBroker, RabbitMessage

from broker import metrics
from broker.delivery import Delivery
from broker.errors import BrokerError
from broker.handoff import Handoff
from broker.patterns import matches, validate_pattern
from broker.postgres import PostgresStore
from broker.rabbit import handover
from broker.rabbit.broadcast import BroadcastConsumer
from broker.rabbit.deadletters import trim
from broker.rabbit.draining import run_until_idle
from broker.rabbit.forwarder import ForwardAll, Forwarder, one_by_one
from broker.rabbit.handover import BOUND_PATTERNS, FORWARD_NAME, add_forward_subscription, hand_over
from broker.rabbit.housekeeping import remove_retired, unbind_changed
from broker.rabbit.messages import MessageStore, undecoded
from broker.rabbit.publishing import Publish, Unroutable, publisher
from broker.rabbit.topology import dead_queue, main_queue, topic_exchange
from broker.retry import RetryPolicy
from broker.router import Handler
from broker.store import SubscriptionRef
from broker.wakeup import Wakeup
from broker.worker import Bound, Worker, run_worker
from contracts.envelope import Envelope

if TYPE_CHECKING:
    from broker.bus import EventBus

log = structlog.get_logger("broker.rabbit")

FORWARD_ALERT_AFTER = 5  # failed attempts of one event before the bus reports itself degraded
FAILING_FORGET = 3 * handover.FORWARD_RETRY.max_delay  # a failing event is retried at least this often
CONNECT_BACKOFF_MAX = 30.0
BINDINGS_TTL = 1.0  # seconds the forwarder reuses the list of bound patterns
HOUSEKEEPING_INTERVAL = 60.0  # seconds between looks for retired subscriptions' queues

_envelope_decoder = msgspec.json.Decoder(Envelope)


def _to(queue: str) -> Callable[[Envelope], str]:
    return lambda _envelope: queue


def _envelope_handler(
    name: str, func: Callable[[Envelope, Delivery], Awaitable[None]], retry: RetryPolicy
) -> Handler:
    return Handler(name=name, pattern="#", func=func, decode_type=Envelope, retry=retry, wants_context=True)


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
        self.broadcasts: BroadcastConsumer | None = None
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
        await broker.connect()
        exchange = topic_exchange(self.prefix)
        await broker.declare_exchange(exchange)

        def spawn(worker: Worker, name: str, *, woken: bool = True) -> Wakeup | None:
            """Run `worker` (unless the tests drive it); `woken`: on each relayed batch and NOTIFY
            bus_deliveries, else it only polls. Returns the wake-up of its loop."""
            self.forwarding.append(worker)
            if not self.run_workers:
                return None
            doorbell = bus.wake_workers.wakeup() if woken else Wakeup()
            loop = (worker.run(doorbell, poll_interval=settings.poll_interval) if isinstance(worker, Forwarder)
                    else run_worker(worker, doorbell, poll_interval=settings.poll_interval))
            tasks.append(asyncio.create_task(loop, name=f"{bus.service}-{name}"))
            return doorbell

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
            await broker.declare_queue(dead_queue(self.prefix, ref.name))
            # Acknowledgement is the MessageStore's (after the worker settles), hence MANUAL.
            subscriber = broker.subscriber(
                queue, exchange, channel=consuming, ack_policy=AckPolicy.MANUAL, no_reply=True,
                include_in_schema=False, decoder=undecoded,
            )
            subscriber(self._on_message(messages, ref, arrived.set))
            to_queue = publisher(broker, None, _to(queue.name))
            handler = _envelope_handler(ref.name, self._bridging(to_queue), handover.FORWARD_RETRY)
            bridge.append(Bound(ref=ref, handler=handler))
        self.broadcasts = BroadcastConsumer(bus.follower) if bus.follower is not None else None
        if self.broadcasts is not None:
            await self.broadcasts.declare(broker, exchange, self.prefix, bus.service)
        # Starting the subscribers declares every queue and binds it with its pattern; messages
        # that arrive wait in the MessageStore until the workers below run.
        await broker.start()
        if self.broadcasts is not None:
            await self.broadcasts.bind_the_rest(broker, exchange)
        pool = self.store.pool
        await unbind_changed(broker, pool, self.prefix, {ref.name: p for ref, p in zip(refs, patterns, strict=True)})
        await remove_retired(broker, pool, self.prefix)
        if self.run_workers:
            tidy = self._tidy_periodically(broker, [ref.name for ref in refs])
            tasks.append(asyncio.create_task(tidy, name=f"{bus.service}-tidy"))
        # Only now, with every queue bound, may the relay stop fanning out to these subscriptions.
        await hand_over(self.store.pool, self.prefix, refs, patterns)
        if refs:
            consumer = Worker(
                messages, [Bound(ref=ref, handler=by_name[ref.name]) for ref in refs],
                worker_id=bus.worker_id + ":rabbit", batch_size=settings.worker_batch, upcast=bus.upcast,
            )
            # The bridge moves deliveries fanned out in Postgres before the hand-over (and their
            # retries): no new ones come after it, so it polls, and is not woken by every relayed
            # batch (that cost a claim statement per batch, more than the forwarder's own).
            spawn(Worker(self.store, bridge, worker_id=bus.worker_id + ":bridge"), "rabbit-bridge", woken=False)
            self.consumer = consumer
            for n in range(settings.workers if self.run_workers else 0):
                tasks.append(asyncio.create_task(
                    run_worker(consumer, arrived, poll_interval=settings.poll_interval),
                    name=f"{bus.service}-rabbit-{n}",
                ))
        if settings.relay:
            ref = await add_forward_subscription(self.store.pool)
            bus.mark_served([ref])  # so stats do not call the forwarder unserved
            forward = self._forwarding(publisher(broker, exchange, lambda envelope: envelope.type))
            worker = Forwarder(
                self.store, [Bound(ref=ref, handler=_envelope_handler(FORWARD_NAME, one_by_one(forward),
                                                                      handover.FORWARD_RETRY))],
                forward=forward, worker_id=bus.worker_id + ":forward", batch_size=settings.worker_batch,
            )
            doorbell = spawn(worker, "rabbit-forward")
            if doorbell is not None and bus.relay is not None:
                # The relay creates this process's forward deliveries claimed, for the forwarder's
                # one loop: no claim statement between the relay and the publish.
                bus.relay.hand_off_to(Handoff(worker, doorbell, loops=1))

    async def _tidy_periodically(self, broker: RabbitBroker, consumed: list[str]) -> None:
        """Every minute: subscriptions retired meanwhile lose their queues, and the dead-letter
        queues of this process's subscriptions drop what was redriven or purged."""
        gone: set[str] = set()  # retired meanwhile: no queue left to trim (a passive declare would fail)
        while True:
            await asyncio.sleep(HOUSEKEEPING_INTERVAL)
            try:
                gone.update(await remove_retired(broker, self.store.pool, self.prefix))
                for name in consumed:
                    if name not in gone:
                        await trim(broker, self.store.pool, self.prefix, name)
            except Exception as exc:  # RabbitMQ or Postgres away: the next round tries again
                log.warning("RabbitMQ housekeeping failed", error=str(exc))

    async def run_until_idle(self, timeout: float) -> int:
        """Drain the bus (started with `run_workers=False`) as `broker.testing.run_until_idle` does
        on the other transports; returns how many messages the handlers got (broker/rabbit/draining.py)."""
        return await run_until_idle(self, timeout)

    def _bridging(self, publish: Publish) -> Callable[[Envelope, Delivery], Awaitable[None]]:
        async def bridge(envelope: Envelope, _ctx: Delivery) -> None:
            (taken,) = await publish([envelope])
            if isinstance(taken, BaseException):
                raise taken
            if not taken:
                raise Unroutable(f"the queue for {envelope.type} is gone; the delivery waits in Postgres")

        return bridge

    def _forwarding(self, publish: Publish) -> ForwardAll:
        """The forwarder's publishing: a batch in one write; per event, count and report a
        failure (a returned event nobody consumes over RabbitMQ is no failure). Never gives up."""

        async def forward(envelopes: Sequence[Envelope], attempts: Sequence[int]) -> list[BaseException | None]:
            try:
                taken = await publish(envelopes)
            except Exception as exc:  # the batch as a whole (a closed channel, a stuck writer): again, all of it
                taken = [exc] * len(envelopes)
            outcomes: list[BaseException | None] = []
            for envelope, attempt, result in zip(envelopes, attempts, taken, strict=True):
                try:
                    failure = await self._failure(envelope, result)
                except Exception as exc:  # Postgres away while checking a returned event: this one only
                    failure = exc
                if failure is not None:
                    self._failed(envelope, attempt, failure)
                elif self._failing.pop(envelope.id, None) is not None:
                    self.refresh_gauges()
                outcomes.append(failure)
            return outcomes

        return forward

    async def _failure(self, envelope: Envelope, result: bool | BaseException) -> BaseException | None:
        """What went wrong with publishing `envelope`, if anything."""
        if isinstance(result, BaseException):
            return result
        if not result and await self._expected(envelope.type):
            return Unroutable(
                f"RabbitMQ returned {envelope.type}: a subscription consumes it over RabbitMQ "
                "but no queue of theirs is bound"
            )
        return None

    def _failed(self, envelope: Envelope, attempt: int, failure: BaseException) -> None:
        metrics.rabbitmq_forward_failures.labels(self.bus.service).inc()
        self.last_error = f"{type(failure).__name__}: {failure}"
        self._failing[envelope.id] = (attempt, time.monotonic())
        if attempt >= FORWARD_ALERT_AFTER:
            log.error("forwarding to RabbitMQ keeps failing; events wait in Postgres",
                      attempt=attempt, error=self.last_error, event_type=envelope.type)
        self.refresh_gauges()

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
                await messages.not_an_envelope(message, ref.name, reason)
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
