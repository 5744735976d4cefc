"""PostgreSQL wakes this process's loops: a LISTEN connection turns NOTIFY into wake-ups.

Notifications sent while the connection is down are lost; on every (re)connect the listener
wakes everyone anyway, and the loops also poll, so a lost notification only delays.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, NoReturn, Protocol

import asyncpg
import structlog

from broker.backoff import run_forever
from broker.wakeup import wait_event

log = structlog.get_logger("broker.listen")


class Wakeable(Protocol):
    def set(self) -> None: ...


class NotifyListener:
    """Listens on the channels of `wakeups` and sets the matching one on each notification."""

    def __init__(
        self,
        connect: Callable[[], Awaitable[asyncpg.Connection]],
        wakeups: Mapping[str, Wakeable],
        *,
        check_interval: float = 2.0,
    ) -> None:
        self._connect = connect
        self.wakeups = wakeups
        self.check_interval = check_interval
        self.connected = asyncio.Event()
        self.reconnects = 0

    def _wake_all(self) -> None:
        for wakeup in self.wakeups.values():
            wakeup.set()

    def _on_notify(self, _conn: Any, _pid: int, channel: str, _payload: object) -> None:
        wakeup = self.wakeups.get(channel)
        if wakeup is not None:
            wakeup.set()

    async def run(self) -> NoReturn:
        """Listen until cancelled: reconnect at once when a connection is lost, with backoff
        while connecting fails."""
        await run_forever(self._listen, what="LISTEN connection", logger="broker.listen")

    async def _listen(self) -> None:
        """One connection: return when it is lost after it worked; raise if it never did."""
        conn: asyncpg.Connection | None = None
        try:
            conn = await self._connect()
            lost = asyncio.Event()
            conn.add_termination_listener(lambda _c, lost=lost: lost.set())
            for channel in self.wakeups:
                await conn.add_listener(channel, self._on_notify)
            self.connected.set()
            self._wake_all()
            while not lost.is_set():
                if not await wait_event(lost, self.check_interval):
                    async with asyncio.timeout(self.check_interval):
                        await conn.execute("SELECT 1")
            raise ConnectionError("listen connection closed")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            was_connected = self.connected.is_set()
            self.connected.clear()
            self.reconnects += 1
            self._wake_all()  # whatever was notified meanwhile is lost: everyone looks now
            if not was_connected:
                raise
            log.warning("listen connection lost, reconnecting", error=f"{type(exc).__name__}: {exc}")
        finally:
            if conn is not None and not conn.is_closed():
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(conn.close(), 1.0)
