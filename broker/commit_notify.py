"""A publishing process wakes the relays (of any process) after its transaction ends, not inside it.

A NOTIFY inside the publisher's transaction would make PostgreSQL serialise the commits of
all publishing transactions (notifying commits take one global lock through their WAL flush),
which caps one-event-per-transaction publishing at a few hundred per second. Instead the
publishing process watches the connection it published on: asyncpg reports every statement a
connection finishes to its query loggers, so the COMMIT (or ROLLBACK) that ends the publishing
transaction wakes the notifier the moment its answer arrives, and the notifier sends one NOTIFY
from a connection of its own; under steady publishing several commits share one (see `run`).
A spurious wake-up (after a rollback) costs the relay one empty statement; a lost one costs at
most the relay's poll interval. A connection that ends its transaction without a statement
(closed, lost) is noticed by a slow sweep every `max_wait`.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import structlog

from broker.wakeup import wait_event

log = structlog.get_logger("broker.commit_notify")

CHANNEL = "bus_outbox"
_BURST = 0.001  # a commit ending this soon after the last NOTIFY is part of a burst (seconds)


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


class _Watch:
    """One publishing connection's open transaction, and the query logger that reports its end."""

    __slots__ = ("conn", "logger", "marker")

    def __init__(self, conn: Any, marker: object | None, logger: Callable[[object], None]) -> None:
        self.conn = conn
        self.marker = marker
        self.logger = logger


class CommitNotifier:
    """Sends `NOTIFY bus_outbox` once the transactions that published have ended."""

    def __init__(
        self, connect: Callable[[], Awaitable[asyncpg.Connection]], *, max_wait: float = 0.05, burst_cap: float = 0.01
    ) -> None:
        self._connect = connect
        self._watches: dict[int, _Watch] = {}
        self._due = False
        self._ready = asyncio.Event()
        self._conn: asyncpg.Connection | None = None
        # Held while a wake-up is being sent: `flush` waits for it, so a closing bus never cancels
        # a connect half-way (asyncpg then leaves a "Future exception was never retrieved" behind).
        self._sending = asyncio.Lock()
        self.max_wait = max_wait  # the sweep for transactions that ended without a statement
        self.burst_cap = burst_cap  # the longest a commit waits for its NOTIFY in a burst

    def published(self, conn: Any) -> None:
        """Note a publish on `conn` (None: it committed already)."""
        if conn is None:
            self._wake()
            return
        raw = getattr(conn, "_con", conn)  # a pool's proxy forgets its connection on release
        marker = _transaction_of(conn)
        if raw is not None and transaction_ended(raw, marker):  # a statement of its own: committed
            self._wake()
            return
        watch = self._watches.get(id(raw))
        if watch is not None:
            if watch.marker is not marker:
                self._due = True  # the connection's earlier publishing transaction is over
                watch.marker = marker
            return
        key = id(raw)
        watch = _Watch(raw, marker, lambda _record: self._check(key))
        self._watches[key] = watch
        with contextlib.suppress(AttributeError):  # not an asyncpg connection: the sweep finds its end
            raw.add_query_logger(watch.logger)
        self._ready.set()  # the run loop sweeps while something is watched

    def _check(self, key: int) -> None:
        """A statement finished on a watched connection: wake up if its transaction is over."""
        watch = self._watches.get(key)
        if watch is not None and transaction_ended(watch.conn, watch.marker):
            self._unwatch(key)
            self._wake()

    def _unwatch(self, key: int) -> None:
        watch = self._watches.pop(key)
        with contextlib.suppress(Exception):
            watch.conn.remove_query_logger(watch.logger)

    def _wake(self) -> None:
        self._due = True
        self._ready.set()

    def _sweep(self) -> None:
        """The fallback for transactions that ended without a statement (connection closed)."""
        for key, watch in list(self._watches.items()):
            if transaction_ended(watch.conn, watch.marker):
                self._unwatch(key)
                self._due = True

    async def run(self) -> None:
        """Until cancelled: wait for publishing transactions to end, then NOTIFY.

        A commit that ends more than `_BURST` after the last NOTIFY is announced at once. Under
        steady publishing (a commit ending within `_BURST` of each NOTIFY) the next NOTIFY waits
        for a gap that doubles, up to `burst_cap` (and `max_wait`), so many commits share one: a NOTIFY per commit
        would cost publishers and relay more CPU than the events. The cap is what a commit in a
        burst may wait; it was `max_wait` (50 ms), and a paced publisher catching up after a
        stall left events that long in the outbox (docs/benchmarks.md, the latency tail).
        """
        loop = asyncio.get_running_loop()
        gap, last = _BURST, float("-inf")
        try:
            while True:
                if self._watches:
                    if not await wait_event(self._ready, self.max_wait):
                        self._sweep()
                else:
                    await self._ready.wait()
                self._ready.clear()
                if not self._due:
                    continue
                since = loop.time() - last
                if since < _BURST:
                    gap = min(self.burst_cap, self.max_wait, gap * 2)
                    await asyncio.sleep(gap - since)
                else:
                    gap = _BURST
                self._due = False
                await self._notify()
                last = loop.time()
        finally:
            for key in list(self._watches):
                self._unwatch(key)
            if self._conn is not None and not self._conn.is_closed():
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self._conn.close(), 1.0)

    async def flush(self) -> None:
        """Send the wake-up still owed (the bus is closing); without it the relay would find
        the last events only at its next poll. A wake-up already being sent is let finish."""
        if self._watches or self._due:
            for key in list(self._watches):
                self._unwatch(key)
            self._due = False
            await self._notify()
        else:
            async with self._sending:
                pass

    async def _notify(self) -> None:
        async with self._sending:
            await self._send()

    async def _send(self) -> None:
        try:
            if self._conn is None or self._conn.is_closed():
                # No flush to wait for: the NOTIFY carries no data the relay could lose.
                self._conn = await self._connect()
                await self._conn.execute("SET synchronous_commit = off")
            await self._conn.execute(f"NOTIFY {CHANNEL}")
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("could not wake the relay; it will find the events when it polls", error=str(exc))
            self._conn = None
