"""Wake-ups fanned out to several waiters, each with its own asyncio.Event.

A shared Event would let one waiter's `clear()` swallow another's wake-up.
"""

import asyncio
from collections import deque


class Broadcast:
    """`set()` wakes every subscriber; each subscriber clears only its own event."""

    def __init__(self) -> None:
        self._events: list[asyncio.Event | Doorbell] = []

    def subscribe(self) -> asyncio.Event:
        event = asyncio.Event()
        self._events.append(event)
        return event

    def doorbell(self) -> "Doorbell":
        """A subscriber that wakes one of several waiters per notification."""
        bell = Doorbell()
        self._events.append(bell)
        return bell

    def set(self) -> None:
        for event in self._events:
            event.set()


async def wait_signal(event: asyncio.Event, timeout: float) -> bool:
    """Wait for `event` at most `timeout` seconds; True if it was set.

    `asyncio.timeout` rather than `asyncio.wait_for`: on Python 3.11 `wait_for` can swallow a
    cancellation that arrives as the event is set, and a loop that lost its cancellation runs
    on after its bus was closed.
    """
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True


class Doorbell:
    """Wakes one waiting worker loop per ring, so a trickle of events does not send every idle
    loop of a process to claim the same delivery (all but one would come back empty).

    A ring while no loop waits is remembered (once): the next loop to wait returns at once.
    A loop that claims a full batch rings again, so idle loops join in when work piles up.
    """

    def __init__(self) -> None:
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._pending = False

    @property
    def waiting(self) -> int:
        """How many loops wait for a ring now."""
        return sum(not waiter.done() for waiter in self._waiters)

    def set(self) -> None:
        """Ring (named like Event.set so a Broadcast can ring it)."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._pending = True

    async def wait(self, timeout: float) -> bool:
        """Wait for a ring at most `timeout` seconds; True if rung."""
        if self._pending:
            self._pending = False
            return True
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                await waiter
        except TimeoutError:
            return False
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
        return True
