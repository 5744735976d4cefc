"""Invoice lines may name a warehouse item (`sku`), announced with `financial.invoice.created` v2."""

import asyncpg

from services.financial.app.tables import Tables


async def apply(conn: asyncpg.Connection, tables: Tables) -> None:
    await conn.execute(f'ALTER TABLE "{tables.prefix}invoice_lines" ADD COLUMN IF NOT EXISTS sku varchar(64)')
