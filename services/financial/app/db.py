"""The module's database handle: one Piccolo engine and its tables per app, never a global."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from piccolo.engine.postgres import PostgresEngine

from services.financial.app.tables import Tables, make_tables


class Database:
    """The engine pointed at the module's data database, and the tables bound to it."""

    def __init__(self, url: str, prefix: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.prefix = prefix
        self.pool_size = pool_size
        self.engine = PostgresEngine(config={"dsn": url})
        self.tables: Tables = make_tables(prefix, self.engine)

    def t(self, short: str) -> str:
        """Quoted SQL name of one of our tables for raw queries."""
        return f'"{self.tables.name(short)}"'

    async def start(self) -> None:
        await self.engine.start_connection_pool(min_size=1, max_size=self.pool_size)

    async def stop(self) -> None:
        await self.engine.close_connection_pool()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[asyncpg.Connection]:
        """A Piccolo transaction; yields its asyncpg connection so ORM writes, raw SQL and
        `bus.publish` commit or roll back together."""
        async with self.engine.transaction() as tx:
            yield tx.connection

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Any]:
        """A connection for reads (repeatable-read snapshot, so reports add up)."""
        async with self.engine.transaction() as tx:
            await tx.connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield tx.connection
