"""The inbox of one claimed batch: its deliveries' effectively-once transactions share one
database transaction, a savepoint each, committed together (group commit).

Each inboxed delivery used to commit a transaction of its own, so inboxed throughput followed
the machine's commit rate. Here the handlers of a batch take turns on one connection (a
savepoint stack allows one open unit of work at a time). A handler's writes and its inbox row
sit in its savepoint; a failing handler rolls back only that savepoint. The handler that leaves
its savepoint with nobody waiting for a turn commits the transaction for everyone in it, and
every handler waits at the end of its `ctx.transaction()` block until its writes committed —
so, as before, a block that ended has committed, and a crash before the commit repeats the
delivery with nothing of it committed.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import asyncpg

from broker.errors import AlreadyHandled
from broker.queries import query

# Savepoints that wrote get a subtransaction id each; PostgreSQL caches 64 per backend, past
# which every other session's snapshot checks pay a lookup in pg_subtrans. Commit before that.
MAX_SAVEPOINTS = 60


def _literal(text: str) -> str:
    """`text` as an SQL string literal (standard_conforming_strings, PostgreSQL's default since 9.1)."""
    if "\0" in text:
        raise ValueError("an SQL literal cannot hold a NUL character")
    return "'" + text.replace("'", "''") + "'"


class InboxNotCommitted(Exception):
    """The shared commit failed: the handler's writes and inbox row rolled back with it."""


def _retrieved(future: "asyncio.Future[None]") -> None:
    """Mark a failed commit's error as seen (a transaction nobody waits for any more is fine)."""
    if not future.cancelled():
        future.exception()


class InboxBatch:
    """One transaction on `pool` shared by the inboxed deliveries of a claimed batch."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.turn = asyncio.Lock()  # one savepoint open at a time on the shared connection
        self.queued = 0  # handlers waiting for a turn: the last one out commits
        self._conn: Any = None
        self._tx: Any = None
        self._committed: asyncio.Future[None] | None = None
        self._savepoints = 0
        self._savepoint_open = False  # the last delivery's savepoint, released with the next statement
        # A statement of ours failed or was cancelled half-way: the transaction may be aborted, and
        # PostgreSQL answers COMMIT on an aborted transaction with a silent ROLLBACK. Never commit it.
        self._broken = False

    @asynccontextmanager
    async def transaction(self, subscription: str, event_id: UUID) -> AsyncIterator[Any]:
        """A savepoint recording the event in the inbox (AlreadyHandled if a previous delivery
        of it committed); returns once the writes committed (InboxNotCommitted if they did not)."""
        self.queued += 1
        try:
            await self.turn.acquire()
        except BaseException:
            self.queued -= 1
            with contextlib.suppress(Exception):  # the waiters learn of a failed commit themselves
                await self._commit_if_last()  # whoever left before us counted on us to commit
            raise
        self.queued -= 1
        committed = None
        try:
            conn = await self._begin()
            self._savepoints += 1
            opened = query("inbox_savepoint").format(
                subscription=_literal(subscription), event_id=_literal(str(event_id))
            )
            was_broken, self._broken = self._broken, True  # until the statement is known to have finished
            status = await conn.execute(("RELEASE SAVEPOINT inbox; " if self._savepoint_open else "") + opened)
            self._broken, self._savepoint_open = was_broken, True
            if status.endswith(" 0"):  # INSERT 0 0: an earlier delivery of the event committed
                raise AlreadyHandled()
            try:
                yield conn
            except BaseException:
                self._broken, self._savepoint_open = True, False
                await conn.execute(query("inbox_rollback"))
                self._broken = was_broken
                raise
            committed = self._committed
        finally:
            try:
                if self.queued == 0 or self._savepoints >= MAX_SAVEPOINTS:
                    await self._end(commit=True)
            finally:
                self.turn.release()
        if committed is not None:
            await asyncio.shield(committed)  # a waiter cancelled (its timeout) must not cancel the others' wait

    async def close(self) -> None:
        """Roll back a transaction left open (the worker stopped mid-batch) and hand its connection back."""
        async with self.turn:
            await self._end(commit=False)

    async def _commit_if_last(self) -> None:
        if self.queued == 0 and self._conn is not None:
            async with self.turn:
                if self.queued == 0:
                    await self._end(commit=True)

    async def _begin(self) -> Any:
        if self._conn is None:
            conn = await self.pool.acquire()
            try:
                tx = conn.transaction()
                await tx.start()
            except BaseException:
                await self.pool.release(conn)
                raise
            self._conn, self._tx = conn, tx
            self._committed = asyncio.get_running_loop().create_future()
            self._committed.add_done_callback(_retrieved)
        return self._conn

    async def _end(self, *, commit: bool) -> None:
        if self._conn is None:
            return
        conn, tx, committed, broken, savepoint_open = (
            self._conn, self._tx, self._committed, self._broken, self._savepoint_open
        )
        assert committed is not None
        self._conn, self._tx, self._committed, self._savepoints = None, None, None, 0
        self._savepoint_open = self._broken = False
        try:
            if commit and broken:
                await tx.rollback()
                raise InboxNotCommitted("a statement of the batch's inbox transaction failed half-way")
            if commit:
                if savepoint_open:  # fails if a handler swallowed an error and left the transaction aborted
                    await conn.execute("RELEASE SAVEPOINT inbox")
                await tx.commit()
                if not committed.done():
                    committed.set_result(None)
            else:
                await tx.rollback()
        except BaseException as exc:
            if not committed.done():
                committed.set_exception(
                    InboxNotCommitted(f"the batch's inbox transaction did not commit: {type(exc).__name__}: {exc}")
                )
            raise
        finally:
            if not committed.done():
                committed.set_exception(InboxNotCommitted("the batch's inbox transaction was rolled back"))
            await self.pool.release(conn)  # rolls back what is left, or drops a broken connection
