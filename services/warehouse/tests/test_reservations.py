"""Invoices reserve stock for their SKU lines (all or nothing), payment issues it at cost; the
warehouse learns of invoices only through financial's events."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

import msgspec

from broker import EventBus
from broker.testing import run_until_idle
from contracts.envelope import Event
from contracts.financial import InvoiceCreated, InvoiceLine, InvoicePaid
from contracts.warehouse import StockIssued, StockReserved, StockShortage
from modulekit.testing import QUIET_BUS
from services.warehouse.app.upcasting import upcasters

if TYPE_CHECKING:  # fixtures come from conftest.py; nothing is imported from it at run time
    from services.warehouse.tests.conftest import Harness

API = "/api/v1/warehouse"


async def from_financial(h: Harness, event: Event, tenant_id: UUID) -> None:
    """Financial announces `event`; the warehouse's workers handle what it subscribed to."""
    financial = EventBus(service="financial", dsn=h.bus_url, settings=QUIET_BUS)
    await financial.open()
    try:
        await financial.publish(None, event, tenant_id=tenant_id, company_id=getattr(event, "company_id", None))
        await run_until_idle(financial)
    finally:
        await financial.close()
    await run_until_idle(h.bus)


def invoice_created(company_id: UUID, *lines: tuple[str | None, str], invoice_id: UUID | None = None
                    ) -> InvoiceCreated:
    return InvoiceCreated(
        invoice_id=invoice_id or uuid4(), company_id=company_id, number="INV-000001", customer="Acme",
        subtotal=Decimal(100), tax=Decimal(0), total=Decimal(100), currency="EUR",
        lines=[InvoiceLine(description="x", quantity=Decimal(q), unit_price=Decimal(1), amount=Decimal(q), sku=sku)
               for sku, q in lines],
    )


async def tenant_of(h: Harness, company_id: UUID) -> UUID:
    return h.core.configs[company_id].tenant_id


async def reservations(h: Harness, company_id: UUID, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await h.client.get(API + "/reservations", params={"company_id": str(company_id)}, headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json())


async def test_invoice_reserves_across_locations_and_payment_issues_at_cost(harness: Harness) -> None:
    company_id, headers, item, warehouse = await harness.stocked("10", unit_cost="2.50")
    b1 = warehouse["locations"][1]["id"]
    assert (await harness.move(headers, company_id, item, b1, "receipt", "3")).status_code == 201
    tenant_id = await tenant_of(harness, company_id)
    created = invoice_created(company_id, ("W-1", "7"), (None, "1"), ("W-1", "5"))  # 12 of W-1, one service line
    await from_financial(harness, created, tenant_id)

    assert await harness.levels(company_id, headers) == {"A1": ("10", "10"), "B1": ("3", "2")}
    [reserved] = await harness.published(StockReserved)
    assert (reserved.invoice_id, [(x.sku, x.quantity) for x in reserved.lines]) == (
        created.invoice_id, [("W-1", Decimal(12))])
    assert {r["status"] for r in await reservations(harness, company_id, headers)} == {"held"}

    await from_financial(harness, InvoicePaid(invoice_id=created.invoice_id, company_id=company_id,
                                              number="INV-000001", total=Decimal(100), currency="EUR"), tenant_id)
    assert await harness.levels(company_id, headers) == {"A1": ("0", "0"), "B1": ("1", "0")}
    [issued] = await harness.published(StockIssued)
    assert (issued.total_cost, issued.currency) == (Decimal("30"), "EUR")
    assert [(x.sku, x.quantity, x.unit_cost) for x in issued.lines] == [("W-1", Decimal(12), Decimal("2.5"))]
    assert {r["status"] for r in await reservations(harness, company_id, headers)} == {"issued"}
    history = await harness.client.get(API + "/movements", params={"company_id": str(company_id)}, headers=headers)
    issues = [m for m in history.json() if m["kind"] == "issue"]
    assert {m["invoice_id"] for m in issues} == {str(created.invoice_id)}
    assert sum(Decimal(m["quantity"]) for m in issues) == 12


async def test_shortage_names_what_is_missing_and_reserves_nothing(harness: Harness) -> None:
    company_id, headers, _, _ = await harness.stocked("4")
    tenant_id = await tenant_of(harness, company_id)
    await from_financial(harness, invoice_created(company_id, ("W-1", "3"), ("W-1", "2"), ("NOPE", "1")), tenant_id)
    [shortage] = await harness.published(StockShortage)
    assert {(m.sku, m.requested, m.available, m.known) for m in shortage.missing} == {
        ("W-1", Decimal(5), Decimal(4), True), ("NOPE", Decimal(1), Decimal(0), False)}
    assert await harness.levels(company_id, headers) == {"A1": ("4", "0")}
    assert await reservations(harness, company_id, headers) == []
    assert await harness.published(StockReserved) == []


async def test_the_same_invoice_announced_twice_reserves_once(shared: Harness) -> None:
    company_id, headers, _, _ = await shared.stocked("10")
    tenant_id = await tenant_of(shared, company_id)
    created = invoice_created(company_id, ("W-1", "4"))
    await from_financial(shared, created, tenant_id)
    await from_financial(shared, created, tenant_id)  # a replay by an operator: a new event, the same invoice
    assert await shared.levels(company_id, headers) == {"A1": ("10", "4")}


async def test_an_invoice_reserves_only_in_its_own_company(shared: Harness) -> None:
    other_company, other_headers, _, _ = await shared.stocked("10")  # another tenant's W-1
    company_id, _, _, _ = await shared.stocked("0")
    await from_financial(shared, invoice_created(company_id, ("W-1", "2")), await tenant_of(shared, company_id))
    [shortage] = await shared.published(StockShortage)
    assert shortage.company_id == company_id
    assert await shared.levels(other_company, other_headers) == {"A1": ("10", "0")}


async def test_default_warehouse_from_configuration_is_where_invoices_reserve(shared: Harness) -> None:
    company_id, headers, item, _ = await shared.stocked("5", default_warehouse="SHOP")
    shop = (await shared.client.post(API + "/warehouses", headers=headers, json={
        "company_id": str(company_id), "code": "SHOP", "name": "Shop floor", "locations": ["S1"]})).json()
    received = await shared.move(headers, company_id, item, shop["locations"][0]["id"], "receipt", "2")
    assert received.status_code == 201
    await from_financial(shared, invoice_created(company_id, ("W-1", "3")), await tenant_of(shared, company_id))
    [shortage] = await shared.published(StockShortage)  # 5 in MAIN do not count: the company reserves in SHOP
    assert [(m.requested, m.available) for m in shortage.missing] == [(Decimal(3), Decimal(2))]


def test_version_1_invoice_events_are_upcast_for_the_handler() -> None:
    old = {"invoice_id": str(uuid4()), "company_id": str(uuid4()), "number": "INV-1", "customer": "A",
           "subtotal": "1", "tax": "0", "total": "1", "currency": "EUR"}
    version, payload = upcasters.upcast("financial.invoice.created", 1, msgspec.json.encode(old).decode())
    assert version == InvoiceCreated.schema_version == 2
    assert msgspec.json.decode(payload, type=InvoiceCreated).lines == []
