"""Core's schema: the `.sql` files here, applied by the kit's one runner (`modulekit.migrations`).

A database migrated by core's former runner lists its versions in `core_migrations`; the first
run of this one moves them into the kit's history and drops that table, so such a database
starts without running a file twice.
"""

import asyncpg

from modulekit.migrations import adopt_history
from modulekit.migrations import migrate as run_migrations

MODULE = "core"


async def adopt_former_history(url: str) -> None:
    """Move the versions recorded by core's former runner into the kit's history (once)."""
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            if await conn.fetchval("SELECT to_regclass('core_migrations') IS NOT NULL"):
                rows = await conn.fetch("SELECT version FROM core_migrations")
                await adopt_history(conn, MODULE, [r["version"] for r in rows])
                await conn.execute("DROP TABLE IF EXISTS core_migrations")
    finally:
        await conn.close()


async def migrate(url: str) -> list[str]:
    """Apply core's pending migrations to the database at `url`; returns the versions applied now."""
    await adopt_former_history(url)
    return await run_migrations(url, MODULE, __name__)
