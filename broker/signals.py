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
