"""Items (SKU, unit, standard unit cost, low-stock threshold), warehouses and their locations."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from contracts.ids import uuid7
from modulekit.errors import FieldProblem, InvalidInput
from services.warehouse.app.errors import DuplicateCode, UnknownRecord
from services.warehouse.app.schema import Names

LIMIT = Decimal("1e12")
ITEM_COLUMNS = (  # trim_scale: 4.0000 reads as 4, as a person wrote it
    "id, tenant_id, company_id, sku, name, unit, trim_scale(unit_cost) AS unit_cost, "
    "trim_scale(low_stock_threshold) AS low_stock_threshold, created_at"
)


def amount(value: Decimal, field: str, *, signed: bool = False) -> Decimal:
    """A quantity or cost as the columns hold it (4 decimals, below 10^12), or a refusal naming the field."""
    if not value.is_finite() or value.as_tuple().exponent < -4:  # type: ignore[operator]
        raise InvalidInput(f"{field} must be a finite number with at most 4 decimals",
                           errors=[FieldProblem(field=field, message="at most 4 decimals")])
    if abs(value) >= LIMIT or (value < 0 and not signed):
        raise InvalidInput(f"{field} must be between 0 and 10^12, not {value}",
                           errors=[FieldProblem(field=field, message="between 0 and 10^12")])
    return value


@dataclass(frozen=True, slots=True)
class Owner:
    """Whose record it is: every row carries its tenant and company."""

    tenant_id: UUID
    company_id: UUID


async def create_item(
    conn: asyncpg.Connection, s: Names, owner: Owner, *, sku: str, name: str, unit: str,
    unit_cost: Decimal, low_stock_threshold: Decimal,
) -> dict[str, Any]:
    unit_cost, low_stock_threshold = amount(unit_cost, "unit_cost"), amount(low_stock_threshold, "low_stock_threshold")
    row = await conn.fetchrow(
        f"INSERT INTO {s.t('items')} (id, tenant_id, company_id, sku, name, unit, unit_cost, low_stock_threshold) "
        f"VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (company_id, sku) DO NOTHING RETURNING {ITEM_COLUMNS}",
        uuid7(), owner.tenant_id, owner.company_id, sku, name, unit, unit_cost, low_stock_threshold,
    )
    if row is None:
        raise DuplicateCode(f"company {owner.company_id} already has an item with SKU {sku!r}")
    return dict(row)


async def update_item(
    conn: asyncpg.Connection, s: Names, item_id: UUID, changes: dict[str, Any]
) -> dict[str, Any]:
    """Change name, unit, unit cost or threshold; the SKU is the item's identity and stays."""
    allowed = [k for k in ("name", "unit", "unit_cost", "low_stock_threshold") if k in changes]
    for key in ("unit_cost", "low_stock_threshold"):
        if key in changes:
            changes[key] = amount(changes[key], key)
    sets = ", ".join(f"{k} = ${n}" for n, k in enumerate(allowed, start=2)) or "sku = sku"
    row = await conn.fetchrow(
        f"UPDATE {s.t('items')} SET {sets} WHERE id = $1 RETURNING {ITEM_COLUMNS}",
        item_id, *(changes[k] for k in allowed),
    )
    if row is None:
        raise UnknownRecord(f"no item {item_id} in your companies")
    return dict(row)


async def get_item(conn: asyncpg.Connection, s: Names, item_id: UUID, tenant_id: UUID | None) -> dict[str, Any]:
    """The item if it is in `tenant_id` (any tenant for None); 404 otherwise, revealing nothing."""
    row = await conn.fetchrow(
        f"SELECT {ITEM_COLUMNS} FROM {s.t('items')} WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2)",
        item_id, tenant_id,
    )
    if row is None:
        raise UnknownRecord(f"no item {item_id} in your companies")
    return dict(row)


async def list_items(conn: asyncpg.Connection, s: Names, company_id: UUID, *, limit: int, offset: int
                     ) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT {ITEM_COLUMNS} FROM {s.t('items')} WHERE company_id = $1 ORDER BY sku LIMIT $2 OFFSET $3",
        company_id, limit, offset,
    )
    return [dict(r) for r in rows]


async def create_warehouse(
    conn: asyncpg.Connection, s: Names, owner: Owner, *, code: str, name: str, locations: list[str]
) -> dict[str, Any]:
    """A warehouse and its locations (at least one: stock always sits somewhere named)."""
    warehouse_id = uuid7()
    done = await conn.execute(
        f"INSERT INTO {s.t('warehouses')} (id, tenant_id, company_id, code, name) VALUES ($1, $2, $3, $4, $5) "
        "ON CONFLICT (company_id, code) DO NOTHING",
        warehouse_id, owner.tenant_id, owner.company_id, code, name,
    )
    if done.split()[-1] == "0":
        raise DuplicateCode(f"company {owner.company_id} already has a warehouse {code!r}")
    for location in locations:
        await add_location(conn, s, owner, warehouse_id, code=location)
    return await get_warehouse(conn, s, warehouse_id, owner.tenant_id)


async def add_location(
    conn: asyncpg.Connection, s: Names, owner: Owner, warehouse_id: UUID, *, code: str, name: str = ""
) -> dict[str, Any]:
    row = await conn.fetchrow(
        f"INSERT INTO {s.t('locations')} (id, tenant_id, company_id, warehouse_id, code, name) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (warehouse_id, code) DO NOTHING "
        "RETURNING id, warehouse_id, code, name",
        uuid7(), owner.tenant_id, owner.company_id, warehouse_id, code, name,
    )
    if row is None:
        raise DuplicateCode(f"the warehouse already has a location {code!r}")
    return dict(row)


async def get_warehouse(conn: asyncpg.Connection, s: Names, warehouse_id: UUID, tenant_id: UUID | None
                        ) -> dict[str, Any]:
    row = await conn.fetchrow(
        f"SELECT id, tenant_id, company_id, code, name, created_at FROM {s.t('warehouses')} "
        "WHERE id = $1 AND ($2::uuid IS NULL OR tenant_id = $2)",
        warehouse_id, tenant_id,
    )
    if row is None:
        raise UnknownRecord(f"no warehouse {warehouse_id} in your companies")
    locations = await conn.fetch(
        f"SELECT id, code, name FROM {s.t('locations')} WHERE warehouse_id = $1 ORDER BY code", warehouse_id
    )
    return {**dict(row), "locations": [dict(x) for x in locations]}


async def list_warehouses(conn: asyncpg.Connection, s: Names, company_id: UUID) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT id FROM {s.t('warehouses')} WHERE company_id = $1 ORDER BY code", company_id
    )
    return [await get_warehouse(conn, s, r["id"], None) for r in rows]


async def location_in_company(conn: asyncpg.Connection, s: Names, location_id: UUID, company_id: UUID) -> None:
    """Refuse a location of another company as if it did not exist."""
    found = await conn.fetchval(
        f"SELECT 1 FROM {s.t('locations')} WHERE id = $1 AND company_id = $2", location_id, company_id
    )
    if found is None:
        raise UnknownRecord(f"no location {location_id} in company {company_id}")
