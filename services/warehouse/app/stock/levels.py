"""Stock levels: changed only together with the movement or reservation that explains them.

Every change first locks the item's row (`lock_items`), so changes to one item queue one behind
the other whatever locations they touch: levels stay consistent under concurrent requests, and
the low-stock check compares a before and an after that no one else moved in between. Several
items are locked in id order, so two transactions never wait on each other in a cycle.
"""

from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from broker import Delivery, EventBus
from contracts.warehouse import StockLow
from services.warehouse.app.catalog.service import ITEM_COLUMNS
from services.warehouse.app.errors import InsufficientStock, UnknownRecord
from services.warehouse.app.schema import Names

ZERO = Decimal(0)


async def lock_items(
    conn: asyncpg.Connection, s: Names, company_id: UUID, *, ids: list[UUID] | None = None,
    skus: list[str] | None = None,
) -> dict[UUID, dict[str, Any]]:
    """Lock the company's items named by id or SKU (in id order); missing ones are left out."""
    rows = await conn.fetch(
        f"SELECT {ITEM_COLUMNS} FROM {s.t('items')} WHERE company_id = $1 "
        "AND (id = ANY($2::uuid[]) OR sku = ANY($3::text[])) ORDER BY id FOR UPDATE",
        company_id, ids or [], skus or [],
    )
    return {r["id"]: dict(r) for r in rows}


async def lock_item(conn: asyncpg.Connection, s: Names, company_id: UUID, item_id: UUID) -> dict[str, Any]:
    items = await lock_items(conn, s, company_id, ids=[item_id])
    if item_id not in items:
        raise UnknownRecord(f"no item {item_id} in company {company_id}")
    return items[item_id]


async def available(conn: asyncpg.Connection, s: Names, item_id: UUID) -> Decimal:
    """On hand minus reserved, over every location of the item."""
    value = await conn.fetchval(
        f"SELECT trim_scale(coalesce(sum(on_hand - reserved), 0)) FROM {s.t('stock_levels')} WHERE item_id = $1",
        item_id,
    )
    return Decimal(value)


async def change(
    conn: asyncpg.Connection, s: Names, item: dict[str, Any], location_id: UUID, *,
    on_hand: Decimal = ZERO, reserved: Decimal = ZERO, allow_negative: bool = False,
) -> None:
    """Add the deltas to one level; refuse when available stock there would fall below zero.

    Issuing reserved stock lowers both by the same amount and so never fails here.
    """
    # The row is created empty first: CHECK constraints judge an INSERT's own values even when
    # ON CONFLICT turns it into an update, so the deltas cannot travel in the INSERT.
    await conn.execute(
        f"INSERT INTO {s.t('stock_levels')} (item_id, location_id, tenant_id, company_id) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (item_id, location_id) DO NOTHING",
        item["id"], location_id, item["tenant_id"], item["company_id"],
    )
    row = await conn.fetchrow(
        f"UPDATE {s.t('stock_levels')} SET on_hand = on_hand + $3, reserved = reserved + $4 "
        "WHERE item_id = $1 AND location_id = $2 RETURNING on_hand, reserved",
        item["id"], location_id, on_hand, reserved,
    )
    assert row is not None  # created just above
    lowers = on_hand - reserved < 0
    if lowers and not allow_negative and row["on_hand"] - row["reserved"] < 0:
        have = row["on_hand"] - row["reserved"] - on_hand + reserved
        raise InsufficientStock(
            f"only {have.normalize():f} {item['unit']} of {item['sku']} available at that location, "
            f"{(reserved - on_hand).normalize():f} needed"
        )


async def announce_if_low(
    conn: asyncpg.Connection, s: Names, bus: EventBus | Delivery, item: dict[str, Any], before: Decimal
) -> None:
    """Publish `warehouse.stock.low` when the item's available stock just fell below its threshold."""
    threshold = item["low_stock_threshold"]
    if threshold <= 0:
        return
    after = await available(conn, s, item["id"])
    if after < threshold <= before:
        await bus.publish(
            conn,
            StockLow(item_id=item["id"], company_id=item["company_id"], sku=item["sku"], available=after,
                     threshold=threshold),
            tenant_id=item["tenant_id"], company_id=item["company_id"], ordering_key=str(item["id"]),
        )


async def levels(conn: asyncpg.Connection, s: Names, company_id: UUID, *, item_id: UUID | None = None,
                 below_threshold: bool = False) -> list[dict[str, Any]]:
    """Per item and location: on hand, reserved, available (with the warehouse and location codes)."""
    rows = await conn.fetch(
        f"SELECT i.id AS item_id, i.sku, i.name, i.unit, trim_scale(i.low_stock_threshold) AS low_stock_threshold, "
        f"w.code AS warehouse, lo.id AS location_id, lo.code AS location, trim_scale(l.on_hand) AS on_hand, "
        f"trim_scale(l.reserved) AS reserved, trim_scale(l.on_hand - l.reserved) AS available "
        f"FROM {s.t('stock_levels')} l JOIN {s.t('items')} i ON i.id = l.item_id "
        f"JOIN {s.t('locations')} lo ON lo.id = l.location_id JOIN {s.t('warehouses')} w ON w.id = lo.warehouse_id "
        "WHERE l.company_id = $1 AND ($2::uuid IS NULL OR l.item_id = $2) ORDER BY i.sku, w.code, lo.code",
        company_id, item_id,
    )
    return [dict(r) for r in rows]


async def low_stock(conn: asyncpg.Connection, s: Names, company_id: UUID) -> list[dict[str, Any]]:
    """Items whose available stock (all locations) is below their threshold, lowest first."""
    rows = await conn.fetch(
        f"SELECT i.id AS item_id, i.sku, i.name, i.unit, trim_scale(i.low_stock_threshold) AS threshold, "
        f"trim_scale(coalesce(sum(l.on_hand - l.reserved), 0)) AS available "
        f"FROM {s.t('items')} i LEFT JOIN {s.t('stock_levels')} l ON l.item_id = i.id "
        "WHERE i.company_id = $1 AND i.low_stock_threshold > 0 GROUP BY i.id "
        "HAVING coalesce(sum(l.on_hand - l.reserved), 0) < i.low_stock_threshold "
        "ORDER BY available, i.sku",
        company_id,
    )
    return [dict(r) for r in rows]
