"""Events published by the financial module."""

from datetime import date
from decimal import Decimal
from uuid import UUID

from contracts.envelope import Event


class InvoiceCreated(Event, frozen=True, kw_only=True, tag="financial.invoice.created"):
    invoice_id: UUID
    company_id: UUID
    number: str
    customer: str
    subtotal: Decimal
    tax: Decimal
    total: Decimal  # money is Decimal, never float
    currency: str
    issue_date: date | None = None
    due_date: date | None = None


class PaymentReceived(Event, frozen=True, kw_only=True, tag="financial.payment.received"):
    payment_id: UUID
    invoice_id: UUID
    company_id: UUID
    amount: Decimal
    currency: str


class InvoicePaid(Event, frozen=True, kw_only=True, tag="financial.invoice.paid"):
    invoice_id: UUID
    company_id: UUID
    number: str
    total: Decimal
    currency: str
