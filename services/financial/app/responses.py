"""What the financial API answers, typed, so OpenAPI documents every response schema.

Money is `Decimal` (a JSON string such as "1190.00"), never float.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

import msgspec

S = TypeVar("S")


def out(kind: type[S], value: Any) -> S:
    """A service's row or dict as the response Struct `kind` (fields it does not name are dropped)."""
    return msgspec.convert(dict(value), kind, from_attributes=True)


class Body(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every response body."""


class Account(Body, frozen=True, kw_only=True):
    id: UUID
    tenant_id: UUID
    company_id: UUID
    code: str
    name: str
    type: str
    currency: str
    is_active: bool
    is_system: bool
    created_at: datetime


class Payment(Body, frozen=True, kw_only=True):
    id: UUID
    tenant_id: UUID
    company_id: UUID
    invoice_id: UUID
    amount: Decimal
    currency: str
    paid_on: date
    method: str
    reference: str
    transaction_id: UUID | None
    created_by: str | None
    created_at: datetime


class InvoiceLine(Body, frozen=True, kw_only=True):
    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal


class Invoice(Body, frozen=True, kw_only=True):
    id: UUID
    tenant_id: UUID
    company_id: UUID
    number: str
    customer: str
    status: str
    currency: str
    tax_rate: Decimal
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    amount_paid: Decimal
    amount_due: Decimal
    issue_date: date
    due_date: date
    transaction_id: UUID | None
    created_by: str | None
    created_at: datetime
    lines: list[InvoiceLine]


class JournalLine(Body, frozen=True, kw_only=True):
    account_id: UUID
    account_code: str
    account_name: str
    debit: Decimal
    credit: Decimal
    description: str


class JournalEntry(Body, frozen=True, kw_only=True):
    id: UUID
    tenant_id: UUID
    company_id: UUID
    entry_date: date
    description: str
    currency: str
    source: str
    source_id: UUID | None
    reverses_id: UUID | None
    reversed_by: UUID | None
    created_by: str | None
    created_at: datetime
    lines: list[JournalLine]
    total: Decimal


class TrialBalanceRow(Body, frozen=True, kw_only=True):
    account_id: UUID
    code: str
    name: str
    type: str
    debit: Decimal
    credit: Decimal


class TrialBalance(Body, frozen=True, kw_only=True):
    company_id: UUID
    currency: str
    date_from: date | None
    date_to: date | None
    accounts: list[TrialBalanceRow]
    total_debit: Decimal
    total_credit: Decimal
    balanced: bool


class AmountRow(Body, frozen=True, kw_only=True):
    account_id: UUID
    code: str
    name: str
    amount: Decimal


class IncomeStatement(Body, frozen=True, kw_only=True):
    company_id: UUID
    currency: str
    date_from: date | None
    date_to: date | None
    revenue: list[AmountRow]
    expenses: list[AmountRow]
    total_revenue: Decimal
    total_expenses: Decimal
    net_income: Decimal


class BalanceSheet(Body, frozen=True, kw_only=True):
    company_id: UUID
    currency: str
    as_of: date | None
    assets: list[AmountRow]
    liabilities: list[AmountRow]
    equity: list[AmountRow]
    current_earnings: Decimal
    total_assets: Decimal
    total_liabilities: Decimal
    total_equity: Decimal
    balanced: bool


class OverdueInvoice(Body, frozen=True, kw_only=True):
    invoice_id: UUID
    number: str
    customer: str
    due_date: date
    days_overdue: int
    bucket: str
    outstanding: Decimal


class ReceivablesAging(Body, frozen=True, kw_only=True):
    company_id: UUID
    currency: str
    as_of: date
    buckets: dict[str, Decimal]
    invoices: list[OverdueInvoice]
    total: Decimal
