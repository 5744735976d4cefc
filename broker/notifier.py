"""A reconnecting LISTEN loop that turns NOTIFY into asyncio wake-ups.

Notifications sent while the connection is down are lost; on every reconnect the loop wakes
everyone anyway, and the relay and workers also poll, so a lost notification only delays.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol

import asyncpg
import structlog

from broker.signals import wait_signal

log = structlog.get_logger("broker.notifier")


class Wakeable(Protocol):
    def set(self) -> None: ...

class Notifier:
    """Listens on `channels` and sets the matching asyncio.Event on each notification."""

    def __init__(
        self,
        connect: Callable[[], Awaitable[asyncpg.Connection]],
        signals: Mapping[str, "Wakeable"],
        *,
        check_interval: float = 2.0,
    ) -> None:
        self._connect = connect
        self.signals = signals
        self.check_interval = check_interval
        self.connected = asyncio.Event()
        self.reconnects = 0

    def _wake_all(self) -> None:
        for signal in self.signals.values():
            signal.set()

    def _on_notify(self, _conn: Any, _pid: int, channel: str, _payload: object) -> None:
        signal = self.signals.get(channel)
        if signal is not None:
            signal.set()

    async def run(self) -> None:
        """Listen until cancelled, reconnecting with backoff when the connection drops."""
        delay = 0.1
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await self._connect()
                lost = asyncio.Event()
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                for channel in self.signals:
                    await conn.add_listener(channel, self._on_notify)
                self.connected.set()
                self._wake_all()
                delay = 0.1
                while not lost.is_set():
                    if not await wait_signal(lost, self.check_interval):
                        async with asyncio.timeout(self.check_interval):
                            await conn.execute("SELECT 1")
                raise ConnectionError("listen connection closed")
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # any failure: reconnect, never die
                self.connected.clear()
                self.reconnects += 1
                log.warning("listen connection lost, reconnecting", error=str(exc), retry_in=delay)
                self._wake_all()
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            finally:
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), 1.0)
