"""Wake-ups inside a process: whatever learns of work (a NOTIFY, a publish, a relayed batch)
wakes the loops that do it (relay, workers, callback dispatcher, broadcast follower).

One primitive, `Wakeup`: each `set()` wakes one loop waiting on it, or, when none waits, the
next one to wait. A loop with a `Wakeup` of its own gets every wake-up; loops that share one
(a process's worker loops) take turns, so a trickle of events does not send every idle loop
to claim the same delivery. `Wakeups` fans one `set()` out to several of them.
"""

import asyncio
from collections import deque


class Wakeup:
    """Wakes one waiting loop per `set()`; a `set()` while no loop waits is remembered (once).

    A worker loop that claims a full batch sets it again, so idle loops join in when work
    piles up.
    """

    def __init__(self) -> None:
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._pending = False

    @property
    def waiting(self) -> int:
        """How many loops wait now."""
        return sum(not waiter.done() for waiter in self._waiters)

    def set(self) -> None:
        """Wake one waiting loop, or the next to wait."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self._pending = True

    def take(self) -> bool:
        """Consume a remembered `set()` without waiting; True if there was one."""
        pending, self._pending = self._pending, False
        return pending

    async def wait(self, timeout: float) -> bool:
        """Wait to be woken at most `timeout` seconds; True if woken."""
        if self._pending:
            self._pending = False
            return True
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(max(timeout, 0.0)):
                await waiter
        except TimeoutError:
            return False
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)
        return True


class Wakeups:
    """One source of wake-ups (a NOTIFY channel, the relay) for several loops: `set()` sets
    every `Wakeup` handed out, each of which wakes one of the loops that wait on it."""

    def __init__(self) -> None:
        self._wakeups: list[Wakeup] = []

    def wakeup(self) -> Wakeup:
        """A new `Wakeup` woken by this source, for one loop or a group that takes turns."""
        wakeup = Wakeup()
        self._wakeups.append(wakeup)
        return wakeup

    def set(self) -> None:
        for wakeup in self._wakeups:
            wakeup.set()


async def wait_event(event: asyncio.Event, timeout: float) -> bool:
    """Wait for a state flag (connected, ready) at most `timeout` seconds; True if it was set.

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
