"""Financial's side of the warehouse link: SKU lines travel with `financial.invoice.created` v2,
and `warehouse.stock.issued` books cost of goods sold — by event only, no import between modules."""

from decimal import Decimal
from uuid import uuid4

import msgspec

from broker import EventBus
from broker.testing import run_until_idle
from contracts.financial import UPCASTS, InvoiceCreated
from contracts.warehouse import IssuedLine, StockIssued
from modulekit.testing import published
from tests.services.financial.conftest import FAST, Harness
from tests.services.financial.helpers import company, invoice


async def announced(h: Harness, invoice_id: str) -> tuple[int, InvoiceCreated]:
    """The version and payload of the invoice's `financial.invoice.created`, in the outbox or the log."""
    for version, event in await published(InvoiceCreated, h.data_url, h.bus_url):
        if str(event.invoice_id) == invoice_id:
            return version, event
    raise AssertionError(f"invoice {invoice_id} was not announced")


async def test_sku_lines_are_kept_and_announced_as_version_2(harness: Harness) -> None:
    _, company_id, headers = await company(harness, currency="EUR")
    created = await invoice(harness, company_id, headers, lines=[
        {"description": "Widget", "quantity": "3", "unit_price": "20.00", "sku": "W-1"},
        {"description": "Installation", "quantity": "1", "unit_price": "50.00"},
    ])
    assert [line.get("sku") for line in created["lines"]] == ["W-1", None]
    version, event = await announced(harness, created["id"])
    assert version == 2
    assert [(x.sku, x.quantity, x.amount) for x in event.lines] == [
        ("W-1", Decimal(3), Decimal("60.00")), (None, Decimal(1), Decimal("50.00"))]


def test_version_1_payload_reads_as_version_2_without_lines() -> None:
    old = {"invoice_id": str(uuid4()), "company_id": str(uuid4()), "number": "INV-000001", "customer": "A",
           "subtotal": "10", "tax": "0", "total": "10", "currency": "USD"}
    upgraded = UPCASTS[("financial.invoice.created", InvoiceCreated.schema_version - 1)](old)
    event = msgspec.convert(upgraded, InvoiceCreated, strict=False)
    assert event.lines == [] and event.number == "INV-000001"


async def test_stock_issued_posts_cost_of_goods_sold(harness: Harness) -> None:
    tenant_id, company_id, headers = await company(harness, currency="EUR")
    await invoice(harness, company_id, headers)  # the company's chart exists, as in real use
    warehouse = EventBus(service="warehouse", dsn=harness.bus_url, settings=FAST)
    await warehouse.open()
    invoice_id = uuid4()
    try:
        await warehouse.publish(None, StockIssued(
            invoice_id=invoice_id, company_id=company_id, currency="EUR", total_cost=Decimal("37.5050"),
            lines=[IssuedLine(sku="W-1", quantity=Decimal(3), unit_cost=Decimal("12.5017"),
                              cost=Decimal("37.5050"))],
        ), tenant_id=tenant_id, company_id=company_id)
        await run_until_idle(warehouse)
    finally:
        await warehouse.close()
    await run_until_idle(harness.bus)
    listed = await harness.client.get("/api/v1/financial/transactions", params={"company_id": str(company_id)},
                                      headers=headers)
    cogs = [e for e in listed.json() if e["source"] == "cogs"]
    assert len(cogs) == 1 and cogs[0]["source_id"] == str(invoice_id)
    lines = {(x["account_code"], x["debit"], x["credit"]) for x in cogs[0]["lines"]}
    assert lines == {("5000", "37.51", "0.00"), ("1300", "0.00", "37.51")}
