"""Whole databases on a PostgreSQL server: made and dropped by the test suite and the benchmarks alike."""

import asyncpg

from services.runtime.dburl import with_database


async def on_server(url: str, *statements: str) -> None:
    """Run `statements` on one short-lived connection to `url`, a server's or a database's, outside a
    transaction (CREATE/DROP DATABASE cannot run in one)."""
    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def create_database(server_url: str, name: str, *, template: str | None = None) -> str:
    """Database `name`, empty or cloned from `template`, replacing one left behind; returns its URL."""
    clone = f' TEMPLATE "{template}"' if template else ""
    await on_server(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)', f'CREATE DATABASE "{name}"{clone}')
    return with_database(server_url, name)


async def drop_database(server_url: str, name: str) -> None:
    """Drop database `name`, disconnecting whoever is left on it."""
    await on_server(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
