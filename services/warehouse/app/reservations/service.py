"""Reservations: financial's invoice lines with a SKU hold stock when the invoice is created
(all lines or none), and the held stock is issued, at the item's unit cost, when it is paid."""

from collections import defaultdict
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from broker import Delivery, EventBus
from contracts.financial import InvoiceCreated, InvoicePaid
from contracts.ids import uuid7
from contracts.warehouse import IssuedLine, MissingLine, ReservedLine, StockIssued, StockReserved, StockShortage
from services.warehouse.app.config import WarehouseConfig
from services.warehouse.app.schema import Names
from services.warehouse.app.stock import levels

ZERO = Decimal(0)


def wanted(event: InvoiceCreated) -> dict[str, Decimal]:
    """Quantity per SKU (lines of the same SKU add up), in the order the invoice names them."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for line in event.lines:
        if line.sku:
            totals[line.sku.strip()] += line.quantity
    return dict(totals)


async def candidate_locations(conn: asyncpg.Connection, s: Names, company_id: UUID, cfg: WarehouseConfig
                              ) -> list[UUID]:
    """The default warehouse's locations when it names one of ours, else every location of the company."""
    rows = await conn.fetch(
        f"SELECT lo.id FROM {s.t('locations')} lo JOIN {s.t('warehouses')} w ON w.id = lo.warehouse_id "
        "WHERE lo.company_id = $1 AND ($2 = '' OR w.code = $2 OR NOT EXISTS "
        f"(SELECT 1 FROM {s.t('warehouses')} d WHERE d.company_id = $1 AND d.code = $2)) ORDER BY w.code, lo.code",
        company_id, cfg.default_warehouse,
    )
    return [r["id"] for r in rows]


async def allocate(
    conn: asyncpg.Connection, s: Names, item: dict[str, Any], quantity: Decimal, locations: list[UUID],
    allow_negative: bool,
) -> tuple[list[tuple[UUID, Decimal]], Decimal]:
    """Take from the locations holding most first; returns the takes and what was available."""
    rows = await conn.fetch(
        f"SELECT location_id, on_hand - reserved AS free FROM {s.t('stock_levels')} "
        "WHERE item_id = $1 AND location_id = ANY($2::uuid[]) AND on_hand - reserved > 0 "
        "ORDER BY free DESC, location_id",
        item["id"], locations,
    )
    free = sum((r["free"] for r in rows), ZERO)
    takes, left = [], quantity
    for r in rows:
        take = min(left, r["free"])
        if take > 0:
            takes.append((r["location_id"], take))
            left -= take
    if left > 0 and allow_negative and locations:
        first = takes[0][0] if takes else locations[0]
        takes = [(loc, q + left if loc == first else q) for loc, q in takes] or [(first, left)]
        left = ZERO
    return (takes if left == 0 else []), free


async def reserve_for_invoice(
    conn: asyncpg.Connection, s: Names, bus: EventBus | Delivery, event: InvoiceCreated, *, tenant_id: UUID,
    cfg: WarehouseConfig,
) -> bool | None:
    """Hold stock for every SKU line, or for none and announce the shortage.

    Returns True when reserved, False on a shortage, None when there was nothing to do (no SKU
    lines, or this invoice already has its reservations: a redelivered event).
    """
    lines = wanted(event)
    company_id = event.company_id
    if not lines or await conn.fetchval(
        f"SELECT 1 FROM {s.t('reservations')} WHERE invoice_id = $1 LIMIT 1", event.invoice_id
    ):
        return None
    items = {i["sku"]: i for i in (await levels.lock_items(conn, s, company_id, skus=list(lines))).values()}
    locations = await candidate_locations(conn, s, company_id, cfg)
    plan: list[tuple[dict[str, Any], UUID, Decimal]] = []
    missing: list[MissingLine] = []
    for sku, quantity in lines.items():
        item = items.get(sku)
        if item is None:
            missing.append(MissingLine(sku=sku, requested=quantity, available=ZERO, known=False))
            continue
        takes, free = await allocate(conn, s, item, quantity, locations, cfg.allow_negative_stock)
        if not takes:
            missing.append(MissingLine(sku=sku, requested=quantity, available=free))
        plan.extend((item, location, take) for location, take in takes)
    if missing:
        await bus.publish(conn, StockShortage(invoice_id=event.invoice_id, company_id=company_id, missing=missing),
                          tenant_id=tenant_id, company_id=company_id, ordering_key=str(event.invoice_id))
        return False
    before = {i["id"]: await levels.available(conn, s, i["id"]) for i in items.values()}
    for item, location, take in plan:
        await conn.execute(
            f"INSERT INTO {s.t('reservations')} (id, tenant_id, company_id, invoice_id, item_id, location_id, "
            "quantity, currency) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            uuid7(), tenant_id, company_id, event.invoice_id, item["id"], location, take, event.currency,
        )
        await levels.change(conn, s, item, location, reserved=take, allow_negative=True)
    await bus.publish(
        conn,
        StockReserved(invoice_id=event.invoice_id, company_id=company_id,
                      lines=[ReservedLine(sku=sku, quantity=q) for sku, q in lines.items()]),
        tenant_id=tenant_id, company_id=company_id, ordering_key=str(event.invoice_id),
    )
    for item in items.values():
        await levels.announce_if_low(conn, s, bus, item, before[item["id"]])
    return True


