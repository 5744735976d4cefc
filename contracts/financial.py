"""Events published by the financial module."""

from datetime import date
from decimal import Decimal
from typing import Any, ClassVar
from uuid import UUID

import msgspec

from contracts.envelope import Event


class InvoiceLine(msgspec.Struct, frozen=True, kw_only=True):
    """One line of an invoice as announced; `sku` names a warehouse item when the line sells goods."""

    description: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    sku: str | None = None


class InvoiceCreated(Event, frozen=True, kw_only=True, tag="financial.invoice.created"):
    """Version 2 carries the lines (with their optional `sku`); version 1 had none."""

    schema_version: ClassVar[int] = 2

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
    lines: list[InvoiceLine] = msgspec.field(default_factory=list)


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


def invoice_created_v1_to_v2(payload: dict[str, Any]) -> dict[str, Any]:
    """Invoices announced before lines travelled with the event had no SKU lines to reserve."""
    return {**payload, "lines": []}


UPCASTS = {("financial.invoice.created", 1): invoice_created_v1_to_v2}
"""Payload upgrades of financial's events, keyed by (event type, from version); consumers register
them with `broker.upcasting.Upcasters` (contracts import no bus code)."""
