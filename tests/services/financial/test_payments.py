"""Payments: partial then full, overpayment refused, events published, tenants kept apart."""

import asyncpg

from tests.services.financial.conftest import Harness, auth
from tests.services.financial.helpers import company, invoice, pay


async def event_types(h: Harness) -> list[str]:
    rows: list[str] = []
    for url, sql in ((h.data_url, "SELECT event_type FROM bus_outbox ORDER BY seq"),
                     (h.bus_url, "SELECT event_type FROM events WHERE source = 'financial'")):
        conn = await asyncpg.connect(url)
        try:
            rows += [r["event_type"] for r in await conn.fetch(sql)]
        finally:
            await conn.close()
    return rows


async def test_status_moves_open_partially_paid_paid(harness: Harness) -> None:
    _, company_id, headers = await company(harness, currency="EUR", tax_rate=0.19, invoice_prefix="DE-INV")
    inv = await invoice(harness, company_id, headers, total="119.00")
    first = await pay(harness, inv["id"], "19.00", headers, reference="SEPA 1")
    assert first.status_code == 201, first.text
    assert first.json()["amount"] == "19.00" and first.json()["currency"] == "EUR"
    after = (await harness.client.get(f"/api/v1/financial/invoices/{inv['id']}", headers=headers)).json()
    assert (after["status"], after["amount_paid"], after["amount_due"]) == ("partially_paid", "19.00", "100.00")

    over = await pay(harness, inv["id"], "100.01", headers)
    assert over.status_code == 409
    assert "exceeds the 100.00 EUR still owed" in over.json()["detail"]
    assert over.json()["type"] == "urn:buildify:problem:overpayment"

    last = await pay(harness, inv["id"], "100.00", headers)
    assert last.status_code == 201
    paid = (await harness.client.get(f"/api/v1/financial/invoices/{inv['id']}", headers=headers)).json()
    assert (paid["status"], paid["amount_due"]) == ("paid", "0.00")
    assert (await pay(harness, inv["id"], "0.01", headers)).status_code == 409

    types = await event_types(harness)
    assert types.count("financial.payment.received") == 2 and types.count("financial.invoice.paid") == 1
    listed = (await harness.client.get("/api/v1/financial/payments", params={"company_id": str(company_id),
                                       "invoice_id": inv["id"]}, headers=headers)).json()
    assert [p["amount"] for p in listed] == ["19.00", "100.00"]


async def test_bad_payments(shared: Harness) -> None:
    _, company_id, headers = await company(shared)
    inv = await invoice(shared, company_id, headers, total="10")
    for amount, reason in (("0", "must be positive"), ("-3", "must be positive"), ("1.001", "more decimals")):
        response = await pay(shared, inv["id"], amount, headers)
        assert response.status_code == 400 and reason in response.json()["detail"], response.text
    missing = await pay(shared, "00000000-0000-0000-0000-000000000000", "1", headers)
    assert missing.status_code == 404


async def test_another_tenants_invoice_is_invisible(shared: Harness) -> None:
    _, company_a, headers_a = await company(shared)
    inv = await invoice(shared, company_a, headers_a, total="50")
    tenant_b, company_b = shared.core.add_company()
    intruder = auth(tenant_b, company_b)
    assert (await shared.client.get(f"/api/v1/financial/invoices/{inv['id']}", headers=intruder)).status_code == 404
    paid = await pay(shared, inv["id"], "5", intruder)
    assert paid.status_code == 404 and "no invoice" in paid.json()["detail"]
    entry = await shared.client.get(f"/api/v1/financial/transactions/{inv['transaction_id']}", headers=intruder)
    assert entry.status_code == 404
    listing = await shared.client.get("/api/v1/financial/invoices", params={"company_id": str(company_a)},
                                      headers=intruder)
    assert listing.status_code == 403
