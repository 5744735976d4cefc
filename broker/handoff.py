"""The relay's hand-off: deliveries fanned out to subscriptions this process serves go straight
to one of its idle worker loops, claimed by the relay's own statement.

Otherwise every batch costs a claim statement between the relay's statement and the handlers
(about a millisecond of latency, and the claim's index writes per delivery, which set the
bus's throughput: docs/benchmarks.md). The relay hands over only while a worker loop waits
for work and no handed batch is waiting for a loop, so a busy process claims as before, and
priorities and the claim's fair share decide who goes first whenever there is a queue.
Ordered subscriptions are never handed over: their keys wait for earlier deliveries.
"""

from broker.delivery import ClaimedDelivery
from broker.store import HandoffClaim
from broker.wakeup import Wakeup
from broker.worker import Worker


class Handoff:
    """Decides, per relay statement, whether the relay claims for `worker`, and passes the
    claimed batch on. `idle` is the wake-up the worker's loops share (their waiting count
    says how many are idle)."""

    def __init__(self, worker: Worker, idle: Wakeup) -> None:
        self.worker = worker
        self.idle = idle
        self.subscription_ids = [b.ref.id for b in worker.bound.values() if not b.handler.ordered]

    def claim(self) -> HandoffClaim | None:
        """What the next relay statement may claim for this process: None while no loop is free."""
        if not self.subscription_ids or self.idle.waiting <= self.worker.handed:
            return None
        return HandoffClaim(self.subscription_ids, self.worker.batch_size, self.worker.lease, self.worker.worker_id)

    def deliver(self, claimed: list[ClaimedDelivery]) -> None:
        """Give a batch the relay claimed to the worker, and wake one of its loops for it."""
        if claimed:
            self.worker.hand(claimed)
            self.idle.set()
