"""The one loop that must never die: run a step again and again, backing off while it fails.

The relay, the worker loops, the LISTEN connection and the broadcast follower all run until
their bus closes; a database that goes away must slow them down, not end them.
"""

from collections.abc import Awaitable, Callable
from typing import NoReturn

import structlog
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, wait_exponential

FIRST_DELAY = 0.1
MAX_DELAY = 5.0


async def run_forever(step: Callable[[], Awaitable[object]], *, what: str, logger: str = "broker") -> NoReturn:
    """Await `step()` until cancelled. A step that raises is logged as "`what` failed" and run
    again after 0.1 s, doubling to 5 s while it keeps failing; a step that returns resets the
    delay. Cancellation is never retried."""
    log = structlog.get_logger(logger)

    def report(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        delay = state.next_action.sleep if state.next_action is not None else None
        log.warning(f"{what} failed, retrying", error=f"{type(exc).__name__}: {exc}", retry_in=delay)

    retrying = AsyncRetrying(
        retry=retry_if_exception_type(Exception),
        wait=wait_exponential(multiplier=FIRST_DELAY, min=FIRST_DELAY, max=MAX_DELAY),
        before_sleep=report,
        reraise=True,
    )
    while True:
        try:
            await step()  # the usual case, without tenacity's per-call bookkeeping (a worker
            continue  # loop runs a step per claimed batch: thousands a second on RabbitMQ)
        except Exception as exc:
            first: BaseException | None = exc

        async def again() -> object:
            """The step again, its first failure replayed, so tenacity logs and backs off as usual."""
            nonlocal first
            if first is not None:
                failed, first = first, None
                raise failed
            return await step()

        await retrying(again)  # a fresh retry state (first delay) for each failing step
