"""The storage a bus runs on. Postgres in production; memory for module authors' unit tests.

The worker's logic (decode, call, retry, dead-letter) is written once against this protocol,
so both stores pass the same behaviour suite.
"""

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

from broker.context import EnvelopeFields
from broker.delivery import ClaimedDelivery
from broker.inbox_batch import InboxBatch
from broker.router import Handler
from contracts.envelope import Event

RELAY_BUSY = -1
"""What `relay_batch` returns when another relay holds the relay lock: it moves the rows."""


@dataclass(frozen=True, slots=True)
class SubscriptionRef:
    """A subscription as a worker claims for it."""

    id: int
    name: str
    priority: int


class Store(Protocol):
    """Where outbox, deliveries, dead letters and the inbox live."""

    async def publish(self, conn: Any, events: Sequence[Event], fields: EnvelopeFields) -> list[UUID]: ...

    async def sync_subscriptions(self, module: str, handlers: Sequence[Handler]) -> list[SubscriptionRef]: ...

    async def relay_batch(self, limit: int) -> int: ...

    async def claim(
        self, subscriptions: Sequence[SubscriptionRef], limit: int, lease: float, worker_id: str
    ) -> list[ClaimedDelivery]: ...

    # Settling names the claim (its delivery, worker and attempt): a worker whose lease ran
    # out and whose delivery another worker took over settles nothing.

    async def complete(self, claims: Sequence[ClaimedDelivery]) -> None: ...

    async def retry(self, claim: ClaimedDelivery, delay: float, error: str) -> None: ...

    async def dead_letter(self, claim: ClaimedDelivery, reason: str, error: str, traceback: str) -> None: ...

    async def extend_leases(self, claims: Sequence[ClaimedDelivery], lease: float) -> list[int]:
        """Push the leases of the claims still held; returns the delivery ids extended."""
        ...

    async def seconds_until_due(self, subscriptions: Sequence[SubscriptionRef]) -> float | None: ...

    def inbox_transaction(self, subscription: str, event_id: UUID) -> AbstractAsyncContextManager[Any]: ...


@runtime_checkable
class LogStore(Store, Protocol):
    """A store whose events log processes can follow, for broadcast subscriptions (broker.follower)."""

    async def follow_start(self) -> object:
        """A position in the events log: `follow` from it returns the events logged after now."""
        ...

    async def follow(self, position: object, patterns: Sequence[str]) -> tuple[list[ClaimedDelivery], object]:
        """The events logged after `position` whose type matches one of `patterns`, in log
        order, and the position after them."""
        ...


@dataclass(frozen=True, slots=True)
class Relayed:
    """What a relay statement did: rows `moved` (or RELAY_BUSY), deliveries `fanned` out, how
    many of them went to the hand-off's subscriptions (`local`), and those it `claimed`."""

    moved: int
    fanned: int = 0
    local: int = 0
    claimed: list[ClaimedDelivery] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class HandoffClaim:
    """Which of the deliveries a relay statement fans out it may claim at once for its own
    process's idle workers (broker.handoff): those of `subscription_ids`, `limit` at most,
    leased for `lease` seconds to `worker_id`."""

    subscription_ids: list[int]
    limit: int
    lease: float
    worker_id: str


@runtime_checkable
class HandoffStore(Store, Protocol):
    """A store whose relay can hand fresh deliveries to its own process's workers, claimed."""

    async def relay_and_claim(self, limit: int, claim: HandoffClaim) -> "Relayed":
        """`relay_batch`, and claim up to `claim.limit` of the deliveries it creates."""
        ...

    async def release(self, claims: Sequence[ClaimedDelivery]) -> None:
        """Give back claims whose handlers never started: due at once, the attempt not counted."""
        ...


@runtime_checkable
class BatchInboxStore(Store, Protocol):
    """A store whose inboxed deliveries of one claimed batch can share one transaction."""

    def inbox_batch(self) -> InboxBatch:
        """A fresh shared inbox transaction for one claimed batch (opened on first use)."""
        ...
