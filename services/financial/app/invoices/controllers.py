"""HTTP API of invoices."""

from datetime import date
from decimal import Decimal
from typing import Annotated, Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post

from broker import EventBus
from modulekit.auth import requires
from modulekit.paging import Page
from services.financial.app.access import company_snapshot, load_visible, may_write
from services.financial.app.config import FinancialConfigClient
from services.financial.app.db import FinancialDb
from services.financial.app.errors import NotFound
from services.financial.app.invoices import service
from services.financial.app.money import round_money
from services.financial.app.permissions import INVOICES_READ, INVOICES_WRITE
from services.financial.app.responses import Invoice, out


class InvoiceLineIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    unit_price: Decimal
    quantity: Decimal = Decimal(1)
    description: str = ""
    sku: Annotated[str, msgspec.Meta(min_length=1, max_length=64)] | None = None  # a warehouse item sold


class InvoiceIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Lines, or the seed's plain `total` (tax included)."""

    company_id: UUID
    customer: Annotated[str, msgspec.Meta(max_length=200)]  # the column's width
    lines: list[InvoiceLineIn] | None = None
    total: Decimal | None = None
    issue_date: date | None = None
    due_date: date | None = None


def plain(value: Decimal) -> Decimal:
    """Drop trailing zeros without switching to exponent notation (10 stays "10", not "1E+1")."""
    normal = value.normalize()
    return normal.quantize(Decimal(1)) if normal == normal.to_integral_value() else normal


def present(invoice: dict[str, Any]) -> Invoice:
    cur = invoice["currency"]
    money = {k: round_money(invoice[k], cur) for k in ("subtotal", "tax", "total", "amount_paid")}
    lines = [{**line, "unit_price": plain(line["unit_price"]), "quantity": plain(line["quantity"]),
              "amount": round_money(line["amount"], cur)} for line in invoice["lines"]]
    return out(Invoice, {**invoice, **money, "tax_rate": plain(invoice["tax_rate"]),
                         "amount_due": money["total"] - money["amount_paid"], "lines": lines})


async def load_invoice(
    request: Request[Any, Any, Any], db: FinancialDb, invoice_id: UUID, permission: str
) -> dict[str, Any]:
    """The invoice if it is in the caller's tenant and companies (404 otherwise, revealing nothing)."""
    return await load_visible(request, db, service.get_invoice, invoice_id, permission)


class InvoiceController(Controller):
    path = "/invoices"
    tags = ["invoices"]

    @post("/")
    async def create_invoice(
        self, request: Request[Any, Any, Any], db: FinancialDb, bus: EventBus, config: FinancialConfigClient,
        data: InvoiceIn,
    ) -> Invoice:
        """Number, tax and currency come from the company's configuration in core."""
        principal = await may_write(request, INVOICES_WRITE, data.company_id)
        resolved = await config.get(data.company_id)
        if principal.claims.tenant_id is not None and resolved.tenant_id != principal.claims.tenant_id:
            raise NotFound(f"no company {data.company_id} in your tenant")
        lines = None
        if data.lines is not None:
            lines = [service.InvoiceLineIn(x.description, x.quantity, x.unit_price, x.sku) for x in data.lines]
        invoice_id = await service.create_invoice(
            db, bus, resolved, customer=data.customer, lines=lines, total=data.total,
            issue_date=data.issue_date, due_date=data.due_date, created_by=principal.user_id,
        )
        async with db.snapshot() as conn:
            return present(await service.get_invoice(conn, db, invoice_id, None))

    @get("/", guards=[requires(INVOICES_READ)])
    async def list_invoices(
        self, request: Request[Any, Any, Any], db: FinancialDb, company_id: UUID, page: Page, status: str | None = None,
    ) -> list[Invoice]:
        async with company_snapshot(request, db, company_id) as conn:
            ids = await service.list_invoices(conn, db, company_id, status=status, limit=page.limit, offset=page.offset)
            return [present(await service.get_invoice(conn, db, i, None)) for i in ids]

    @get("/{invoice_id:uuid}")
    async def get_invoice(self, request: Request[Any, Any, Any], db: FinancialDb, invoice_id: UUID) -> Invoice:
        return present(await load_invoice(request, db, invoice_id, INVOICES_READ))
