"""Broadcast subscriptions: every process of a service runs them on every matching event.

Competing subscriptions share their deliveries among the processes of a service (one row per
event and subscription, claimed by one worker). A broadcast subscription is for what each
process must see itself, such as invalidating a cache: each process follows the events log
from where it stood when it started and runs its broadcast handlers on the matching events.
Nothing is recorded per process, so there is nothing to retire when a process goes away; in
exchange a broadcast is delivered once, only to the processes alive at the time, and a
failing handler is logged, not retried.
"""

import asyncio
from collections.abc import Sequence
from typing import NoReturn

import structlog

from broker import context
from broker.backoff import run_forever
from broker.delivery import ClaimedDelivery, Delivery
from broker.patterns import matches
from broker.router import Handler
from broker.store import LogStore
from broker.wakeup import Wakeup
from broker.worker import Upcaster, decode

log = structlog.get_logger("broker.follower")


class BroadcastFollower:
    """Runs a service's broadcast handlers on the events logged since `start()`."""

    def __init__(
        self,
        store: LogStore,
        service: str,
        handlers: Sequence[Handler],
        *,
        upcast: Upcaster | None = None,
        handler_timeout: float = 120.0,
    ) -> None:
        self.store = store
        self.service = service
        self.handlers = list(handlers)
        self.patterns = sorted({h.pattern for h in self.handlers})
        self.upcast = upcast
        self.handler_timeout = handler_timeout
        self.position: object = None

    async def start(self) -> None:
        """Take the position to follow from: events logged from now on reach this process."""
        if self.position is None:
            self.position = await self.store.follow_start()

    async def run_once(self) -> int:
        """Run the handlers on the events logged since the last call; returns how many events."""
        await self.start()
        events, self.position = await self.store.follow(self.position, self.patterns)
        for event in events:
            for handler in self.handlers:
                if matches(handler.pattern, event.event_type):
                    await self._call(handler, event)
        return len(events)

    async def run(self, wake: Wakeup, *, poll_interval: float) -> NoReturn:
        """Follow until cancelled: woken by new events, and at least every `poll_interval`."""

        async def follow_then_wait() -> None:
            await self.run_once()
            await wake.wait(poll_interval)

        await run_forever(follow_then_wait, what="broadcast follower", logger="broker.follower")

    async def _call(self, handler: Handler, event: ClaimedDelivery) -> None:
        """Run one handler on one event; a failure is logged (a broadcast is never retried)."""
        name = f"{self.service}.{handler.name}"
        context.correlation_id.set(event.correlation_id or event.event_id)
        context.causation_id.set(event.event_id)
        try:
            argument = decode(event, handler, self.upcast)
            timeout = self.handler_timeout if handler.timeout is None else handler.timeout
            async with asyncio.timeout(timeout):
                if handler.wants_context:
                    await handler.func(argument, Delivery(event, name, self.store, inbox=False))
                else:
                    await handler.func(argument)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            log.error("broadcast handler cancelled itself", subscription=name, event_id=str(event.event_id))
        except Exception as exc:  # UndecodableEvent too
            log.error("broadcast handler failed; broadcasts are not retried", subscription=name,
                      event_id=str(event.event_id), event_type=event.event_type,
                      error=f"{type(exc).__name__}: {exc}")
