"""Test infrastructure: a real PostgreSQL, a migrated template, one fresh clone per test.

PostgreSQL: BUILDIFY_TEST_DATABASE_URL if set, else an embedded pgserver in .buildify/test-pg.
"""

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from services.runtime.dburl import with_database
from services.runtime.migrations import migrate_all

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
    admin = await asyncpg.connect(pg_server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
        await migrate_all(with_database(pg_server_url, name))
        yield name
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


async def _clone(pg_server_url: str, template: str) -> str:
    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(pg_server_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    finally:
        await admin.close()
    return name


async def _drop(pg_server_url: str, name: str) -> None:
    admin = await asyncpg.connect(pg_server_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def database_url(pg_server_url: str, template_database: str) -> AsyncIterator[str]:
    """A fresh, migrated database for this test alone."""
    name = await _clone(pg_server_url, template_database)
    yield with_database(pg_server_url, name)
    await _drop(pg_server_url, name)


@pytest.fixture
async def second_database_url(pg_server_url: str, template_database: str) -> AsyncIterator[str]:
    """Another fresh database, for a module using the separate-database strategy."""
    name = await _clone(pg_server_url, template_database)
    yield with_database(pg_server_url, name)
    await _drop(pg_server_url, name)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url)
    yield conn
    await asyncio.wait_for(conn.close(), 5)
