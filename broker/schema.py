"""Installs the bus tables. Idempotent: safe to run at every start and from several processes.

Each part's SQL runs only when its text changed since it was last applied (a digest is kept
in `bus_schema`): the DDL takes strong locks on hot tables, and a service starting while
others relay and claim must not queue behind them, or deadlock with them.
"""

import hashlib
from importlib import resources
from typing import Any

import structlog

from broker.queries import expand

log = structlog.get_logger("broker.schema")

_LOCK_KEY = 0x42_75_69_6C_64  # "Build": serialises concurrent installs

_VERSIONS = """
CREATE TABLE IF NOT EXISTS bus_schema (
    part       text PRIMARY KEY,
    digest     text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


def _sql(name: str) -> str:
    return expand(resources.files("broker").joinpath("sql", name).read_text())


async def _apply(conn: Any, part: str, sql: str) -> bool:
    """Run `sql` for `part` unless that exact text was applied already; True if it ran."""
    digest = hashlib.sha256(sql.encode()).hexdigest()
    exists = await conn.fetchval("SELECT to_regclass('bus_schema') IS NOT NULL")
    if exists and await conn.fetchval("SELECT digest = $2 FROM bus_schema WHERE part = $1", part, digest):
        return False
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        await conn.execute(_VERSIONS)
        if await conn.fetchval("SELECT digest = $2 FROM bus_schema WHERE part = $1", part, digest):
            return False  # another process applied it while we waited for the lock
        await conn.execute(sql)
        await conn.execute(
            "INSERT INTO bus_schema (part, digest) VALUES ($1, $2) "
            "ON CONFLICT (part) DO UPDATE SET digest = EXCLUDED.digest, applied_at = now()",
            part, digest,
        )
    return True


async def install_outbox(conn: Any) -> None:
    """Create the outbox and inbox tables in a service's own database."""
    await _apply(conn, "outbox", _sql("outbox.sql"))


async def install_bus(conn: Any, *, unlogged_events: bool = False) -> None:
    """Create the event log, subscriptions, deliveries and dead letters, and the record of the
    queues the RabbitMQ transport bound (stats read it on either transport).

    `unlogged_events` makes the `events` log UNLOGGED when this install creates it: writes
    skip the WAL (faster), but a crash of PostgreSQL empties the table, so replay after a
    crash has nothing to replay (the deliveries left behind are dead-lettered with a reason
    when claimed). An existing log keeps what it is: switching rewrites the whole table under
    an exclusive lock, so it is an operator's act (`set_events_logged`,
    `buildify-events events-log --logged/--unlogged`), never a side effect of a service
    starting with another setting. A disagreeing service logs a warning.
    """
    existed = await conn.fetchval("SELECT to_regclass('events') IS NOT NULL")
    await _apply(conn, "bus", _sql("bus.sql") + "\n" + _sql("ops.sql"))
    await _apply(conn, "rabbit", _sql("rabbit.sql"))
    if not existed and unlogged_events:
        await set_events_logged(conn, logged=False)  # still empty: nothing to rewrite
        return
    persistence = await conn.fetchval("SELECT relpersistence::text FROM pg_class WHERE oid = 'events'::regclass")
    if persistence != ("u" if unlogged_events else "p"):
        log.warning(
            "the events log is not what this service's settings ask for; left as it is "
            "(switch it with: buildify-events events-log --logged|--unlogged)",
            events_log="unlogged" if persistence == "u" else "logged",
            unlogged_events=unlogged_events,
        )


async def set_events_logged(conn: Any, *, logged: bool) -> bool:
    """Make the `events` log LOGGED or UNLOGGED; True if it changed.

    Rewrites the table under an ACCESS EXCLUSIVE lock (relays and `show` wait meanwhile):
    run it when the bus is quiet.
    """
    persistence = await conn.fetchval("SELECT relpersistence::text FROM pg_class WHERE oid = 'events'::regclass")
    if persistence == ("p" if logged else "u"):
        return False
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        await conn.execute(f"ALTER TABLE events SET {'LOGGED' if logged else 'UNLOGGED'}")
    return True


async def install(conn: Any, *, unlogged_events: bool = False) -> None:
    """Install both parts in one database (the usual, shared-database set-up)."""
    await install_outbox(conn)
    await install_bus(conn, unlogged_events=unlogged_events)
