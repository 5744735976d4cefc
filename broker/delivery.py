"""What a handler learns about the delivery it is running for."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar, Unpack, overload
from uuid import UUID

import msgspec

from broker.context import EnvelopeFields, FollowUpFields
from broker.errors import BrokerError
from contracts.envelope import Envelope, Event

if TYPE_CHECKING:
    from broker.inbox_batch import InboxBatch
    from broker.store import Store


@dataclass(slots=True)
class ClaimedDelivery:
    """A delivery a worker holds under lease, with its event's envelope fields."""

    delivery_id: int
    subscription_id: int
    attempt: int
    event_id: UUID
    event_type: str
    source: str
    tenant_id: UUID | None
    company_id: UUID | None
    ordering_key: str | None
    occurred_at: datetime
    correlation_id: UUID | None
    causation_id: UUID | None
    version: int
    payload: str
    claimed_by: str = ""  # with `attempt`, the claim's token: only its holder may settle it

    def envelope(self) -> Envelope:
        return Envelope(
            id=self.event_id,
            type=self.event_type,
            source=self.source,
            tenant_id=self.tenant_id,
            company_id=self.company_id,
            occurred_at=self.occurred_at,
            correlation_id=self.correlation_id,
            causation_id=self.causation_id,
            version=self.version,
            ordering_key=self.ordering_key,
            payload=msgspec.Raw(self.payload.encode()),
        )


T = TypeVar("T")


class _Claimed(Generic[T]):
    """A read-only `Delivery` attribute: the field of the same name of its claimed delivery."""

    def __set_name__(self, _owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, ctx: None, _owner: type) -> "_Claimed[T]": ...
    @overload
    def __get__(self, ctx: "Delivery", _owner: type) -> T: ...
    def __get__(self, ctx: "Delivery | None", _owner: type) -> "T | _Claimed[T]":
        if ctx is None:
            return self
        value: T = getattr(ctx._claimed, self.name)
        return value


class Delivery:
    """The delivery context passed to a handler as its second argument.

    Carries the envelope fields and the attempt number, opens effectively-once transactions
    (`async with ctx.transaction() as conn`) and publishes follow-up events that inherit the
    correlation id and name this event as their cause.
    """

    __slots__ = ("_batch", "_claimed", "_committed", "_inbox", "_open", "_store", "subscription")

    def __init__(
        self, claimed: ClaimedDelivery, subscription: str, store: "Store", *, inbox: bool = True,
        batch: "InboxBatch | None" = None,
    ) -> None:
        self._claimed = claimed
        self._inbox = inbox  # False for a broadcast: every process runs it, no inbox can hold that
        self._batch = batch  # the claimed batch's shared inbox transaction, if the store has one
        self._store = store
        self.subscription = subscription
        self._open: Any = None  # the connection of the inbox transaction now open
        self._committed = False

    @property
    def attempt(self) -> int:
        """1 on the first delivery, 2 on the first retry, and so on."""
        return self._claimed.attempt

    event_id: "_Claimed[UUID]" = _Claimed()
    event_type: "_Claimed[str]" = _Claimed()
    source: "_Claimed[str]" = _Claimed()
    tenant_id: "_Claimed[UUID | None]" = _Claimed()
    company_id: "_Claimed[UUID | None]" = _Claimed()
    occurred_at: "_Claimed[datetime]" = _Claimed()
    correlation_id: "_Claimed[UUID | None]" = _Claimed()
    causation_id: "_Claimed[UUID | None]" = _Claimed()
    ordering_key: "_Claimed[str | None]" = _Claimed()
    version: "_Claimed[int]" = _Claimed()

    @property
    def envelope(self) -> Envelope:
        return self._claimed.envelope()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        """Open a transaction on the service's database that records this event in the inbox.

        Writes made through the yielded connection commit together with the inbox row. If a
        previous delivery of the same event already committed, the handler stops here
        (`AlreadyHandled`, which `except Exception` does not catch) and the delivery counts as
        done: a redelivered event has no second effect.

        On PostgreSQL the inboxed deliveries of one claimed batch take turns on one database
        transaction, a savepoint each (broker/inbox_batch.py): a failure rolls back only this
        delivery's savepoint, and the block ends once a commit shared with the deliveries that
        were waiting for their turn has committed its writes (InboxNotCommitted if it failed).
        So transaction-scoped state (`SET LOCAL`, `set_config(..., true)`, advisory xact locks)
        outlives the block into its batch-mates' savepoints: reset what you set before the block
        ends (`modulekit.database.purging` does, for the purge's `buildify.purge`).

        One unit of work per delivery: a `ctx.transaction()` opened inside an open one joins
        it (same connection); one opened after a transaction that rolled back is a fresh try;
        one opened after a transaction that committed raises BrokerError, because its effect
        could not be made effectively-once (the inbox already records the event).
        """
        if self._open is not None:
            yield self._open
            return
        if not self._inbox:
            raise BrokerError(
                f"{self.subscription} is a broadcast subscription: every process runs it, so it has no "
                "inbox and no effectively-once transaction; open a transaction on your own database"
            )
        if self._committed:
            raise BrokerError(
                f"{self.subscription}: this delivery's ctx.transaction() already committed; put the "
                "event's effects in one transaction (a nested ctx.transaction() joins the open one)"
            )
        opened = (
            self._store.inbox_transaction(self.subscription, self.event_id) if self._batch is None
            else self._batch.transaction(self.subscription, self.event_id)
        )
        async with opened as conn:
            self._open = conn
            try:
                yield conn
            finally:
                self._open = None
        self._committed = True

    async def publish(self, conn: Any, event: Event, **fields: Unpack[FollowUpFields]) -> UUID:
        """Publish a follow-up event caused by this one (same tenant and company by default)."""
        stamped = EnvelopeFields(
            tenant_id=fields.get("tenant_id") or self.tenant_id, company_id=fields.get("company_id") or self.company_id,
            ordering_key=fields.get("ordering_key"), correlation_id=self.correlation_id or self.event_id,
            causation_id=self.event_id,
        )
        ids = await self._store.publish(conn, [event], stamped)
        return ids[0]
