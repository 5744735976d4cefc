"""Events published by the warehouse module.

Quantities and money are Decimal. Stock is reserved for an invoice when financial announces it
and issued when the invoice is paid; financial books the cost of what was issued.
"""

from decimal import Decimal
from uuid import UUID

import msgspec

from contracts.envelope import Event


class ReservedLine(msgspec.Struct, frozen=True, kw_only=True):
    sku: str
    quantity: Decimal


class StockReserved(Event, frozen=True, kw_only=True, tag="warehouse.stock.reserved"):
    """Every SKU line of the invoice is held for it."""

    invoice_id: UUID
    company_id: UUID
    lines: list[ReservedLine]


class MissingLine(msgspec.Struct, frozen=True, kw_only=True):
    """`available` is what could have been held (0 for a SKU the warehouse does not know)."""

    sku: str
    requested: Decimal
    available: Decimal
    known: bool = True


class StockShortage(Event, frozen=True, kw_only=True, tag="warehouse.stock.shortage"):
    """Nothing was reserved for the invoice: these lines could not be covered."""

    invoice_id: UUID
    company_id: UUID
    missing: list[MissingLine]


class IssuedLine(msgspec.Struct, frozen=True, kw_only=True):
    sku: str
    quantity: Decimal
    unit_cost: Decimal
    cost: Decimal


class StockIssued(Event, frozen=True, kw_only=True, tag="warehouse.stock.issued"):
    """Reserved stock left the warehouse for a paid invoice; `total_cost` is its cost of goods sold."""

    invoice_id: UUID
    company_id: UUID
    lines: list[IssuedLine]
    total_cost: Decimal
    currency: str


class StockLow(Event, frozen=True, kw_only=True, tag="warehouse.stock.low"):
    """An item's available quantity fell below its low-stock threshold."""

    item_id: UUID
    company_id: UUID
    sku: str
    available: Decimal
    threshold: Decimal
