"""The background tasks a bus runs (relay, workers, LISTEN, housekeeping), and stopping them for sure."""

import asyncio
from collections.abc import Coroutine, Iterable
from typing import Any

import structlog

log = structlog.get_logger("broker.bus")


class BackgroundTasks:
    """Named tasks started for one service, all stopped together.

    Args:
        prefix: the service's name, the start of every task's name (it shows in logs).
    """

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._tasks: list[asyncio.Task[Any]] = []

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> None:
        """Run `coro` in the background as the task `<prefix>-<name>`."""
        self._tasks.append(asyncio.create_task(coro, name=f"{self.prefix}-{name}"))

    def adopt(self, tasks: Iterable[asyncio.Task[Any]]) -> None:
        """Stop `tasks`, started elsewhere (the RabbitMQ transport), together with these."""
        self._tasks.extend(tasks)

    async def stop(self) -> None:
        """Cancel every task and wait for it to end; log those that failed or would not stop.

        Cancels again until every task has ended: a cancellation can be lost inside a
        library's own timeout handling, and a loop that survived would run on after close.
        """
        tasks, self._tasks = self._tasks, []
        pending = {task for task in tasks if not task.done()}
        for _ in range(50):
            if not pending:
                break
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=0.2)
        for task in pending:
            log.error("background task did not stop", task=task.get_name())
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                log.warning("background task had failed", task=task.get_name(), error=str(task.exception()))
