"""The one way tests wait: poll a condition until it holds, or fail saying what never happened.

A test never sleeps to let something happen; it names the condition it is waiting for. These are
the only places in the suite where `sleep` stands for "wait".
"""

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypedDict, TypeVar, Unpack

T = TypeVar("T")


class WaitOptions(TypedDict, total=False):
    """How long to wait (`timeout`, s), how often to look (`interval`, s) and what for (`what`, for the failure)."""

    timeout: float
    interval: float
    what: str


class _Poll:
    """One wait's options and deadline: whether a value ends the wait, and the one failure both waits raise."""

    def __init__(self, options: WaitOptions, interval: float) -> None:
        self.timeout = options.get("timeout", 10.0)
        self.interval = options.get("interval", interval)
        self.what = options.get("what", "")
        self.at = time.monotonic() + self.timeout

    def done(self, value: object) -> bool:
        """True once `value` is truthy; raises once the deadline has passed without it."""
        if value:
            return True
        if time.monotonic() >= self.at:
            raise AssertionError(f"{self.what or 'condition'} not met within {self.timeout} s (last value: {value!r})")
        return False


async def _resolved(value: T | Awaitable[T]) -> T:
    return await value if inspect.isawaitable(value) else value


async def wait_until(condition: Callable[[], T | Awaitable[T]], **options: Unpack[WaitOptions]) -> T:
    """Await `condition()` (sync or async) until it returns something truthy, and return that."""
    poll = _Poll(options, interval=0.02)
    while True:
        if poll.done(value := await _resolved(condition())):
            return value
        await asyncio.sleep(poll.interval)


def wait_until_sync(condition: Callable[[], T], **options: Unpack[WaitOptions]) -> T:
    """The same for synchronous tests (subprocesses, the browser, the running platform)."""
    poll = _Poll(options, interval=0.05)
    while True:
        if poll.done(value := condition()):
            return value
        time.sleep(poll.interval)
