"""The Piccolo engine of core's tables, bound to a database URL when an app starts.

Piccolo binds a table to an engine at class definition; the URL is only known when
`create_app(settings)` runs (tests use a fresh database each). So the tables share one
engine whose pool is opened by the app's lifespan and closed with it. One running core app
per process at a time; a second app started on another URL while one runs is refused.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from piccolo.engine.postgres import PostgresEngine


class EngineBusy(RuntimeError):
    """The core engine is already bound to another database in this process."""


class CoreEngine(PostgresEngine):
    """A PostgresEngine that does not connect at import time."""

    async def check_version(self) -> None:  # type: ignore[override]
        """Skipped: there is no URL yet at import time."""

    async def prep_database(self) -> None:
        """Skipped: core's migrations create what it needs."""

    @property
    def url(self) -> str | None:
        dsn = self.config.get("dsn")
        return str(dsn) if dsn else None

    async def bind(self, url: str, *, pool_size: int = 10) -> None:
        """Point the engine at `url` and open its pool."""
        if self.pool is not None:
            if self.url == url:
                return
            raise EngineBusy(f"core's engine is bound to another database ({self.url}); stop that app first")
        self.config = {"dsn": url}
        await self.start_connection_pool(min_size=1, max_size=pool_size, command_timeout=60)

    async def unbind(self) -> None:
        """Close the pool; the engine can be bound again."""
        if self.pool is not None:
            await self.close_connection_pool()

    @asynccontextmanager
    async def lifespan(self, url: str, pool_size: int = 10) -> AsyncIterator[None]:
        await self.bind(url, pool_size=pool_size)
        try:
            yield
        finally:
            await self.unbind()


engine = CoreEngine(config={}, extensions=())


def connection_of(tx: Any) -> Any:
    """The asyncpg connection of a Piccolo transaction (for `bus.publish`)."""
    return tx.connection
