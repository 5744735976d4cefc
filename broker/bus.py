"""The event bus a service holds: publish in a transaction, subscribe with routers.

One object per service, made in its composition root. It owns the connection pools, the
relay, the workers and the LISTEN connection, and starts and stops them with the app.
"""

import asyncio
import contextlib
import os
import socket
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import Any, Unpack
from uuid import UUID

import asyncpg
import structlog

from broker import housekeeping, metrics
from broker.background import BackgroundTasks
from broker.commit_notify import CommitNotifier
from broker.context import EnvelopeFields, PublishFields
from broker.errors import BrokerError
from broker.follower import BroadcastFollower
from broker.handoff import Handoff
from broker.health import BusHealth
from broker.listen import NotifyListener
from broker.postgres import PostgresStore, connect_store, subscription_name
from broker.relay import Relay
from broker.router import Handler, Router
from broker.settings import BusSettings
from broker.store import HandoffStore, LogStore, Store, SubscriptionRef
from broker.wakeup import Wakeups, wait_event
from broker.webhooks import CallbackDispatcher
from broker.worker import Bound, Upcaster, Worker, run_worker
from contracts.envelope import Event

log = structlog.get_logger("broker.bus")


class EventBus:
    """Publishes domain events through the outbox and delivers them to subscribed handlers.

    Args:
        service: the publishing service's name (the envelope's `source`) and the module name
            of its subscriptions.
        dsn: the bus database. Omit it only together with `store` (the in-memory bus).
        outbox_dsn: the service's own database when it is not the bus database.
        settings: how the relay and workers run; `BusSettings.from_env()` in services.
        store: an explicit store (see `broker.testing.memory_bus`).
    """

    def __init__(
        self,
        *,
        service: str,
        dsn: str | None = None,
        outbox_dsn: str | None = None,
        settings: BusSettings | None = None,
        store: Store | None = None,
        upcast: Upcaster | None = None,
    ) -> None:
        if dsn is None and store is None:
            raise BrokerError("EventBus needs a database URL (dsn=...) or a store")
        self.service = service
        self.dsn = dsn
        self.outbox_dsn = outbox_dsn if outbox_dsn and outbox_dsn != dsn else None
        self.settings = settings or BusSettings()
        self.upcast = upcast
        self.handlers: list[Handler] = []
        self.retired: list[str] = []  # subscription names (within the service) declared gone
        # Who wakes whom: publishes and NOTIFY bus_outbox wake the relay; relayed batches and
        # NOTIFY bus_deliveries the worker loops (and callback dispatcher); relayed batches and
        # NOTIFY bus_events the broadcast follower.
        self.wake_relay = Wakeups()
        self.wake_workers = Wakeups()
        self.wake_follower = Wakeups()
        self.worker_id = f"{service}@{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.created_at = time.monotonic()  # housekeeping warns of unserved subscriptions only after a grace
        self._store = store
        self._pools: list[asyncpg.Pool] = []
        self._refs: list[SubscriptionRef] = []
        self._served: list[SubscriptionRef] = []  # served here besides the workers' own (mark_served)
        self._synced = False
        self._tasks = BackgroundTasks(service)
        self.relay: Relay | None = None
        self.worker: Worker | None = None
        self.follower: BroadcastFollower | None = None
        self._commit_notifier: CommitNotifier | None = None
        self._stopping = asyncio.Lock()  # a second stop waits for the first to have given back its claims
        self._published_counters: dict[type[Event], Any] = {}
        self._listeners: list[NotifyListener] = []
        self._rabbit: Any = None  # broker.rabbit.RabbitTransport when settings.transport == "rabbitmq"

    # -- wiring -------------------------------------------------------------------------

    def include_router(self, router: Router) -> None:
        """Subscribe every handler declared on `router` (before or after `open`)."""
        names = {h.name for h in self.handlers}
        for handler in router.handlers:
            if handler.ordered and self.settings.transport == "rabbitmq":
                raise BrokerError(
                    f"{self.service}.{handler.name}: ordered=True is not supported on the RabbitMQ transport "
                    "(a queue keeps no per-key order across retries and consumers); keep this service on "
                    "BUS_TRANSPORT=postgres or drop ordered=True"
                )
            if handler.name in names:
                raise BrokerError(
                    f"two handlers of {self.service} are named {handler.name!r}; pass name=... to tell them apart"
                )
            names.add(handler.name)
            self.handlers.append(handler)
        for name in router.retired:
            if name in names:
                raise BrokerError(f"{self.service}.{name} is declared both as a handler and as retired")
            self.retired.append(name)
        self._synced = False

    @property
    def store(self) -> Store:
        if self._store is None:
            raise BrokerError(f"the bus of {self.service} is not open: await bus.open() or start the app first")
        return self._store

    @property
    def pool(self) -> asyncpg.Pool:
        """The bus database pool (Postgres bus only)."""
        store = self.store
        if not isinstance(store, PostgresStore):
            raise BrokerError("this bus has no database pool (it is the in-memory bus)")
        return store.pool

    @property
    def rabbit(self) -> Any:
        """The RabbitMQ transport (`broker.rabbit.RabbitTransport`) once started on it, else None."""
        return self._rabbit

    @property
    def subscriptions(self) -> list[SubscriptionRef]:
        return list(self._refs)

    def subscription_name(self, handler: Handler) -> str:
        return subscription_name(self.service, handler)

    async def open(self) -> "EventBus":
        """Connect, install the bus tables if missing, and record this service's subscriptions."""
        if self._store is None:
            assert self.dsn is not None
            self._store, self._pools = await connect_store(
                self.dsn, self.outbox_dsn, self.settings, source=self.service, on_publish=self._published
            )
        await self.sync()
        if self.follower is not None:
            await self.follower.start()  # broadcasts logged from now on reach this process
        return self

    async def sync(self) -> None:
        """Record the subscriptions of the included routers (idempotent)."""
        if self._synced:
            return
        competing = [h for h in self.handlers if not h.broadcast]
        self._refs = await self.store.sync_subscriptions(self.service, competing)
        await self._retire_declared()
        if self._rabbit_transport():
            from broker.rabbit import keep_handed_over

            # Subscriptions switch to RabbitMQ once their queues are bound (RabbitTransport); those
            # already bound by an earlier run stay switched.
            await keep_handed_over(self.pool, self.settings.amqp_prefix, self._refs)
        by_name = {self.subscription_name(h): h for h in competing}
        bound = [Bound(ref=ref, handler=by_name[ref.name]) for ref in self._refs]
        self.worker = Worker(
            self.store,
            bound,
            worker_id=self.worker_id,
            batch_size=self.settings.worker_batch,
            lease=self.settings.lease,
            upcast=self.upcast,
            handler_timeout=self.settings.handler_timeout,
        )
        self.relay = Relay(
            self.store,
            self.wake_relay.wakeup(),
            batch_size=self.settings.relay_batch,
            poll_interval=self.settings.poll_interval,
            on_relayed=self._relayed,
        )
        broadcast = [h for h in self.handlers if h.broadcast]
        position = self.follower.position if self.follower is not None else None
        self.follower = None
        if broadcast:
            if not isinstance(self.store, LogStore):
                raise BrokerError(f"{self.service}: this bus's store cannot run broadcast subscriptions")
            self.follower = BroadcastFollower(
                self.store, self.service, broadcast, upcast=self.upcast, handler_timeout=self.settings.handler_timeout
            )
            self.follower.position = position
        self._synced = True

    def _relayed(self, claimable: bool) -> None:
        """This process relayed events: its workers (when it left deliveries to claim) and its
        broadcast follower need not wait for a NOTIFY."""
        if claimable:
            self.wake_workers.set()
        self.wake_follower.set()

    async def _retire_declared(self) -> None:
        """Retire the subscriptions the routers declare gone (once: already retired stays)."""
        if not self.retired:
            return
        names = [f"{self.service}.{name}" for name in self.retired]
        store = self.store
        if isinstance(store, PostgresStore):
            for name in await store.retire(names):
                log.warning("subscription retired, as declared in code", subscription=name)
        else:
            for sub in getattr(store, "subscriptions", {}).values():
                if getattr(sub, "name", None) in names:
                    sub.is_active = False

    def _rabbit_transport(self) -> bool:
        if self.settings.transport not in ("postgres", "rabbitmq"):
            raise BrokerError(f"unknown bus transport {self.settings.transport!r}: use postgres or rabbitmq")
        return self.settings.transport == "rabbitmq" and isinstance(self._store, PostgresStore)

    # -- publishing ---------------------------------------------------------------------

    async def publish(self, conn: Any, event: Event, **fields: Unpack[PublishFields]) -> UUID:
        """Write `event` to the outbox on `conn`, inside the caller's transaction.

        The event exists for subscribers only if that transaction commits. Pass `conn=None`
        to publish in a transaction of its own. Returns the event id (a UUIDv7).
        """
        return (await self._publish(conn, [event], EnvelopeFields(**fields)))[0]

    async def publish_many(self, conn: Any, events: Sequence[Event], **fields: Unpack[PublishFields]) -> list[UUID]:
        """Publish several events with one statement (same envelope fields for all)."""
        return await self._publish(conn, events, EnvelopeFields(**fields))

    async def _publish(self, conn: Any, events: Sequence[Event], fields: EnvelopeFields) -> list[UUID]:
        ids = await self.store.publish(conn, events, fields)
        if len(events) == 1:
            self._published_counter(type(events[0])).inc()
        else:
            for cls, count in Counter(type(event) for event in events).items():
                self._published_counter(cls).inc(count)  # once per type, not per event
        return ids

    def _published_counter(self, cls: type[Event]) -> Any:
        """`bus_events_published_total` for one event class, its labels looked up once (a
        `labels()` call costs more than the increment)."""
        counter = self._published_counters.get(cls)
        if counter is None:
            counter = metrics.published.labels(cls.__struct_config__.tag, self.service)
            self._published_counters[cls] = counter
        return counter

    def _published(self, conn: Any) -> None:
        """Wake relays (in any process) once the publishing transaction has ended."""
        if self._commit_notifier is None:
            dsn = self.outbox_dsn or self.dsn
            assert dsn is not None
            self._commit_notifier = CommitNotifier(lambda: asyncpg.connect(dsn))
            self._tasks.spawn(self._commit_notifier.run(), "commit-notify")
        self._commit_notifier.published(conn)

    # -- running --------------------------------------------------------------------------

    async def start(self, *, run_workers: bool = True) -> None:
        """Open, then run the relay, workers, LISTEN loop and cleanup as settings say.

        `run_workers=False` (tests) starts everything else, the RabbitMQ transport included, but
        leaves the relay and the workers to `broker.testing.run_until_idle`, which then drains
        the bus deterministically on every transport.
        """
        await self.open()
        await self.sync()
        settings = self.settings
        if isinstance(self._store, PostgresStore) and settings.listen:
            self._start_listeners()
            # Return once LISTEN is in place, so an event published right after start() wakes us
            # (polling would find it anyway, a poll interval later).
            for listener in self._listeners:
                if not await wait_event(listener.connected, 5.0):
                    log.warning("LISTEN not established yet; relying on polling until it is", service=self.service)
        rabbit = self._rabbit_transport()
        if rabbit:
            from broker.rabbit import RabbitTransport

            self._rabbit = RabbitTransport(self, run_workers=run_workers)
            self._tasks.adopt(await self._rabbit.start())
            # Wait briefly so a healthy start is ready at once; RabbitMQ being down never stops the
            # service: events wait in Postgres and the transport connects when RabbitMQ answers.
            if not await wait_event(self._rabbit.ready, self.settings.amqp_start_timeout):
                log.warning("RabbitMQ not reachable yet; starting without it", service=self.service,
                            error=self._rabbit.last_error)
        local_workers = self.worker is not None and bool(self._refs) and not rabbit and run_workers
        worker_wakeup = self.wake_workers.wakeup() if local_workers else None  # shared: one loop per wake-up
        if settings.relay and self.relay is not None and run_workers:
            if not rabbit:  # on RabbitMQ the transport hands the relay's deliveries to its forwarder
                handoff = None
                if self.worker is not None and worker_wakeup is not None:
                    handoff = Handoff(self.worker, worker_wakeup, settings.workers)
                self.relay.hand_off_to(handoff)
            self._tasks.spawn(self.relay.run(), "relay")
        if isinstance(self._store, PostgresStore):
            await self._store.heartbeat(self.serving(), activate=not self._rabbit_transport())
            beat = housekeeping.every(settings.heartbeat_interval, lambda: housekeeping.heartbeat(self),
                                      what="subscription heartbeat")
            self._tasks.spawn(beat, "heartbeat")
        if self.worker is not None and worker_wakeup is not None:
            for n in range(settings.workers):
                loop = run_worker(self.worker, worker_wakeup, poll_interval=settings.poll_interval)
                self._tasks.spawn(loop, f"worker-{n}")
        if self.follower is not None and run_workers and not rabbit:  # RabbitMQ: a queue per process
            self._tasks.spawn(
                self.follower.run(self.wake_follower.wakeup(), poll_interval=settings.poll_interval), "broadcasts"
            )
        if isinstance(self._store, PostgresStore) and settings.callbacks:
            dispatcher = CallbackDispatcher(self._store, self.pool, worker_id=self.worker_id + ":callbacks")
            calls = dispatcher.run(self.wake_workers.wakeup(), poll_interval=settings.poll_interval)
            self._tasks.spawn(calls, "callbacks")
        if isinstance(self._store, PostgresStore) and settings.relay and settings.cleanup_interval > 0:
            clean = housekeeping.every(settings.cleanup_interval, lambda: housekeeping.clean_up(self), what="cleanup")
            gauges = housekeeping.every(housekeeping.GAUGES_INTERVAL, lambda: housekeeping.refresh_gauges(self),
                                        what="backlog gauges", now=True)
            self._tasks.spawn(clean, "cleanup")
            self._tasks.spawn(gauges, "gauges")

    def health(self) -> BusHealth:
        """What the service's /health shows of its bus: `degraded` with reasons when events wait."""
        transport = self.settings.transport if isinstance(self._store, PostgresStore) else "memory"
        if self._rabbit is None:
            return BusHealth(status="ok", transport=transport)
        problems = self._rabbit.problems()
        return BusHealth(
            status="degraded" if problems else "ok", transport=transport, problems=problems,
            rabbitmq_connected=self._rabbit.connected, forward_failing_attempt=self._rabbit.forward_failing_attempt,
        )

    def _start_listeners(self) -> None:
        assert self.dsn is not None
        bus_dsn = self.dsn
        bus_channels = {"bus_deliveries": self.wake_workers}
        if self.follower is not None:
            bus_channels["bus_events"] = self.wake_follower
        if self.outbox_dsn is None:
            self._add_listener(bus_dsn, {"bus_outbox": self.wake_relay, **bus_channels})
        else:
            self._add_listener(self.outbox_dsn, {"bus_outbox": self.wake_relay})
            self._add_listener(bus_dsn, bus_channels)

    def _add_listener(self, dsn: str, channels: dict[str, Wakeups]) -> None:
        listener = NotifyListener(lambda: asyncpg.connect(dsn), channels)
        self._listeners.append(listener)
        self._tasks.spawn(listener.run(), "listen")

    def mark_served(self, refs: Sequence[SubscriptionRef]) -> None:
        """Count subscriptions this process serves outside its workers (the RabbitMQ
        forwarder) in its heartbeat."""
        self._served.extend(refs)

    def serving(self) -> list[SubscriptionRef]:
        """The subscriptions this process serves, for its heartbeat. On RabbitMQ its handlers
        consume their queues only while the transport is connected: a process that cannot reach
        RabbitMQ serves none of them, and `stats` says so once the window passes."""
        own = self._refs if self.settings.workers > 0 else []
        if self._rabbit_transport() and not (self._rabbit is not None and self._rabbit.connected):
            own = []
        return own + self._served

    async def stop(self) -> None:
        """Stop background tasks; a handler cut short is redelivered after its lease."""
        async with self._stopping:
            await self._stop()

    async def _stop(self) -> None:
        if self._commit_notifier is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._commit_notifier.flush(), 2.0)
        self._served = []
        self._commit_notifier = None
        self._listeners = []
        await self._tasks.stop()
        stranded = await self.relay.abandoned() if self.relay is not None else []
        if self.worker is not None and self.worker.handed:
            await self._give_back(self.worker.release_handed())
        if stranded and isinstance(self.store, HandoffStore):
            await self._give_back(self.store.release(stranded))
        rabbit, self._rabbit = self._rabbit, None
        if rabbit is not None:
            await rabbit.close()

    @staticmethod
    async def _give_back(release: Awaitable[None]) -> None:
        """Give deliveries claimed for this process back; if that fails they come back after their lease."""
        try:
            await release
        except Exception as exc:
            log.warning("could not give back handed deliveries", error=f"{type(exc).__name__}: {exc}")

    async def close(self) -> None:
        """Stop and close the pools."""
        await self.stop()
        await self._close_pools()
        if self._pools == [] and isinstance(self._store, PostgresStore):
            self._store = None
            self._synced = False

    async def _close_pools(self) -> None:
        pools, self._pools = self._pools, []
        for pool in pools:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pool.close(), 5)

    @contextlib.asynccontextmanager
    async def lifespan(self, _app: object = None) -> AsyncIterator["EventBus"]:
        """For `Litestar(lifespan=[bus.lifespan])`: start with the app, close with it."""
        await self.start()
        try:
            yield self
        finally:
            await self.close()

    async def __aenter__(self) -> "EventBus":
        await self.open()
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()
