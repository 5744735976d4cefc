"""A service's database handle: one Piccolo engine per app (never a global, so two apps share
a process in tests), its tables bound to it, and the transactions handlers run in.

Where the tables live is the settings' strategy (`ModuleSettings.data_url`): `shared` puts
them, prefixed, in the platform database; `separate` in `MODULE_DATABASE_URL`.
"""

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Generic, TypeVar, overload

import asyncpg
from piccolo.engine.postgres import PostgresEngine

T = TypeVar("T")


class Database(Generic[T]):
    """The engine pointed at the module's data database, and the Piccolo tables `make_tables`
    binds to it (`Database[None]` for a module that queries in SQL only)."""

    @overload
    def __init__(self: "Database[None]", url: str, prefix: str, make_tables: None = None, *,
                 pool_size: int = 10) -> None: ...

    @overload
    def __init__(self, url: str, prefix: str, make_tables: Callable[[str, PostgresEngine], T], *,
                 pool_size: int = 10) -> None: ...

    def __init__(self, url: str, prefix: str, make_tables: Callable[[str, PostgresEngine], T] | None = None, *,
                 pool_size: int = 10) -> None:
        self.url = url
        self.prefix = prefix
        self.pool_size = pool_size
        self.engine = PostgresEngine(config={"dsn": url})
        self.tables = make_tables(prefix, self.engine) if make_tables is not None else None

    def t(self, short: str) -> str:
        """Quoted SQL name of one of the module's tables, for raw queries."""
        return f'"{self.prefix}{short}"'

    async def start(self) -> None:
        await self.engine.start_connection_pool(min_size=1, max_size=self.pool_size)

    async def stop(self) -> None:
        await self.engine.close_connection_pool()

    async def ping(self) -> None:
        """Raise unless the database answers (the health check)."""
        async with self.engine.transaction() as tx:
            await tx.connection.fetchval("SELECT 1")

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """A Piccolo transaction; yields its asyncpg connection so ORM writes, raw SQL and
        `bus.publish` commit or roll back together."""
        async with self.engine.transaction() as tx:
            yield tx.connection

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[asyncpg.Connection]:
        """A read-only repeatable-read transaction, so several reads (a report) add up."""
        async with self.engine.transaction() as tx:
            await tx.connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield tx.connection


@asynccontextmanager
async def purging(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """Let the block delete rows the modules' immutability triggers guard (`buildify.purge`),
    and only the block: a bus handler's `ctx.transaction()` may be a savepoint in a transaction
    its batch-mates share (broker/inbox_batch.py), where a `SET LOCAL` would outlive the purge
    and unlock other tenants' rows for the deliveries after it. A block that raises has its
    savepoint rolled back, which takes the setting with it."""
    await conn.execute("SELECT set_config('buildify.purge', 'on', true)")
    yield
    await conn.execute("SELECT set_config('buildify.purge', 'off', true)")
