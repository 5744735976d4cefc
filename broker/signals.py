"""Wake-ups fanned out to several waiters, each with its own asyncio.Event.

A shared Event would let one waiter's `clear()` swallow another's wake-up.
"""

import asyncio


class Broadcast:
    """`set()` wakes every subscriber; each subscriber clears only its own event."""

    def __init__(self) -> None:
        self._events: list[asyncio.Event] = []

    def subscribe(self) -> asyncio.Event:
        event = asyncio.Event()
        self._events.append(event)
        return event

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
