"""The relay: moves committed outbox rows onto the bus."""

import asyncio
from collections.abc import Callable
from typing import NoReturn

import structlog

from broker import metrics
from broker.backoff import run_forever
from broker.delivery import ClaimedDelivery
from broker.handoff import Handoff
from broker.store import RELAY_BUSY, HandoffClaim, HandoffStore, Relayed, Store
from broker.wakeup import Wakeup

log = structlog.get_logger("broker.relay")


class Relay:
    """Drains the outbox in batches whenever woken, and at least every `poll_interval`."""

    def __init__(
        self,
        store: Store,
        wake: Wakeup,
        *,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        on_relayed: Callable[[bool], None] | None = None,
        handoff: Handoff | None = None,
    ) -> None:
        self.store = store
        self.wake = wake
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.on_relayed = on_relayed  # told whether deliveries were left for workers to claim
        self.handoff: Handoff | None = None
        if handoff is not None:
            self.hand_off_to(handoff)
        # Another relay held the lock at the last try: look again soon, not a poll later, in
        # case rows committed after that relay's last statement began.
        self.busy = False
        self._statement: asyncio.Future[Relayed] | None = None  # a hand-off statement under way

    def hand_off_to(self, handoff: Handoff | None) -> None:
        """Hand deliveries to this process's workers (broker.handoff), if the store can; None: stop."""
        self.handoff = handoff if isinstance(self.store, HandoffStore) else None

    async def run_once(self) -> int:
        """Move everything currently committed in the outbox; returns how many rows moved."""
        total = 0
        claimable = False
        self.busy = False
        while True:
            if self.handoff is not None and self.handoff.should_wait():
                await self.handoff.room(min(self.poll_interval, 0.05))
            limit, moved, left = await self._relay_batch()
            if moved == RELAY_BUSY:
                self.busy = True
                break
            total += moved
            claimable = claimable or left
            if moved < limit:
                break
        if total:
            metrics.relayed.inc(total)
            if self.on_relayed is not None:  # this process's workers need not wait for the NOTIFY
                self.on_relayed(claimable)
        return total

    async def _relay_batch(self) -> tuple[int, int, bool]:
        """One relay statement, handing deliveries to this process's workers when it can;
        returns its row limit, the rows moved (or RELAY_BUSY) and whether it left deliveries
        to be claimed (without a hand-off the count is unknown: any rows moved may have)."""
        claim = self.handoff.claim() if self.handoff is not None else None
        if claim is None:
            moved = await self.store.relay_batch(self.batch_size)
            return self.batch_size, moved, moved > 0
        assert isinstance(self.store, HandoffStore) and self.handoff is not None
        limit = self.handoff.events_for(claim, self.batch_size)
        relayed = await self._relay_and_claim(limit, claim)
        self.handoff.deliver(relayed.moved, relayed.fanned, relayed.local, relayed.claimed)
        return limit, relayed.moved, relayed.fanned > len(relayed.claimed)

    async def _relay_and_claim(self, limit: int, claim: HandoffClaim) -> Relayed:
        """The statement runs shielded from the relay's cancellation (the bus stopping): cut
        between its commit and its answer, it would strand the deliveries it claimed for this
        process until their lease ran out, an attempt spent. `abandoned` finishes it."""
        assert isinstance(self.store, HandoffStore)
        self._statement = statement = asyncio.ensure_future(self.store.relay_and_claim(limit, claim))
        # Its failure is the relay's (raised below) or `abandoned`'s; never "never retrieved".
        statement.add_done_callback(lambda done: done.cancelled() or done.exception())
        relayed = await asyncio.shield(statement)
        self._statement = None
        return relayed

    async def abandoned(self, timeout: float = 5.0) -> list[ClaimedDelivery]:
        """Once the relay task has been cancelled: wait for the statement it left under way and
        return the deliveries it claimed for this process, which nobody here will run (the
        caller gives them back). A statement that fails gives back its own; past `timeout`
        it is cancelled, and its claims, if it committed, come back after their lease."""
        statement, self._statement = self._statement, None
        if statement is None:
            return []
        try:
            return (await asyncio.wait_for(statement, timeout)).claimed
        except Exception:
            return []

    async def run(self) -> NoReturn:
        """Relay until cancelled: now, then whenever woken or every `poll_interval`.
        Database errors are logged and retried with backoff, never fatal."""
        await run_forever(self._relay_then_wait, what="relay", logger="broker.relay")

    async def _relay_then_wait(self) -> None:
        if self.handoff is not None:
            await self.handoff.worker.keep_handed()
        await self.run_once()
        await self.wake.wait(min(self.poll_interval, 0.05) if self.busy else self.poll_interval)
