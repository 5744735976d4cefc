"""HTTP API of payments."""

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post

from broker import EventBus
from modulekit.auth import principal_of, requires
from modulekit.paging import Page
from services.financial.app.access import company_snapshot, load_visible
from services.financial.app.db import FinancialDb
from services.financial.app.invoices.controllers import load_invoice
from services.financial.app.money import round_money
from services.financial.app.payments import service
from services.financial.app.permissions import PAYMENTS_READ, PAYMENTS_WRITE
from services.financial.app.responses import Payment, out


class PaymentIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    invoice_id: UUID
    amount: Decimal
    paid_on: date | None = None
    method: str = "bank_transfer"
    reference: str = ""


def present(row: Any) -> Payment:
    payment = dict(row)
    return out(Payment, {**payment, "amount": round_money(payment["amount"], payment["currency"])})


class PaymentController(Controller):
    path = "/payments"
    tags = ["payments"]

    @post("/")
    async def record_payment(
        self, request: Request[Any, Any, Any], db: FinancialDb, bus: EventBus, data: PaymentIn
    ) -> Payment:
        """Full or partial payment of an invoice; more than is owed is refused."""
        principal = principal_of(request)
        invoice = await load_invoice(request, db, data.invoice_id, PAYMENTS_WRITE)
        payment_id = await service.record_payment(
            db, bus, invoice=invoice, amount=data.amount, paid_on=data.paid_on, method=data.method,
            reference=data.reference, created_by=principal.user_id,
        )
        async with db.snapshot() as conn:
            return present(await service.get_payment(conn, db, payment_id, None))

    @get("/", guards=[requires(PAYMENTS_READ)])
    async def list_payments(
        self, request: Request[Any, Any, Any], db: FinancialDb, company_id: UUID, page: Page,
        invoice_id: UUID | None = None,
    ) -> list[Payment]:
        async with company_snapshot(request, db, company_id) as conn:
            rows = await service.list_payments(conn, db, company_id, invoice_id, page.limit, page.offset)
            return [present(r) for r in rows]

    @get("/{payment_id:uuid}")
    async def get_payment(self, request: Request[Any, Any, Any], db: FinancialDb, payment_id: UUID) -> Payment:
        return present(await load_visible(request, db, service.get_payment, payment_id, PAYMENTS_READ))
