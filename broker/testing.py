"""Helpers for tests: drain a bus deterministically, and an in-memory bus for handler tests.

Module authors unit-test their handlers on `memory_bus()` without a database; the broker's
own behaviour suite runs the same cases against this store and against PostgreSQL.
"""

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from broker.bus import EventBus
from broker.context import EnvelopeFields
from broker.delivery import ClaimedDelivery
from broker.errors import AlreadyHandled
from broker.patterns import matches
from broker.postgres import encode_event, subscription_name
from broker.router import Handler
from broker.settings import BusSettings
from broker.store import SubscriptionRef
from broker.wakeup import Wakeups
from contracts.envelope import Event
from contracts.ids import uuid7


@dataclass(slots=True)
class MemorySubscription:
    id: int
    name: str
    module: str
    pattern: str
    priority: int
    ordered: bool
    max_attempts: int = 5
    is_active: bool = True


@dataclass(slots=True)
class MemoryDelivery:
    id: int
    subscription_id: int
    event_id: UUID
    ordering_key: str | None
    status: str = "pending"
    attempts: int = 0
    available_at: float = 0.0
    locked_by: str | None = None
    last_error: str | None = None


@dataclass(slots=True)
class MemoryDeadLetter:
    delivery_id: int
    subscription: str
    event_id: UUID
    attempts: int
    reason: str
    error: str
    traceback: str


