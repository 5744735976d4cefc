"""Core's database: one connection pool per app, reached by the Piccolo tables of whichever app runs.

Piccolo binds a table class to one engine when the class is defined, but the URL is only known
when `create_app(settings)` runs, and a process may run several core apps (tests run two on two
databases). So the tables share one `CoreEngine` that owns no pool: it uses the pool of the app
whose code is running, which `Database` puts in a context variable for its lifespan (the bus
tasks started there inherit it) and for every request (an ASGI middleware). Piccolo keeps its
current transaction in a context variable too, so transactions never cross apps.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from typing import Any

import asyncpg
from litestar.types import ASGIApp, Receive, Scope, Send
from piccolo.engine.postgres import PostgresEngine

_pool: ContextVar["asyncpg.Pool[Any] | None"] = ContextVar("core_database_pool", default=None)


class NoDatabase(RuntimeError):
    """Core's tables were used outside a running core app (no app's database is current)."""


class CoreEngine(PostgresEngine):
    """A PostgresEngine whose pool is the current app's; it never connects on its own."""

    @property
    def pool(self) -> "asyncpg.Pool[Any]":
        pool = _pool.get()
        if pool is None:
            raise NoDatabase(NoDatabase.__doc__)
        return pool

    @pool.setter
    def pool(self, value: Any) -> None:
        """PostgresEngine's constructor sets `pool = None`; the pool comes from the running app instead."""

    async def check_version(self) -> None:
        """Skipped: there is no URL at import time."""

    async def prep_database(self) -> None:
        """Skipped: core's migrations create what it needs."""

    async def get_new_connection(self) -> Any:
        raise NoDatabase(NoDatabase.__doc__)


engine = CoreEngine(config={}, extensions=())


class Database:
    """One core app's connection pool: opened by the app's lifespan, made current for its requests."""

    def __init__(self, url: str, pool_size: int = 10) -> None:
        self.url = url
        self.pool_size = pool_size
        self._pool: asyncpg.Pool[Any] | None = None

    @asynccontextmanager
    async def lifespan(self, _app: Any) -> AsyncIterator[None]:
        """Open the pool and make it current for what the lifespan starts next (the bus)."""
        self._pool = await asyncpg.create_pool(self.url, min_size=1, max_size=self.pool_size, command_timeout=60)
        token = _pool.set(self._pool)
        try:
            yield
        finally:
            _pool.reset(token)
            await self._pool.close()
            self._pool = None

    def middleware(self, app: ASGIApp) -> ASGIApp:
        """ASGI middleware making this app's pool current while it answers a request."""

        async def with_pool(scope: Scope, receive: Receive, send: Send) -> None:
            token = _pool.set(self._pool)
            try:
                await app(scope, receive, send)
            finally:
                _pool.reset(token)

        return with_pool
