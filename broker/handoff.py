"""The relay's hand-off: deliveries fanned out to subscriptions this process serves go straight
to its worker loops, claimed by the relay's own statement.

Otherwise every delivery costs a claim statement between the relay's statement and its handler:
about a millisecond of latency, and the claim's writes, which set the bus's throughput
(docs/benchmarks.md). The worker holds at most one handed batch per loop; its loops run handed
batches before they claim. The relay sizes a statement to what it may hand over (events times
deliveries per event), and when the worker holds all it may and the last statement's deliveries
were all this process's, it waits (briefly) for a loop to take a batch instead of leaving
deliveries to be claimed: the outbox, not the deliveries table, holds the queue. Deliveries of
other processes' subscriptions never wait for this one; replicas of a service share the load
because whichever relay has room takes the next turn at the relay lock. Ordered subscriptions
are never handed over: their keys wait for earlier deliveries.
"""

import asyncio
import math

from broker import metrics
from broker.delivery import ClaimedDelivery
from broker.store import HandoffClaim
from broker.wakeup import Wakeup
from broker.worker import Worker


class Handoff:
    """What the relay may claim for `worker` (run by `loops` loops sharing the wake-up `wake`),
    and the handing over itself."""

    def __init__(self, worker: Worker, wake: Wakeup, loops: int) -> None:
        self.worker = worker
        self.wake = wake
        self.loops = loops
        self.subscription_ids = [b.ref.id for b in worker.bound.values() if not b.handler.ordered]
        self.fan_out = 1.0  # deliveries per relayed event, as last seen
        self.local_only = False  # the last statement's deliveries were all this process's
        self._room = asyncio.Event()
        worker.on_take = self._room.set

    def claim(self) -> HandoffClaim | None:
        """What the next relay statement may claim for this process: a batch per loop, less the
        batches it holds already; None when it holds one per loop."""
        free = self.loops - self.worker.handed
        if not self.subscription_ids or free <= 0:
            return None
        return HandoffClaim(self.subscription_ids, free * self.worker.batch_size, self.worker.lease,
                            self.worker.worker_id)

    def events_for(self, claim: HandoffClaim, most: int) -> int:
        """How many outbox rows the statement should move so its deliveries fit `claim`; a
        fiftieth of `most` at least, so a wide fan-out does not crawl through other services'
        events a few at a time (what does not fit is claimed as usual)."""
        return max(1, most // 50, min(most, math.ceil(claim.limit / max(self.fan_out, 1.0))))

    def should_wait(self) -> bool:
        """True when the worker holds a batch per loop and the relay's recent work was all for
        this process: better to wait for a loop than to leave deliveries to be claimed."""
        return self.local_only and self.worker.handed >= self.loops

    async def room(self, timeout: float) -> None:
        """Wait until a loop takes a handed batch, `timeout` seconds at most."""
        self._room.clear()
        if self.worker.handed < self.loops:
            return
        try:
            async with asyncio.timeout(timeout):
                await self._room.wait()
        except TimeoutError:
            pass

    def deliver(self, moved: int, fanned: int, local: int, claimed: list[ClaimedDelivery]) -> None:
        """Learn from a statement's figures; give what it claimed to the worker, a batch per
        loop, waking a waiting loop for each (busy loops look for handed batches first)."""
        if moved > 0:
            self.fan_out = fanned / moved
            self.local_only = fanned == local
        if not claimed:
            return
        metrics.handed_over.inc(len(claimed))
        size = self.worker.batch_size
        for start in range(0, len(claimed), size):
            self.worker.hand(claimed[start : start + size])
            if self.wake.waiting:  # a busy loop looks for handed batches before it claims
                self.wake.set()  # (not remembered: a remembered wake-up means "claim")
