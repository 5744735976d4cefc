"""The financial module's database handle: the kit's `Database`, queried in SQL only.

Every financial table is read and written with SQL through this handle (the ledger's queries
are joins, sums and locks that read best as SQL), so no table has a second, ORM way in.
"""

from typing import Any
from uuid import UUID

import asyncpg

from modulekit.database import Database
from services.financial.app.errors import NotFound

FinancialDb = Database[None]


async def fetch_in_tenant(
    conn: asyncpg.Connection, source: str, columns: str, record_id: UUID, tenant_id: UUID | None, *, noun: str
) -> asyncpg.Record:
    """The row of `source` with this id, if it is in the tenant (any tenant for None); else NotFound.

    `source` is a table or an aliased table (`... t`); its `id` and `tenant_id` are matched unqualified.
    """
    row = await conn.fetchrow(
        f"SELECT {columns} FROM {source} WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2)",
        record_id, tenant_id,
    )
    if row is None:
        raise NotFound(f"no {noun} {record_id} in your companies")
    return row


async def with_lines(conn: asyncpg.Connection, document: asyncpg.Record, lines_query: str) -> dict[str, Any]:
    """A document (an invoice, a journal entry) with its `lines`: `lines_query` takes the document's id as $1."""
    lines = await conn.fetch(lines_query, document["id"])
    return {**dict(document), "lines": [dict(line) for line in lines]}
