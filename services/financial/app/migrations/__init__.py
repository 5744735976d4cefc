"""Migrations of the financial module: numbered steps, applied once each, under a lock.

Table DDL comes from the Piccolo tables (so the prefix applies); what Piccolo cannot
express (composite unique keys, check constraints, immutability triggers) is SQL here.
The same function serves `migrate_all` (tests, `make run`) and the service's own start-up.
"""

import asyncpg
from piccolo.engine.postgres import PostgresEngine

from services.financial.app.migrations import m0001_initial, m0002_purge, m0003_invoice_line_sku
from services.financial.app.tables import Tables, make_tables

STEPS = [(1, m0001_initial.apply), (2, m0002_purge.apply), (3, m0003_invoice_line_sku.apply)]
_LOCK = 0x46_69_6E  # "Fin"


async def migrate(url: str, prefix: str = "financial_", *, with_outbox: bool = False) -> list[int]:
    """Apply pending steps to the database at `url`; returns the versions applied now.

    `with_outbox` also installs the bus outbox/inbox tables (separate-database strategy).
    """
    tables: Tables = make_tables(prefix, PostgresEngine(config={"dsn": url}))
    conn = await asyncpg.connect(url)
    applied: list[int] = []
    try:
        if with_outbox:
            from broker.schema import install_outbox

            await install_outbox(conn)
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)
            history = f'"{prefix}schema_migrations"'
            await conn.execute(
                f"CREATE TABLE IF NOT EXISTS {history} (version integer PRIMARY KEY, "
                "applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["version"] for r in await conn.fetch(f"SELECT version FROM {history}")}
            for version, apply in STEPS:
                if version in done:
                    continue
                await apply(conn, tables)
                await conn.execute(f"INSERT INTO {history} (version) VALUES ($1)", version)
                applied.append(version)
    finally:
        await conn.close()
    return applied
