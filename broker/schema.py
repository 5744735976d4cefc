"""Installs the bus tables. Idempotent: safe to run at every start and from several processes."""

from importlib import resources
from typing import Any

_LOCK_KEY = 0x42_75_69_6C_64  # "Build": serialises concurrent installs


def _sql(name: str) -> str:
    return resources.files("broker").joinpath("sql", name).read_text()


async def install_outbox(conn: Any) -> None:
    """Create the outbox and inbox tables in a service's own database."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        await conn.execute(_sql("outbox.sql"))


async def install_bus(conn: Any, *, unlogged_events: bool = False) -> None:
    """Create the event log, subscriptions, deliveries and dead letters.

    `unlogged_events` makes the `events` log UNLOGGED: writes skip the WAL (faster), but a
    crash of PostgreSQL empties the table, so replay after a crash has nothing to replay.
    """
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        await conn.execute(_sql("bus.sql"))
        await conn.execute(_sql("ops.sql"))
        persistence = await conn.fetchval(
            "SELECT relpersistence::text FROM pg_class WHERE oid = 'events'::regclass"
        )
        wanted = "u" if unlogged_events else "p"
        if persistence != wanted:
            await conn.execute(f"ALTER TABLE events SET {'UNLOGGED' if unlogged_events else 'LOGGED'}")


async def install(conn: Any, *, unlogged_events: bool = False) -> None:
    """Install both parts in one database (the usual, shared-database set-up)."""
    await install_outbox(conn)
    await install_bus(conn, unlogged_events=unlogged_events)
