"""HTTP API of stock: levels, the low-stock list, and movements (the only way levels change by hand)."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

import msgspec
from litestar import Controller, get, post

from broker import EventBus
from modulekit.auth import Principal, requires
from modulekit.config import ConfigClient
from modulekit.database import Database
from modulekit.paging import Page
from services.warehouse.app.access import company_config
from services.warehouse.app.config import WarehouseConfig
from services.warehouse.app.permissions import MOVEMENTS_WRITE, STOCK_READ
from services.warehouse.app.stock import levels, movements


class MovementIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`location_id` is where stock arrives (receipt), leaves (issue), leaves for `to_location_id`
    (transfer), or is corrected (adjustment: signed `quantity` and a `reason`)."""

    company_id: UUID
    kind: Literal["receipt", "issue", "transfer", "adjustment"]
    item_id: UUID
    quantity: Decimal
    location_id: UUID
    to_location_id: UUID | None = None
    unit_cost: Decimal | None = None
    reason: Annotated[str, msgspec.Meta(max_length=500)] = ""


class Movement(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    company_id: UUID
    kind: str
    item_id: UUID
    quantity: Decimal
    from_location_id: UUID | None
    to_location_id: UUID | None
    unit_cost: Decimal
    reason: str
    invoice_id: UUID | None
    created_by: str | None
    created_at: datetime


class Level(msgspec.Struct, frozen=True, kw_only=True):
    item_id: UUID
    sku: str
    name: str
    unit: str
    warehouse: str
    location_id: UUID
    location: str
    on_hand: Decimal
    reserved: Decimal
    available: Decimal
    low_stock_threshold: Decimal


class LowStock(msgspec.Struct, frozen=True, kw_only=True):
    item_id: UUID
    sku: str
    name: str
    unit: str
    available: Decimal
    threshold: Decimal


class StockController(Controller):
    path = "/api/v1/warehouse"
    tags = ["stock"]

    @post("/movements", guards=[requires(MOVEMENTS_WRITE)])
    async def record_movement(self, principal: Principal, db: Database[None], bus: EventBus,
                              config: ConfigClient[WarehouseConfig], data: MovementIn) -> Movement:
        """Stock never goes below zero unless the company's configuration allows negative stock."""
        cfg = await company_config(principal, config, data.company_id, MOVEMENTS_WRITE)
        wanted = movements.MovementIn(
            kind=data.kind, item_id=data.item_id, quantity=data.quantity, location_id=data.location_id,
            to_location_id=data.to_location_id, unit_cost=data.unit_cost, reason=data.reason,
        )
        async with db.transaction() as conn:
            row = await movements.record(
                conn, db, bus, tenant_id=cfg.tenant_id, company_id=cfg.company_id, movement=wanted,
                allow_negative=cfg.allow_negative_stock, created_by=principal.user_id,
            )
        return msgspec.convert(row, Movement)

    @get("/movements", guards=[requires(STOCK_READ)])
    async def list_movements(
        self, principal: Principal, db: Database[None], config: ConfigClient[WarehouseConfig], company_id: UUID,
        page: Page, item_id: UUID | None = None,
    ) -> list[Movement]:
        await company_config(principal, config, company_id, STOCK_READ)
        async with db.snapshot() as conn:
            rows = await movements.history(conn, db, company_id, item_id=item_id, limit=page.limit, offset=page.offset)
        return msgspec.convert(rows, list[Movement])

    @get("/stock", guards=[requires(STOCK_READ)])
    async def stock_levels(self, principal: Principal, db: Database[None], config: ConfigClient[WarehouseConfig],
                           company_id: UUID, item_id: UUID | None = None) -> list[Level]:
        """On hand, reserved and available per item and location."""
        await company_config(principal, config, company_id, STOCK_READ)
        async with db.snapshot() as conn:
            return msgspec.convert(await levels.levels(conn, db, company_id, item_id=item_id), list[Level])

    @get("/stock/low", guards=[requires(STOCK_READ)])
    async def low_stock(self, principal: Principal, db: Database[None], config: ConfigClient[WarehouseConfig],
                        company_id: UUID) -> list[LowStock]:
        """Items whose available stock is below their threshold."""
        await company_config(principal, config, company_id, STOCK_READ)
        async with db.snapshot() as conn:
            return msgspec.convert(await levels.low_stock(conn, db, company_id), list[LowStock])
