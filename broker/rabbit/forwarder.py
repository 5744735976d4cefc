"""The forwarder's worker: a claimed batch of `rabbitmq.forward` deliveries is published at once
(one write, `publishing.publish_all`) and its publisher confirms are awaited together
(pipelined), then settled in one statement.

An ordinary `Worker` settles each delivery as its handler finishes, which suits handlers of
uneven length; confirms arrive in a burst, so that turned one batch into dozens of small Postgres
writes. A failed publish is retried with the forwarder's policy (it never gives up).

A batch's confirms and its settling run beside the loop, not in it: the loop claims the next
batch as soon as this one is handed over. Awaiting them in the loop put a confirm (a quorum
queue's fsync) and a Postgres write (another fsync) in front of every later event, and at
200 events/s one batch a few milliseconds long is most of the gap between two events, so events
queued behind each other (docs/benchmarks.md, "latency path (issue 14, fourth pass)"). Claimed
deliveries are leased, so a batch still in flight is not claimed twice; one lost with the process
is published again after its lease (at least once, as every delivery).
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NoReturn

import structlog

from broker import metrics
from broker.backoff import run_forever
from broker.delivery import ClaimedDelivery, Delivery
from broker.store import Store
from broker.wakeup import Wakeup
from broker.worker import Bound, UndecodableEvent, Worker, decode
from contracts.envelope import Envelope

log = structlog.get_logger("broker.rabbit")

DRAIN_TIMEOUT = 5.0  # seconds a stopping forwarder gives its batches in flight to settle

# Publish envelopes (with their delivery attempts, for alerts); per envelope None, or the failure
# that sends its delivery to be retried.
ForwardAll = Callable[[Sequence[Envelope], Sequence[int]], Awaitable[list[BaseException | None]]]


def one_by_one(forward: ForwardAll) -> Callable[[Envelope, Delivery], Awaitable[None]]:
    """`forward` as the handler of one envelope (the subscription's handler, as a `Worker` runs it)."""

    async def forward_one(envelope: Envelope, ctx: Delivery) -> None:
        (failure,) = await forward([envelope], [ctx.attempt])
        if failure is not None:
            raise failure

    return forward_one


class Forwarder(Worker):
    """A `Worker` for the forwarder's one subscription whose batches are published together and
    settle together, beside its loop."""

    def __init__(self, store: Store, bound: Sequence[Bound], *, forward: ForwardAll, **options: Any) -> None:
        super().__init__(store, bound, **options)
        self.forward = forward
        self._in_flight: dict[asyncio.Task[None], int] = {}  # batches under way: how many deliveries
        self._wake: Wakeup | None = None  # the loop's, so a retry scheduled beside it is seen

    async def run(self, wake: Wakeup, *, poll_interval: float) -> NoReturn:
        """Forward until cancelled; when cancelled, give the batches in flight a moment to settle.

        Unlike `run_worker`, a batch that came back short is not followed by another claim at
        once: the claim took everything due, and whatever is relayed meanwhile wakes the loop
        (a `Wakeup` remembers a wake-up while nobody waits). That claim found nothing nearly
        every time, a Postgres statement per batch for nothing.
        """
        self._wake = wake

        async def claim_then_wait() -> None:
            claiming = True
            if self.handed:  # the relay claimed these (broker.handoff): no claim statement
                await self.run_claimed(await self._take_handed())
                # a claim only when told there is claimable work, a retry fell due, or a poll
                # interval after the last one (as `run_worker` does)
                claiming = wake.take() or self.claim_overdue(poll_interval)
            if claiming and await self.run_claimed(await self.claim()) >= self.batch_size:
                return  # a full batch: there may be more
            if self.handed:
                return
            timeout = poll_interval
            if self.retry_due is not None:
                timeout = min(timeout, self.retry_due - time.monotonic())
                if timeout <= 0:
                    self.retry_due = None
                    return
            await wake.wait(timeout)

        try:
            await run_forever(claim_then_wait, what="forwarder", logger="broker.rabbit")
        finally:
            await self.settled(DRAIN_TIMEOUT)
            await self.release_handed()  # published by whichever forwarder claims them next

    async def run_once(self) -> int:
        """Take a batch the relay handed over, else claim one, and hand it over to be published
        and settled; how many it held."""
        return await self.run_claimed(await self._take_handed() or await self.claim())

    async def run_claimed(self, claimed: list[ClaimedDelivery]) -> int:
        """Publish claimed deliveries with their confirms in flight together and settle them, in a
        task of its own; returns at once unless that would put more than a batch of messages in
        flight (then it waits for earlier batches: never more confirms outstanding than before);
        returns how many deliveries it took."""
        if not claimed:
            return 0
        while self._in_flight and sum(self._in_flight.values()) + len(claimed) > self.batch_size:
            await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
        task = asyncio.create_task(self._forward_batch(list(claimed)))
        self._in_flight[task] = len(claimed)
        task.add_done_callback(lambda done: self._in_flight.pop(done, None))
        return len(claimed)

    async def settled(self, timeout: float | None = None) -> bool:
        """Wait until every batch in flight is settled (at most `timeout` s); True if they are."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._in_flight:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            await asyncio.wait(set(self._in_flight), timeout=left)
        return True

    async def _forward_batch(self, claimed: list[ClaimedDelivery]) -> None:
        try:
            async with asyncio.timeout(self.lease):  # publishes time out sooner (PUBLISH_TIMEOUT)
                outcomes = await self._publish(claimed)
            await self.store.complete([c for c, outcome in zip(claimed, outcomes, strict=True) if outcome is None])
            for claim, outcome in zip(claimed, outcomes, strict=True):
                if isinstance(outcome, UndecodableEvent):
                    await self.store.dead_letter(claim, str(outcome), repr(outcome), "")
                elif outcome is not None:
                    await self._retry(claim, outcome)
        except Exception as exc:  # Postgres away: the batch comes back after its lease
            log.warning("settling a forwarded batch failed; it is forwarded again after its lease",
                        error=f"{type(exc).__name__}: {exc}", deliveries=len(claimed))

    async def _publish(self, claimed: list[ClaimedDelivery]) -> list[BaseException | None]:
        """Publish the batch's events; per delivery None, or why it failed (undecodable: dead-lettered)."""
        outcomes: list[BaseException | None] = [None] * len(claimed)
        decoded: list[tuple[int, Envelope]] = []
        for n, claim in enumerate(claimed):
            try:
                decoded.append((n, decode(claim, self.bound[claim.subscription_id].handler, self.upcast)))
            except UndecodableEvent as exc:
                outcomes[n] = exc
        failures = await self.forward([e for _, e in decoded], [claimed[n].attempt for n, _ in decoded])
        for (n, _), failure in zip(decoded, failures, strict=True):
            outcomes[n] = failure
            if failure is None:
                claim = claimed[n]
                metrics.delivered.labels(claim.event_type, self.bound[claim.subscription_id].ref.name).inc()
        return outcomes

    async def _retry(self, claim: ClaimedDelivery, exc: BaseException) -> None:
        bound = self.bound[claim.subscription_id]
        delay = bound.handler.retry.delay(claim.attempt)
        metrics.retried.labels(claim.event_type, bound.ref.name).inc()
        await self.store.retry(claim, delay, f"{type(exc).__name__}: {exc}")
        due = time.monotonic() + delay
        self.retry_due = due if self.retry_due is None else min(self.retry_due, due)
        if self._wake is not None:  # the loop may be waiting out a whole poll interval
            self._wake.set()