@dataclass
class MemoryTransaction:
    """What `ctx.transaction()` yields on the memory bus when no database is given: events
    published on it (`ctx.publish(tx, ...)`) leave only if the block commits, like the
    outbox rows of a real transaction."""

    staged: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class MemoryStore:
    """A `Store` in process memory with the Postgres store's semantics (no durability)."""

    source: str = "test"
    outbox: list[dict[str, Any]] = field(default_factory=list)
    events: dict[UUID, dict[str, Any]] = field(default_factory=dict)
    subscriptions: dict[str, MemorySubscription] = field(default_factory=dict)
    deliveries: dict[int, MemoryDelivery] = field(default_factory=dict)
    dead_letters: list[MemoryDeadLetter] = field(default_factory=list)
    inbox: set[tuple[str, UUID]] = field(default_factory=set)
    wake_relay: Wakeups | None = None  # set on publish
    wake_workers: Wakeups | None = None  # set when a relayed event created deliveries
    # The service's own transactions, for handlers that write to its database: an async
    # context manager factory yielding a connection (e.g. `db.transaction`).
    transaction: Callable[[], AbstractAsyncContextManager[Any]] | None = None
    _ids: "itertools.count[int]" = field(default_factory=lambda: itertools.count(1))

    async def publish(self, conn: Any, events: Sequence[Event], fields: EnvelopeFields) -> list[UUID]:
        ids = []
        fields = fields.in_context()
        for event in events:
            event_type, version, payload = encode_event(event)
            event_id = uuid7()
            ids.append(event_id)
            (conn.staged if isinstance(conn, MemoryTransaction) else self.outbox).append(
                {
                    "id": event_id,
                    "event_type": event_type,
                    "source": self.source,
                    "tenant_id": fields.tenant_id,
                    "company_id": fields.company_id,
                    "ordering_key": fields.ordering_key,
                    "occurred_at": datetime.now(UTC),
                    "correlation_id": fields.correlation_id or event_id,
                    "causation_id": fields.causation_id,
                    "version": version,
                    "payload": payload,
                }
            )
        if self.wake_relay is not None:
            self.wake_relay.set()
        return ids

    async def sync_subscriptions(self, module: str, handlers: Sequence[Handler]) -> list[SubscriptionRef]:
        refs = []
        for handler in handlers:
            name = subscription_name(module, handler)
            existing = self.subscriptions.get(name)
            sub_id = existing.id if existing else next(self._ids)
            self.subscriptions[name] = MemorySubscription(
                sub_id, name, module, handler.pattern, handler.priority, handler.ordered,
                handler.retry.max_attempts, existing.is_active if existing else True,
            )
            if self.subscriptions[name].is_active:  # retired ones stay off until reactivated
                refs.append(SubscriptionRef(id=sub_id, name=name, priority=handler.priority))
        return refs

    async def relay_batch(self, limit: int) -> int:
        batch, self.outbox = self.outbox[:limit], self.outbox[limit:]
        fanned = False
        for row in batch:
            if row["id"] in self.events:
                continue
            self.events[row["id"]] = row
            for sub in sorted(self.subscriptions.values(), key=lambda s: s.id):
                if sub.is_active and matches(sub.pattern, row["event_type"]):
                    delivery_id = next(self._ids)
                    self.deliveries[delivery_id] = MemoryDelivery(
                        delivery_id, sub.id, row["id"], row["ordering_key"] if sub.ordered else None
                    )
                    fanned = True
        if fanned and self.wake_workers is not None:
            self.wake_workers.set()
        return len(batch)

    def _blocked(self, d: MemoryDelivery) -> bool:
        if d.ordering_key is None:
            return False
        return any(
            p.id < d.id and p.subscription_id == d.subscription_id and p.ordering_key == d.ordering_key
            and p.status == "pending"
            for p in self.deliveries.values()
        )

    async def claim(
        self, subscriptions: Sequence[SubscriptionRef], limit: int, lease: float, worker_id: str
    ) -> list[ClaimedDelivery]:
        """As the Postgres claim: bury what cannot run, share the batch by 2^priority with at
        least one place for every subscription with due work, oldest first within each."""
        now = time.monotonic()
        wanted = {s.id: s.priority for s in subscriptions}
        subs = {s.id: s for s in self.subscriptions.values()}
        due: dict[int, list[MemoryDelivery]] = {}
        for d in sorted(self.deliveries.values(), key=lambda d: d.id):
            if d.subscription_id in wanted and d.status == "pending" and d.available_at <= now and not self._blocked(d):
                due.setdefault(d.subscription_id, []).append(d)
        slots = sorted(
            (k / 2 ** wanted[sub_id], -wanted[sub_id], sub_id)
            for sub_id, ds in due.items()
            for k in range(min(limit, len(ds)))
        )[:limit]
        picked: list[MemoryDelivery] = []
        for sub_id in {slot[2] for slot in slots}:
            picked.extend(due[sub_id][: sum(1 for slot in slots if slot[2] == sub_id)])
        picked.sort(key=lambda d: (-wanted[d.subscription_id], d.id))
        claimed = []
        for d in picked:
            sub = subs[d.subscription_id]
            if d.event_id not in self.events or d.attempts >= sub.max_attempts:
                reason = (
                    f"event {d.event_id} is missing from the events log" if d.event_id not in self.events
                    else f"gave up after {d.attempts} attempt(s); last error: the worker never settled the delivery"
                )
                d.status, d.last_error, d.locked_by = "dead", reason, None
                self.dead_letters.append(MemoryDeadLetter(d.id, sub.name, d.event_id, d.attempts, reason, reason, ""))
                continue
            d.attempts += 1
            d.available_at = now + lease
            d.locked_by = worker_id
            e = self.events[d.event_id]
            claimed.append(
                ClaimedDelivery(
                    d.id, d.subscription_id, d.attempts, e["id"], e["event_type"], e["source"], e["tenant_id"],
                    e["company_id"], e["ordering_key"], e["occurred_at"], e["correlation_id"],
                    e["causation_id"], e["version"], e["payload"], worker_id,
                )
            )
        if not claimed and picked:
            return await self.claim(subscriptions, limit, lease, worker_id)  # only buried ones: go on
        return claimed

    def _owned(self, claim: ClaimedDelivery) -> MemoryDelivery | None:
        """The delivery if `claim` still holds it (same worker, same attempt), else None."""
        d = self.deliveries[claim.delivery_id]
        if d.status == "pending" and d.locked_by == claim.claimed_by and d.attempts == claim.attempt:
            return d
        return None

    async def complete(self, claims: Sequence[ClaimedDelivery]) -> None:
        for claim in claims:
            d = self._owned(claim)
            if d is not None:
                d.status, d.locked_by = "done", None

    async def retry(self, claim: ClaimedDelivery, delay: float, error: str) -> None:
        d = self._owned(claim)
        if d is not None:
            d.available_at, d.last_error, d.locked_by = time.monotonic() + delay, error, None

    async def dead_letter(self, claim: ClaimedDelivery, reason: str, error: str, traceback: str) -> None:
        d = self._owned(claim)
        if d is None:
            return
        d.status, d.last_error, d.locked_by = "dead", reason, None
        name = next(s.name for s in self.subscriptions.values() if s.id == d.subscription_id)
        self.dead_letters.append(MemoryDeadLetter(d.id, name, d.event_id, d.attempts, reason, error, traceback))

    async def extend_leases(self, claims: Sequence[ClaimedDelivery], lease: float) -> list[int]:
        extended = []
        for claim in claims:
            d = self._owned(claim)
            if d is not None:
                d.available_at = time.monotonic() + lease
                extended.append(d.id)
        return extended

    async def seconds_until_due(self, subscriptions: Sequence[SubscriptionRef]) -> float | None:
        wanted = {s.id for s in subscriptions}
        pending = [
            d.available_at for d in self.deliveries.values() if d.subscription_id in wanted and d.status == "pending"
        ]
        return max(0.0, min(pending) - time.monotonic()) if pending else None

    async def follow_start(self) -> object:
        return len(self.events)

    async def follow(self, position: object, patterns: Sequence[str]) -> tuple[list[ClaimedDelivery], object]:
        """The relayed events after `position` (an index: the memory log is never trimmed)."""
        assert isinstance(position, int)
        logged = list(self.events.values())
        events = [
            ClaimedDelivery(
                0, 0, 1, e["id"], e["event_type"], e["source"], e["tenant_id"], e["company_id"], e["ordering_key"],
                e["occurred_at"], e["correlation_id"], e["causation_id"], e["version"], e["payload"],
            )
            for e in logged[position:]
            if any(matches(pattern, e["event_type"]) for pattern in patterns)
        ]
        return events, len(logged)

    @asynccontextmanager
    async def inbox_transaction(self, subscription: str, event_id: UUID) -> AsyncIterator[Any]:
        """The inbox as on PostgreSQL: recorded only when the block commits; the block runs
        in the service's own transaction (`transaction=`), else in a MemoryTransaction."""
        key = (subscription, event_id)
        if key in self.inbox:
            raise AlreadyHandled()
        if self.transaction is not None:
            async with self.transaction() as conn:
                yield conn
        else:
            tx = MemoryTransaction()
            yield tx
            if tx.staged:
                self.outbox.extend(tx.staged)
                if self.wake_relay is not None:
                    self.wake_relay.set()
        self.inbox.add(key)


