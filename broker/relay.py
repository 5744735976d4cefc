"""The relay: moves committed outbox rows onto the bus."""

import asyncio
from collections.abc import Callable

import structlog

from broker import metrics
from broker.signals import wait_signal
from broker.store import RELAY_BUSY, Store

log = structlog.get_logger("broker.relay")


class Relay:
    """Drains the outbox in batches whenever woken, and at least every `poll_interval`."""

    def __init__(
        self,
        store: Store,
        wake: asyncio.Event,
        *,
        batch_size: int = 500,
        poll_interval: float = 1.0,
        on_relayed: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.wake = wake
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.on_relayed = on_relayed
        # Another relay held the lock at the last try: look again soon, not a poll later, in
        # case rows committed after that relay's last statement began.
        self.busy = False

    async def run_once(self) -> int:
        """Move everything currently committed in the outbox; returns how many rows moved."""
        total = 0
        self.busy = False
        while True:
            moved = await self.store.relay_batch(self.batch_size)
            if moved == RELAY_BUSY:
                self.busy = True
                break
            total += moved
            if moved < self.batch_size:
                break
        if total:
            metrics.relayed.inc(total)
            if self.on_relayed is not None:  # this process's workers need not wait for the NOTIFY
                self.on_relayed()
        return total

    async def run(self) -> None:
        """Relay until cancelled. Database errors are logged and retried, never fatal."""
        delay = 0.1
        while True:
            await wait_signal(self.wake, min(self.poll_interval, 0.05) if self.busy else self.poll_interval)
            self.wake.clear()
            try:
                await self.run_once()
                delay = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("relay failed, retrying", error=f"{type(exc).__name__}: {exc}", retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
                self.wake.set()
