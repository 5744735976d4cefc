"""The forwarder's worker: a claimed batch of `rabbitmq.forward` deliveries is published at once
and its publisher confirms are awaited together (pipelined), then settled in one statement.

An ordinary `Worker` settles each delivery as its handler finishes, which suits handlers of
uneven length; confirms arrive in a burst, so that turned one batch into dozens of small Postgres
writes. A failed publish is retried with the forwarder's policy (it never gives up).
"""

import asyncio
import time

from broker import metrics
from broker.delivery import ClaimedDelivery, Delivery
from broker.worker import UndecodableEvent, Worker, decode


class Forwarder(Worker):
    """A `Worker` for the forwarder's one subscription whose batch settles together."""

    async def run_once(self) -> int:
        """Claim a batch, publish it with confirms in flight together, settle it; how many claimed."""
        claimed = await self.store.claim(self.refs, self.batch_size, self.lease, self.worker_id)
        if not claimed:
            return 0
        async with asyncio.timeout(self.lease):  # publishes time out sooner (PUBLISH_TIMEOUT)
            outcomes = await asyncio.gather(*(self._forward(c) for c in claimed), return_exceptions=True)
        await self.store.complete([c for c, outcome in zip(claimed, outcomes, strict=True) if outcome is None])
        for claim, outcome in zip(claimed, outcomes, strict=True):
            if isinstance(outcome, UndecodableEvent):
                await self.store.dead_letter(claim, str(outcome), repr(outcome), "")
            elif outcome is not None:
                await self._retry(claim, outcome)
        return len(claimed)

    async def _forward(self, claim: ClaimedDelivery) -> None:
        bound = self.bound[claim.subscription_id]
        envelope = decode(claim, bound.handler, self.upcast)
        await bound.handler.func(envelope, Delivery(claim, bound.ref.name, self.store))
        metrics.delivered.labels(claim.event_type, bound.ref.name).inc()

    async def _retry(self, claim: ClaimedDelivery, exc: BaseException) -> None:
        bound = self.bound[claim.subscription_id]
        delay = bound.handler.retry.delay(claim.attempt)
        metrics.retried.labels(claim.event_type, bound.ref.name).inc()
        await self.store.retry(claim, delay, f"{type(exc).__name__}: {exc}")
        due = time.monotonic() + delay
        self.retry_due = due if self.retry_due is None else min(self.retry_due, due)
