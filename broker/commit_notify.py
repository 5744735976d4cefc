"""A publishing process wakes the relays (of any process) after its transaction ends, not inside it.

A NOTIFY inside the publisher's transaction would make PostgreSQL serialise the commits of
all publishing transactions (notifying commits take one global lock through their WAL flush),
which caps one-event-per-transaction publishing at a few hundred per second. Instead the
publishing process watches the connection it published on; once the transaction it published
in has ended (commit or rollback), it sends one NOTIFY from a connection of its own. Several
publishes coalesce into one NOTIFY. A spurious wake-up (after a rollback) costs the relay one
empty statement; a lost one costs at most the relay's poll interval.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import structlog

log = structlog.get_logger("broker.commit_notify")

CHANNEL = "bus_outbox"


def _transaction_of(conn: Any) -> object | None:
    """The asyncpg transaction `conn` is in, to tell one transaction from the next one.

    asyncpg keeps it on the connection (a pool hands out a proxy of it); None when unknown,
    e.g. a transaction opened with a plain `BEGIN`.
    """
    raw = getattr(conn, "_con", conn)
    return getattr(raw, "_top_xact", None)


def transaction_ended(conn: Any, marker: object | None) -> bool:
    """Whether the transaction `conn` was in when `marker` was taken has ended (committed or
    rolled back, not merely asked to: asyncpg forgets its transaction object before the COMMIT
    round trip, and a NOTIFY sent then could reach the relay before the rows are visible)."""
    try:
        if conn.is_closed() or not conn.is_in_transaction():
            return True
    except Exception:  # a proxy released to its pool, or not an asyncpg connection
        return True
    current = _transaction_of(conn)  # None while a COMMIT is in flight
    return marker is not None and current is not None and current is not marker


class CommitNotifier:
    """Sends `NOTIFY bus_outbox` once the transactions that published have ended."""

    def __init__(self, connect: Callable[[], Awaitable[asyncpg.Connection]], *, max_wait: float = 0.05) -> None:
        self._connect = connect
        self._pending: dict[int, tuple[Any, object | None]] = {}
        self._due = False
        self._ready = asyncio.Event()
        self._conn: asyncpg.Connection | None = None
        self.max_wait = max_wait

    def published(self, conn: Any) -> None:
        """Note a publish on `conn` (None: it committed already)."""
        if conn is None:
            self._due = True
        else:
            marker = _transaction_of(conn)
            previous = self._pending.get(id(conn))
            if previous is not None and previous[1] is not marker:
                self._due = True  # the connection's earlier publishing transaction is over
            self._pending[id(conn)] = (conn, marker)
        self._ready.set()

    async def run(self) -> None:
        """Until cancelled: wait for publishes, then for their transactions to end, then NOTIFY."""
        try:
            while True:
                await self._ready.wait()
                self._ready.clear()
                pause = 0.0
                while self._pending or self._due:
                    for key, (conn, marker) in list(self._pending.items()):
                        if transaction_ended(conn, marker):
                            del self._pending[key]
                            self._due = True
                    if self._due:
                        self._due = False
                        await self._notify()
                        # Under steady publishing the pause keeps growing (to `max_wait`): the relay
                        # is busy anyway, and frequent NOTIFYs cost the publishers and the relay CPU.
                        pause = max(pause, 0.001)
                    if self._pending:
                        await asyncio.sleep(pause)  # 0 first: most transactions commit within a tick
                        pause = min(self.max_wait, pause * 2 or 0.0002)
        finally:
            if self._conn is not None and not self._conn.is_closed():
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._conn.close(), 1.0)

    async def flush(self) -> None:
        """Send the wake-up still owed (the bus is closing); without it the relay would find
        the last events only at its next poll."""
        if self._pending or self._due:
            self._pending.clear()
            self._due = False
            await self._notify()

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
