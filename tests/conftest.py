"""Test infrastructure: a real PostgreSQL, a migrated template, one fresh clone per test.

PostgreSQL: BUILDIFY_TEST_DATABASE_URL if set, else an embedded pgserver in .buildify/test-pg.
"""

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from services.runtime.migrations import migrate_all
from tests.databases import create_database, drop_database

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    url = os.environ.get("BUILDIFY_TEST_DATABASE_URL")
    if url:
        yield url
        return
    from broker import embedded as embedded_postgres

    data_dir = ROOT / ".buildify" / "test-pg"
    already_running = (data_dir / "postmaster.pid").exists()
    yield embedded_postgres.start(data_dir)
    if not already_running:  # leave nothing running that the test session started
        embedded_postgres.stop(data_dir)


@pytest.fixture(scope="session")
async def template_database(pg_server_url: str) -> AsyncIterator[str]:
    name = f"buildify_tpl_{os.getpid()}"
    await migrate_all(await create_database(pg_server_url, name))
    yield name
    await drop_database(pg_server_url, name)


@contextlib.asynccontextmanager
async def _clone(pg_server_url: str, template: str) -> AsyncIterator[str]:
    """A fresh copy of the migrated template (its URL), dropped after."""
    name = f"t_{uuid.uuid4().hex[:16]}"
    yield await create_database(pg_server_url, name, template=template)
    await drop_database(pg_server_url, name)


@pytest.fixture
async def database_url(pg_server_url: str, template_database: str) -> AsyncIterator[str]:
    """A fresh, migrated database for this test alone."""
    async with _clone(pg_server_url, template_database) as url:
        yield url


@pytest.fixture
async def second_database_url(pg_server_url: str, template_database: str) -> AsyncIterator[str]:
    """Another fresh database, for a module using the separate-database strategy."""
    async with _clone(pg_server_url, template_database) as url:
        yield url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    yield conn
    await asyncio.wait_for(conn.close(), 5)
