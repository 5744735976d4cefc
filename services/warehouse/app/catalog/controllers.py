"""HTTP API of items, warehouses and locations."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, get, patch, post

from modulekit.auth import Principal, requires
from modulekit.config import ConfigClient
from modulekit.database import Database
from modulekit.paging import Page
from services.warehouse.app.access import company_config
from services.warehouse.app.catalog import service
from services.warehouse.app.catalog.service import Owner
from services.warehouse.app.config import WarehouseConfig
from services.warehouse.app.permissions import ITEMS_READ, ITEMS_WRITE

Code = Annotated[str, msgspec.Meta(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]


class ItemIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    company_id: UUID
    sku: Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")]
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    unit: Annotated[str, msgspec.Meta(min_length=1, max_length=20)] = "pcs"
    unit_cost: Decimal = Decimal(0)
    low_stock_threshold: Decimal = Decimal(0)


class ItemChange(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    unit: Annotated[str, msgspec.Meta(min_length=1, max_length=20)] | None = None
    unit_cost: Decimal | None = None
    low_stock_threshold: Decimal | None = None


class Item(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    company_id: UUID
    sku: str
    name: str
    unit: str
    unit_cost: Decimal
    low_stock_threshold: Decimal
    created_at: datetime


class WarehouseIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A warehouse starts with its locations (`["MAIN"]` when none are named)."""

    company_id: UUID
    code: Code
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    locations: Annotated[list[Code], msgspec.Meta(min_length=1, max_length=500)] = msgspec.field(
        default_factory=lambda: ["MAIN"])


class LocationIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    code: Code
    name: Annotated[str, msgspec.Meta(max_length=200)] = ""


class Location(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    code: str
    name: str


class Warehouse(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    company_id: UUID
    code: str
    name: str
    created_at: datetime
    locations: list[Location]


def item_out(row: dict[str, Any]) -> Item:
    return msgspec.convert(row, Item, from_attributes=True)


def warehouse_out(row: dict[str, Any]) -> Warehouse:
    return msgspec.convert(row, Warehouse, from_attributes=True)


class ItemController(Controller):
    path = "/api/v1/warehouse/items"
    tags = ["items"]

    @post("/", guards=[requires(ITEMS_WRITE)])
    async def create_item(self, principal: Principal, db: Database[None], config: ConfigClient[WarehouseConfig],
                          data: ItemIn) -> Item:
        cfg = await company_config(principal, config, data.company_id, ITEMS_WRITE)
        async with db.transaction() as conn:
            row = await service.create_item(
                conn, db, Owner(cfg.tenant_id, cfg.company_id), sku=data.sku, name=data.name, unit=data.unit,
                unit_cost=data.unit_cost, low_stock_threshold=data.low_stock_threshold,
            )
        return item_out(row)

    @get("/", guards=[requires(ITEMS_READ)])
    async def list_items(
        self, principal: Principal, db: Database[None], config: ConfigClient[WarehouseConfig], company_id: UUID,
        page: Page,
    ) -> list[Item]:
        await company_config(principal, config, company_id, ITEMS_READ)
        async with db.snapshot() as conn:
            rows = await service.list_items(conn, db, company_id, limit=page.limit, offset=page.offset)
            return [item_out(r) for r in rows]

    @get("/{item_id:uuid}", guards=[requires(ITEMS_READ)])
    async def get_item(self, principal: Principal, db: Database[None], config: ConfigClient[WarehouseConfig],
                       item_id: UUID) -> Item:
        async with db.snapshot() as conn:
            row = await service.get_item(conn, db, item_id, principal.tenant_id)
        await company_config(principal, config, row["company_id"], ITEMS_READ, hide=True)
        return item_out(row)

    @patch("/{item_id:uuid}", guards=[requires(ITEMS_WRITE)])
    async def change_item(self, principal: Principal, db: Database[None], config: ConfigClient[WarehouseConfig],
                          item_id: UUID, data: ItemChange) -> Item:
        """Name, unit, unit cost and threshold change; the SKU does not (it is how invoices name the item)."""
        async with db.transaction() as conn:
            row = await service.get_item(conn, db, item_id, principal.tenant_id)
            await company_config(principal, config, row["company_id"], ITEMS_WRITE, hide=True)
            changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not None}
            return item_out(await service.update_item(conn, db, item_id, changes))


class WarehouseController(Controller):
    path = "/api/v1/warehouse/warehouses"
    tags = ["warehouses"]

    @post("/", guards=[requires(ITEMS_WRITE)])
    async def create_warehouse(self, principal: Principal, db: Database[None],
                               config: ConfigClient[WarehouseConfig], data: WarehouseIn) -> Warehouse:
        cfg = await company_config(principal, config, data.company_id, ITEMS_WRITE)
        async with db.transaction() as conn:
            row = await service.create_warehouse(conn, db, Owner(cfg.tenant_id, cfg.company_id), code=data.code,
                                                 name=data.name, locations=list(dict.fromkeys(data.locations)))
        return warehouse_out(row)

    @get("/", guards=[requires(ITEMS_READ)])
    async def list_warehouses(self, principal: Principal, db: Database[None],
                              config: ConfigClient[WarehouseConfig], company_id: UUID) -> list[Warehouse]:
        await company_config(principal, config, company_id, ITEMS_READ)
        async with db.snapshot() as conn:
            return [warehouse_out(r) for r in await service.list_warehouses(conn, db, company_id)]

    @post("/{warehouse_id:uuid}/locations", guards=[requires(ITEMS_WRITE)])
    async def add_location(self, principal: Principal, db: Database[None], config: ConfigClient[WarehouseConfig],
                           warehouse_id: UUID, data: LocationIn) -> Warehouse:
        async with db.transaction() as conn:
            found = await service.get_warehouse(conn, db, warehouse_id, principal.tenant_id)
            cfg = await company_config(principal, config, found["company_id"], ITEMS_WRITE, hide=True)
            await service.add_location(conn, db, Owner(cfg.tenant_id, cfg.company_id), warehouse_id,
                                       code=data.code, name=data.name)
            return warehouse_out(await service.get_warehouse(conn, db, warehouse_id, None))
