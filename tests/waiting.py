"""The one way tests wait: poll a condition until it holds, or fail saying what never happened.

A test never sleeps to let something happen; it names the condition it is waiting for. These are
the only places in the suite where `sleep` stands for "wait".
"""

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class _Deadline:
    """When a wait gives up, and the one failure both waits raise then."""

    def __init__(self, timeout: float, what: str) -> None:
        self.timeout, self.what = timeout, what
        self.at = time.monotonic() + timeout

    def check(self, value: object) -> None:
        if time.monotonic() >= self.at:
            raise AssertionError(f"{self.what or 'condition'} not met within {self.timeout} s (last value: {value!r})")


async def wait_until(
    condition: Callable[[], T | Awaitable[T]],
    *,
    timeout: float = 10.0,
    interval: float = 0.02,
    what: str = "",
) -> T:
    """Await `condition()` (sync or async) until it returns something truthy, and return that."""
    deadline = _Deadline(timeout, what)
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        deadline.check(value)
        await asyncio.sleep(interval)


def wait_until_sync(
    condition: Callable[[], T],
    *,
    timeout: float = 10.0,
    interval: float = 0.05,
    what: str = "",
) -> T:
    """The same for synchronous tests (subprocesses, the browser, the running platform)."""
    deadline = _Deadline(timeout, what)
    while True:
        value = condition()
        if value:
            return value
        deadline.check(value)
        time.sleep(interval)
