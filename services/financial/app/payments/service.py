"""Payments against invoices: open -> partially_paid -> paid, never beyond the total."""

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from broker import EventBus
from contracts.financial import InvoicePaid, PaymentReceived
from contracts.ids import uuid7
from services.financial.app.accounts.service import CASH, RECEIVABLE
from services.financial.app.db import FinancialDb, fetch_in_tenant
from services.financial.app.errors import InvalidInput, NotFound, Overpayment
from services.financial.app.journal.service import LineIn, post_entry
from services.financial.app.money import exact_money

PAYMENT_COLUMNS = (
    "id, tenant_id, company_id, invoice_id, amount, currency, paid_on, method, reference, transaction_id, "
    "created_by, created_at"
)


async def record_payment(
    db: FinancialDb,
    bus: EventBus,
    *,
    invoice: dict[str, Any],
    amount: Decimal,
    paid_on: date | None,
    method: str,
    reference: str,
    created_by: str | None,
) -> UUID:
    """Lock the invoice, refuse overpayment, post cash against receivables, update the status
    and publish `financial.payment.received` (and `financial.invoice.paid` when settled)."""
    currency = invoice["currency"]
    amount = exact_money(amount, currency, "amount")
    if amount <= 0:
        raise InvalidInput(f"a payment amount must be positive, not {amount}")
    if len(method) > 40 or len(reference) > 200:
        raise InvalidInput("method takes at most 40 characters and reference at most 200")
    payment_id = uuid7()
    async with db.transaction() as conn:
        row = await conn.fetchrow(
            f"SELECT id, number, total, amount_paid, status FROM {db.t('invoices')} WHERE id = $1 FOR UPDATE",
            invoice["id"],
        )
        if row is None:
            raise NotFound(f"no invoice {invoice['id']} in your companies")
        owed = row["total"] - row["amount_paid"]
        if amount > owed:
            raise Overpayment(
                f"payment of {amount} {currency} exceeds the {owed.quantize(amount)} {currency} still owed "
                f"on invoice {row['number']}",
            )
        paid = row["amount_paid"] + amount
        status = "paid" if paid == row["total"] else "partially_paid"
        when = paid_on or date.today()
        entry_id = await post_entry(
            conn, db, tenant_id=invoice["tenant_id"], company_id=invoice["company_id"], entry_date=when,
            description=f"Payment for invoice {row['number']}", currency=currency,
            lines=[LineIn(account_code=CASH, debit=amount), LineIn(account_code=RECEIVABLE, credit=amount)],
            source="payment", source_id=payment_id, created_by=created_by,
        )
        await conn.execute(
            f"INSERT INTO {db.t('payments')} ({PAYMENT_COLUMNS}) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, now())",
            payment_id, invoice["tenant_id"], invoice["company_id"], invoice["id"], amount, currency, when,
            method, reference, entry_id, created_by,
        )
        await conn.execute(
            f"UPDATE {db.t('invoices')} SET amount_paid = $2, status = $3 WHERE id = $1", invoice["id"], paid, status
        )
        scope = {"tenant_id": invoice["tenant_id"], "company_id": invoice["company_id"],
                 "ordering_key": str(invoice["id"])}
        await bus.publish(
            conn,
            PaymentReceived(payment_id=payment_id, invoice_id=invoice["id"], company_id=invoice["company_id"],
                            amount=amount, currency=currency),
            **scope,
        )
        if status == "paid":
            await bus.publish(
                conn,
                InvoicePaid(invoice_id=invoice["id"], company_id=invoice["company_id"], number=row["number"],
                            total=row["total"].quantize(amount), currency=currency),
                **scope,
            )
    return payment_id


async def get_payment(conn: asyncpg.Connection, db: FinancialDb, payment_id: UUID, tenant_id: UUID | None) -> Any:
    return await fetch_in_tenant(conn, db.t("payments"), PAYMENT_COLUMNS, payment_id, tenant_id, noun="payment")


async def list_payments(
    conn: asyncpg.Connection, db: FinancialDb, company_id: UUID, invoice_id: UUID | None, limit: int, offset: int
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {PAYMENT_COLUMNS} FROM {db.t('payments')} WHERE company_id = $1 "
        "AND ($2::uuid IS NULL OR invoice_id = $2) ORDER BY created_at, id LIMIT $3 OFFSET $4",
        company_id, invoice_id, limit, offset,
    )