def memory_bus(
    service: str = "test",
    *,
    settings: BusSettings | None = None,
    transaction: Callable[[], AbstractAsyncContextManager[Any]] | None = None,
) -> EventBus:
    """An EventBus on a MemoryStore: publish, include routers, `await run_until_idle(bus)`.

    `transaction` opens a transaction on the service's own database (e.g. `db.transaction`),
    so `ctx.transaction()` in handlers yields a real connection there, as in production.
    """
    store = MemoryStore(source=service, transaction=transaction)
    bus = EventBus(service=service, store=store, settings=settings)
    store.wake_relay = bus.wake_relay
    store.wake_workers = bus.wake_workers
    return bus


async def run_until_idle(bus: EventBus, *, timeout: float = 10.0) -> int:
    """Relay and handle until nothing is left for this bus's subscriptions; returns how many
    deliveries ran. Waits for scheduled retries (keep test backoffs short); raises
    TimeoutError if work remains after `timeout` seconds."""
    await bus.sync()
    assert bus.relay is not None and bus.worker is not None
    rabbit = bus._rabbit
    if rabbit is not None:  # started with run_workers=False: the transport drains itself
        handled: int = await rabbit.run_until_idle(timeout)
        return handled
    deadline = time.monotonic() + timeout
    handled = 0
    while True:
        moved = await bus.relay.run_once()
        ran = await bus.worker.run_once()
        if bus.follower is not None:
            ran += await bus.follower.run_once()
        handled += ran
        if moved or ran:
            continue
        due = await bus.store.seconds_until_due(bus.subscriptions) if bus.subscriptions else None
        if due is None:
            return handled
        if time.monotonic() >= deadline:
            raise TimeoutError(f"the bus of {bus.service} still had pending deliveries after {timeout} s")
        await asyncio.sleep(min(max(due, 0.001), 0.05))
