"""Removing the module for a tenant with `mode=purge`: its warehouse rows go, in one transaction.

`keep` (the default) leaves everything in place for a later re-enable. Movements are immutable,
so the purge says so (`modulekit.database.purging`) for the trigger to let it delete them.
"""

from uuid import UUID

import asyncpg

from modulekit.database import purging
from services.warehouse.app.schema import Names

# Referencing tables first.
TABLES = ("reservations", "stock_levels", "movements", "locations", "warehouses", "items")


async def purge_tenant(conn: asyncpg.Connection, s: Names, tenant_id: UUID) -> dict[str, int]:
    """Delete every row of the tenant; returns how many per table."""
    counts = {}
    async with purging(conn):
        for table in TABLES:
            done = await conn.execute(f"DELETE FROM {s.t(table)} WHERE tenant_id = $1", tenant_id)
            counts[table] = int(done.split()[-1])
    return counts