async def issue_for_invoice(
    conn: asyncpg.Connection, s: Names, bus: EventBus | Delivery, event: InvoicePaid, *, tenant_id: UUID
) -> bool:
    """Issue what is held for the paid invoice: one `issue` movement per reservation, then
    `warehouse.stock.issued` with the cost. False when nothing was held (no SKU lines, a
    shortage, or already issued)."""
    held = await conn.fetch(
        f"SELECT id, item_id, location_id, quantity, currency FROM {s.t('reservations')} "
        "WHERE invoice_id = $1 AND company_id = $2 AND status = 'held' ORDER BY item_id, location_id FOR UPDATE",
        event.invoice_id, event.company_id,
    )
    if not held:
        return False
    items = await levels.lock_items(conn, s, event.company_id, ids=[r["item_id"] for r in held])
    issued: dict[str, Decimal] = defaultdict(Decimal)
    for r in held:
        item = items[r["item_id"]]
        await conn.execute(
            f"INSERT INTO {s.t('movements')} (id, tenant_id, company_id, kind, item_id, quantity, from_location_id, "
            "unit_cost, reason, invoice_id) VALUES ($1, $2, $3, 'issue', $4, $5, $6, $7, $8, $9)",
            uuid7(), tenant_id, event.company_id, item["id"], r["quantity"], r["location_id"], item["unit_cost"],
            f"Invoice {event.number} paid", event.invoice_id,
        )
        await levels.change(conn, s, item, r["location_id"], on_hand=-r["quantity"], reserved=-r["quantity"],
                            allow_negative=True)
        issued[item["sku"]] += r["quantity"]
    await conn.execute(
        f"UPDATE {s.t('reservations')} SET status = 'issued', settled_at = now() WHERE id = ANY($1::uuid[])",
        [r["id"] for r in held],
    )
    by_sku = {i["sku"]: i for i in items.values()}
    lines = [
        IssuedLine(sku=sku, quantity=q, unit_cost=by_sku[sku]["unit_cost"], cost=q * by_sku[sku]["unit_cost"])
        for sku, q in sorted(issued.items())
    ]
    await bus.publish(
        conn,
        StockIssued(invoice_id=event.invoice_id, company_id=event.company_id, lines=lines,
                    total_cost=sum((x.cost for x in lines), ZERO), currency=held[0]["currency"]),
        tenant_id=tenant_id, company_id=event.company_id, ordering_key=str(event.invoice_id),
    )
    return True


async def list_reservations(conn: asyncpg.Connection, s: Names, company_id: UUID, *, status: str | None,
                            limit: int, offset: int) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"SELECT r.id, r.invoice_id, r.item_id, i.sku, r.location_id, lo.code AS location, "
        f"trim_scale(r.quantity) AS quantity, r.status, r.created_at, r.settled_at FROM {s.t('reservations')} r "
        f"JOIN {s.t('items')} i ON i.id = r.item_id "
        f"JOIN {s.t('locations')} lo ON lo.id = r.location_id "
        "WHERE r.company_id = $1 AND ($2::text IS NULL OR r.status = $2) "
        "ORDER BY r.created_at DESC, r.id LIMIT $3 OFFSET $4",
        company_id, status, limit, offset,
    )
    return [dict(r) for r in rows]
