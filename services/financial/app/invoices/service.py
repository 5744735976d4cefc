"""Invoices: numbered gap-free per company, taxed and priced in the company's resolved
configuration, posted to the journal and announced on the bus in one transaction."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from broker import EventBus
from contracts.financial import InvoiceCreated, InvoiceLine
from contracts.ids import uuid7
from services.financial.app.accounts.service import RECEIVABLE, REVENUE, TAX_PAYABLE, create_default_chart
from services.financial.app.config import FinancialConfig
from services.financial.app.dates import add_days
from services.financial.app.db import FinancialDb, fetch_in_tenant, with_lines
from services.financial.app.errors import InvalidInput
from services.financial.app.journal.service import LineIn, post_entry
from services.financial.app.money import ZERO, exact_money, round_money

MAX_QUANTITY = Decimal("1e9")
STATUSES = ("open", "partially_paid", "paid")


@dataclass(frozen=True, slots=True)
class InvoiceLineIn:
    description: str
    quantity: Decimal
    unit_price: Decimal
    sku: str | None = None


def format_number(prefix: str, sequence: int) -> str:
    """`DE-INV` and 1 -> `DE-INV-000001`; a prefix already ending in `-` keeps one dash."""
    return f"{prefix.rstrip('-')}-{sequence:06d}" if prefix else f"{sequence:06d}"


async def next_number(conn: asyncpg.Connection, db: FinancialDb, company_id: UUID) -> int:
    """Take the next number under a row lock held until the transaction ends: a rolled-back
    invoice gives its number back, and concurrent invoices queue, so there are no gaps."""
    return int(
        await conn.fetchval(
            f"INSERT INTO {db.t('invoice_sequences')} AS s (company_id, last_number) VALUES ($1, 1) "
            "ON CONFLICT (company_id) DO UPDATE SET last_number = s.last_number + 1 RETURNING last_number",
            company_id,
        )
    )


def price_lines(
    lines: list[InvoiceLineIn] | None, total: Decimal | None, config: FinancialConfig
) -> tuple[list[tuple[InvoiceLineIn, Decimal]], Decimal, Decimal, Decimal]:
    """Amounts per line, subtotal, tax and total, rounded to the currency's minor unit.

    The seed's plain `total` is the amount the customer pays, tax included: it becomes one
    line whose net amount and tax add up to it exactly.
    """
    currency = config.currency
    if lines and total is not None:
        raise InvalidInput("give either lines or a plain total, not both")
    if not lines:
        if total is None:
            raise InvalidInput("an invoice needs lines (description, quantity, unit_price) or a total")
        gross = exact_money(total, currency, "total")
        if gross <= 0:
            raise InvalidInput(f"total must be positive, not {gross}")
        subtotal = round_money(gross / (1 + config.tax_rate), currency)
        line = InvoiceLineIn(description="Amount due", quantity=Decimal(1), unit_price=subtotal)
        return [(line, subtotal)], subtotal, gross - subtotal, gross
    if len(lines) > 500:
        raise InvalidInput("an invoice may have at most 500 lines")
    priced = []
    for n, line in enumerate(lines, start=1):
        if not line.quantity.is_finite() or not line.unit_price.is_finite():
            raise InvalidInput(f"line {n}: quantity and unit_price must be finite numbers")
        if line.quantity <= 0:
            raise InvalidInput(f"line {n}: quantity must be positive, not {line.quantity}")
        if line.quantity > MAX_QUANTITY or abs(line.unit_price) > Decimal("1e12"):
            raise InvalidInput(f"line {n}: quantity or unit_price is too large")
        if line.unit_price < 0:
            raise InvalidInput(f"line {n}: unit_price must not be negative, not {line.unit_price}")
        if line.quantity.as_tuple().exponent < -4 or line.unit_price.as_tuple().exponent < -4:  # type: ignore[operator]
            raise InvalidInput(f"line {n}: quantity and unit_price take at most 4 decimals")
        priced.append((line, round_money(line.quantity * line.unit_price, currency)))
    subtotal = sum((amount for _, amount in priced), ZERO)
    if subtotal <= 0:
        raise InvalidInput("the invoice total must be positive")
    tax = round_money(subtotal * config.tax_rate, currency)
    return priced, subtotal, tax, subtotal + tax


async def create_invoice(
    db: FinancialDb,
    bus: EventBus,
    config: FinancialConfig,
    *,
    customer: str,
    lines: list[InvoiceLineIn] | None,
    total: Decimal | None,
    issue_date: date | None,
    due_date: date | None,
    created_by: str | None,
) -> UUID:
    """Number, price, post and publish one invoice; everything commits together or not at all."""
    customer = customer.strip()
    if not customer or len(customer) > 200:
        raise InvalidInput("customer must be 1 to 200 characters")
    priced, subtotal, tax, gross = price_lines(lines, total, config)
    issued = issue_date or date.today()
    due = due_date or add_days(issued, config.payment_terms_days,
                                what="`issue_date` plus the payment terms (`due_date` left out)")
    if due < issued:
        raise InvalidInput(f"due_date {due} is before issue_date {issued}")
    company_id, tenant_id, currency = config.company_id, config.tenant_id, config.currency
    invoice_id = uuid7()
    async with db.transaction() as conn:
        await create_default_chart(conn, db, tenant_id=tenant_id, company_id=company_id, currency=currency)
        number = format_number(config.invoice_prefix, await next_number(conn, db, company_id))
        journal = [
            LineIn(account_code=RECEIVABLE, debit=gross, description=f"Invoice {number}"),
            LineIn(account_code=REVENUE, credit=subtotal, description=f"Invoice {number}"),
        ]
        if tax > 0:
            journal.append(LineIn(account_code=TAX_PAYABLE, credit=tax, description=f"Tax on {number}"))
        entry_id = await post_entry(
            conn, db, tenant_id=tenant_id, company_id=company_id, entry_date=issued,
            description=f"Invoice {number} to {customer}", currency=currency, lines=journal,
            source="invoice", source_id=invoice_id, created_by=created_by,
        )
        await conn.execute(
            f"INSERT INTO {db.t('invoices')} (id, tenant_id, company_id, number, customer, status, currency, "
            "tax_rate, subtotal, tax, total, amount_paid, issue_date, due_date, transaction_id, created_by, "
            "created_at) VALUES ($1, $2, $3, $4, $5, 'open', $6, $7, $8, $9, $10, 0, $11, $12, $13, $14, now())",
            invoice_id, tenant_id, company_id, number, customer, currency, config.tax_rate, subtotal, tax,
            gross, issued, due, entry_id, created_by,
        )
        await conn.executemany(
            f"INSERT INTO {db.t('invoice_lines')} (id, invoice_id, line_no, description, quantity, unit_price, "
            "amount, sku) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            [
                (uuid7(), invoice_id, n, line.description, line.quantity, line.unit_price, amount, line.sku)
                for n, (line, amount) in enumerate(priced, start=1)
            ],
        )
        await bus.publish(
            conn,
            InvoiceCreated(
                invoice_id=invoice_id, company_id=company_id, number=number, customer=customer,
                subtotal=subtotal, tax=tax, total=gross, currency=currency, issue_date=issued, due_date=due,
                lines=[InvoiceLine(description=line.description, quantity=line.quantity, unit_price=line.unit_price,
                                   amount=amount, sku=line.sku) for line, amount in priced],
            ),
            tenant_id=tenant_id, company_id=company_id, ordering_key=str(invoice_id),
        )
    return invoice_id


INVOICE_COLUMNS = (
    "id, tenant_id, company_id, number, customer, status, currency, tax_rate, subtotal, tax, total, "
    "amount_paid, issue_date, due_date, transaction_id, created_by, created_at"
)


async def get_invoice(
    conn: asyncpg.Connection, db: FinancialDb, invoice_id: UUID, tenant_id: UUID | None
) -> dict[str, Any]:
    row = await fetch_in_tenant(conn, db.t("invoices"), INVOICE_COLUMNS, invoice_id, tenant_id, noun="invoice")
    return await with_lines(conn, row, f"SELECT description, quantity, unit_price, amount, sku "
                                       f"FROM {db.t('invoice_lines')} WHERE invoice_id = $1 ORDER BY line_no")


async def list_invoices(
    conn: asyncpg.Connection, db: FinancialDb, company_id: UUID, *, status: str | None, limit: int, offset: int
) -> list[UUID]:
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
    rows = await conn.fetch(
        f"SELECT id FROM {db.t('invoices')} WHERE company_id = $1 AND ($2::text IS NULL OR status = $2) "
        "ORDER BY number LIMIT $3 OFFSET $4",
        company_id, status, limit, offset,
    )
    return [r["id"] for r in rows]
