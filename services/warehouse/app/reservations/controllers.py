"""HTTP API of reservations (read-only: they come from invoices)."""

from datetime import datetime
from decimal import Decimal
from typing import Literal
from uuid import UUID

import msgspec
from litestar import Controller, get

from modulekit.auth import Principal, requires
from modulekit.config import ConfigClient
from modulekit.database import Database
from modulekit.paging import Page
from services.warehouse.app.access import company_config
from services.warehouse.app.config import WarehouseConfig
from services.warehouse.app.permissions import STOCK_READ
from services.warehouse.app.reservations import service


class Reservation(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    invoice_id: UUID
    item_id: UUID
    sku: str
    location_id: UUID
    location: str
    quantity: Decimal
    status: str
    created_at: datetime
    settled_at: datetime | None


class ReservationController(Controller):
    path = "/api/v1/warehouse/reservations"
    tags = ["reservations"]

    @get("/", guards=[requires(STOCK_READ)])
    async def list_reservations(
        self, principal: Principal, db: Database[None], config: ConfigClient[WarehouseConfig], company_id: UUID,
        page: Page, status: Literal["held", "issued", "released"] | None = None,
    ) -> list[Reservation]:
        """Stock held for open invoices (`held`) and issued for paid ones (`issued`), newest first."""
        await company_config(principal, config, company_id, STOCK_READ)
        async with db.snapshot() as conn:
            rows = await service.list_reservations(conn, db, company_id, status=status, limit=page.limit,
                                                   offset=page.offset)
        return msgspec.convert(rows, list[Reservation])
