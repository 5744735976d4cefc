"""Wake the relay after a publishing transaction ends, not inside it.

A NOTIFY inside the publisher's transaction would make PostgreSQL serialise the commits of
all publishing transactions (notifying commits take one global lock through their WAL flush),
which caps one-event-per-transaction publishing at a few hundred per second. Instead the
publishing process watches the connection it published on; once that connection has left its
transaction (commit or rollback), it sends one NOTIFY from a connection of its own. Several
publishes coalesce into one NOTIFY. A spurious wake-up (after a rollback) costs the relay one
empty statement; a lost one costs at most the relay's poll interval.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import structlog

log = structlog.get_logger("broker.nudge")

CHANNEL = "bus_outbox"


def in_transaction(conn: Any) -> bool:
    """Whether `conn` is still inside a transaction (False for closed or unknown connections)."""
    try:
        return bool(conn.is_in_transaction()) and not conn.is_closed()
    except Exception:  # a proxy released to its pool, or not an asyncpg connection
        return False


class Nudger:
    """Sends `NOTIFY bus_outbox` once the transactions that published have ended."""

    def __init__(self, connect: Callable[[], Awaitable[asyncpg.Connection]], *, max_wait: float = 0.05) -> None:
        self._connect = connect
        self._pending: list[Any] = []
        self._ready = asyncio.Event()
        self._conn: asyncpg.Connection | None = None
        self.max_wait = max_wait

    def published(self, conn: Any) -> None:
        """Note a publish on `conn` (None: it committed already)."""
        self._pending.append(conn)
        self._ready.set()

    async def run(self) -> None:
        """Until cancelled: wait for publishes, then for their transactions to end, then NOTIFY."""
        try:
            while True:
                await self._ready.wait()
                self._ready.clear()
                pause = 0.0
                while self._pending:
                    waiting = [conn for conn in self._pending if conn is not None and in_transaction(conn)]
                    if len(waiting) < len(self._pending):
                        self._pending = waiting
                        await self._notify()
                    if waiting:
                        await asyncio.sleep(pause)  # 0 first: most transactions commit within a tick
                        pause = min(self.max_wait, pause * 2 or 0.0002)
        finally:
            if self._conn is not None and not self._conn.is_closed():
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._conn.close(), 1.0)

    async def _notify(self) -> None:
        try:
            if self._conn is None or self._conn.is_closed():
                # No flush to wait for: the NOTIFY carries no data the relay could lose.
                self._conn = await self._connect()
                await self._conn.execute("SET synchronous_commit = off")
            await self._conn.execute(f"NOTIFY {CHANNEL}")
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("could not wake the relay; it will find the events when it polls", error=str(exc))
            self._conn = None
