"""Movements: receipt, issue, transfer and adjustment, each an immutable row written in the same
transaction as the level change it explains (and any low-stock event it causes)."""

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

import asyncpg

from broker import Delivery, EventBus
from contracts.ids import uuid7
from modulekit.errors import InvalidInput
from services.warehouse.app.catalog.service import amount, location_in_company
from services.warehouse.app.schema import Names
from services.warehouse.app.stock import levels

Kind = Literal["receipt", "issue", "transfer", "adjustment"]
MOVEMENT_COLUMNS = (
    "id, company_id, kind, item_id, trim_scale(quantity) AS quantity, from_location_id, to_location_id, "
    "trim_scale(unit_cost) AS unit_cost, reason, invoice_id, "
    "created_by, created_at"
)


@dataclass(frozen=True, slots=True)
class MovementIn:
    """What a person asks for. `quantity` is positive, except an adjustment's, which is the signed
    correction (a count found 3 short is -3) and needs a reason."""

    kind: Kind
    item_id: UUID
    quantity: Decimal
    location_id: UUID | None = None
    to_location_id: UUID | None = None
    unit_cost: Decimal | None = None
    reason: str = ""


def shape(m: MovementIn) -> tuple[Decimal, UUID | None, UUID | None]:
    """The positive quantity and the (from, to) locations the row stores, or a clear refusal."""
    amount(m.quantity, "quantity", signed=True)
    if m.location_id is None:
        raise InvalidInput("location_id names where the stock is (the source of a transfer)")
    if m.kind == "adjustment":
        if not m.reason.strip():
            raise InvalidInput("an adjustment needs a reason")
        if m.quantity == 0:
            raise InvalidInput("an adjustment of 0 changes nothing")
        return (abs(m.quantity), m.location_id, None) if m.quantity < 0 else (m.quantity, None, m.location_id)
    if m.quantity <= 0:
        raise InvalidInput(f"quantity must be positive, not {m.quantity}")
    if m.kind == "receipt":
        return m.quantity, None, m.location_id
    if m.kind == "issue":
        return m.quantity, m.location_id, None
    if m.to_location_id is None or m.to_location_id == m.location_id:
        raise InvalidInput("a transfer needs a to_location_id other than its location_id")
    return m.quantity, m.location_id, m.to_location_id


async def record(
    conn: asyncpg.Connection, s: Names, bus: EventBus | Delivery, *, tenant_id: UUID, company_id: UUID,
    movement: MovementIn, allow_negative: bool, created_by: str | None, invoice_id: UUID | None = None,
) -> dict[str, Any]:
    """Write one movement and its level changes on `conn` (the caller's transaction)."""
    quantity, source, target = shape(movement)
    for named in {x for x in (source, target) if x is not None}:
        await location_in_company(conn, s, named, company_id)
    item = await levels.lock_item(conn, s, company_id, movement.item_id)
    before = await levels.available(conn, s, item["id"])
    unit_cost = item["unit_cost"] if movement.unit_cost is None else amount(movement.unit_cost, "unit_cost")
    row = await conn.fetchrow(
        f"INSERT INTO {s.t('movements')} (id, tenant_id, company_id, kind, item_id, quantity, from_location_id, "
        "to_location_id, unit_cost, reason, invoice_id, created_by) "
        f"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING {MOVEMENT_COLUMNS}",
        uuid7(), tenant_id, company_id, movement.kind, item["id"], quantity, source, target, unit_cost,
        movement.reason.strip(), invoice_id, created_by,
    )
    assert row is not None  # INSERT ... RETURNING
    for location, delta in sorted(((source, -quantity), (target, quantity)), key=lambda x: str(x[0])):
        if location is not None:
            await levels.change(conn, s, item, location, on_hand=delta, allow_negative=allow_negative)
    await levels.announce_if_low(conn, s, bus, item, before)
    return dict(row)


async def history(
    conn: asyncpg.Connection, s: Names, company_id: UUID, *, item_id: UUID | None, limit: int, offset: int
) -> list[dict[str, Any]]:
    """Newest first."""
    rows = await conn.fetch(
        f"SELECT {MOVEMENT_COLUMNS} FROM {s.t('movements')} WHERE company_id = $1 "
        "AND ($2::uuid IS NULL OR item_id = $2) ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4",
        company_id, item_id, limit, offset,
    )
    return [dict(r) for r in rows]
