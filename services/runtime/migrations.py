"""Every migration of the platform, in order: the bus first, then each service's tables.

`make run` and the test template database both go through `migrate_all`, so a test database
looks exactly like a real one.
"""

import asyncpg

from broker import schema
from services.core.app.migrations import migrate as migrate_core
from services.financial.app.migrations import migrate as migrate_financial
from services.warehouse.app.migrations import migrate as migrate_warehouse


async def migrate_all(url: str) -> None:
    """Apply every migration to the database at `url` (idempotent)."""
    conn = await asyncpg.connect(url)
    try:
        await schema.install(conn)
    finally:
        await conn.close()
    await migrate_core(url)
    await migrate_financial(url)
    await migrate_warehouse(url)
