"""Invoices priced, numbered and taxed by the company's configuration from core."""

import httpx

from broker.testing import run_until_idle
from contracts.financial import InvoiceCreated
from modulekit.testing import published
from tests.services.financial.conftest import Harness
from tests.services.financial.helpers import company, configured_in_core, invoice

URL = "/api/v1/financial/invoices"


async def test_german_subsidiary_gets_de_numbers_19_percent_and_eur(harness: Harness) -> None:
    _, company_id, headers = await company(harness, currency="EUR", tax_rate=0.19, invoice_prefix="DE-INV")
    first = await invoice(harness, company_id, headers, lines=[
        {"description": "Beratung", "quantity": "3", "unit_price": "100.00"},
        {"description": "Reise", "quantity": "1", "unit_price": "49.99"},
    ])
    assert first["number"] == "DE-INV-000001"
    assert (first["currency"], first["subtotal"], first["tax"], first["total"]) == ("EUR", "349.99", "66.50", "416.49")
    assert first["status"] == "open" and first["amount_due"] == "416.49"
    second = await invoice(harness, company_id, headers, total="1500")
    assert second["number"] == "DE-INV-000002"
    assert (second["subtotal"], second["tax"], second["total"]) == ("1260.50", "239.50", "1500.00")

    entry = (await harness.client.get(f"/api/v1/financial/transactions/{first['transaction_id']}",
                                      headers=headers)).json()
    assert [(x["account_code"], x["debit"], x["credit"]) for x in entry["lines"]] == [
        ("1200", "416.49", "0.00"), ("4000", "0.00", "349.99"), ("2200", "0.00", "66.50"),
    ]
    events = [e for _, e in await published(InvoiceCreated, harness.data_url, harness.bus_url)]
    assert sorted(e.number for e in events) == ["DE-INV-000001", "DE-INV-000002"]
    assert {e.currency for e in events} == {"EUR"}


async def test_defaults_and_numbers_are_gap_free_per_company(shared: Harness) -> None:
    _, a, ha = await company(shared)
    _, b, hb = await company(shared, invoice_prefix="ACME-")
    assert (await invoice(shared, a, ha))["number"] == "INV-000001"
    refused = await shared.client.post(URL, json={"company_id": str(a), "customer": "X",
                                                  "lines": [{"quantity": "-1", "unit_price": "5"}]}, headers=ha)
    assert refused.status_code == 400 and "quantity must be positive" in refused.json()["detail"]
    assert (await invoice(shared, b, hb))["number"] == "ACME-000001"
    again = await invoice(shared, a, ha)
    assert again["number"] == "INV-000002"  # the refused invoice took no number
    assert (again["currency"], again["tax"], again["total"]) == ("USD", "0.00", "1000.00")
    listed = (await shared.client.get(URL, params={"company_id": str(a)}, headers=ha)).json()
    assert [i["number"] for i in listed] == ["INV-000001", "INV-000002"]


async def test_concurrent_invoices_take_consecutive_numbers(shared: Harness) -> None:
    import asyncio

    _, company_id, headers = await company(shared)
    made = await asyncio.gather(*(invoice(shared, company_id, headers) for _ in range(8)))
    assert sorted(i["number"] for i in made) == [f"INV-{n:06d}" for n in range(1, 9)]


async def test_configuration_change_in_core_reaches_the_next_invoice(shared: Harness) -> None:
    tenant_id, company_id, headers = await company(shared, invoice_prefix="OLD")
    assert (await invoice(shared, company_id, headers))["number"] == "OLD-000001"
    shared.core.set(tenant_id, company_id, invoice_prefix="NEW", tax_rate=0.2)
    assert (await invoice(shared, company_id, headers))["number"] == "OLD-000002"  # cached
    await configured_in_core(shared, tenant_id, company_id, invoice_prefix="NEW")
    await run_until_idle(shared.bus)
    fresh = await invoice(shared, company_id, headers)
    assert fresh["number"] == "NEW-000003" and fresh["tax"] == "200.00"


async def test_bad_invoices_are_refused_with_a_reason(shared: Harness) -> None:
    tenant_id, company_id, headers = await company(shared)
    cases = [
        ({"customer": "X"}, "needs lines"),
        ({"customer": "", "total": "5"}, "customer must be"),
        ({"customer": "X", "total": "-5"}, "must be positive"),
        ({"customer": "X", "total": "5.001"}, "more decimals than USD"),
        ({"customer": "X", "total": "5", "lines": [{"unit_price": "1"}]}, "not both"),
        ({"customer": "X", "lines": [{"unit_price": "-1"}]}, "must not be negative"),
        ({"customer": "X", "total": "abc"}, "total"),
        ({"customer": "X", "total": "5", "due_date": "2020-01-01", "issue_date": "2026-01-01"}, "before issue_date"),
        ({"customer": "X", "total": "5", "colour": "red"}, "colour"),
    ]
    for body, reason in cases:
        response = await shared.client.post(URL, json={"company_id": str(company_id), **body}, headers=headers)
        assert response.status_code == 400, (body, response.text)
        assert reason in response.json()["detail"], (body, response.json())
    malformed = await shared.client.post(
        URL, content=b"{not json", headers={**headers, "content-type": "application/json"}
    )
    assert malformed.status_code == 400 and malformed.json()["detail"]

    _, other, other_headers = await company(shared)
    shared.core.set(tenant_id, other, is_enabled=False)
    disabled = await shared.client.post(URL, json={"company_id": str(other), "customer": "X", "total": "5"},
                                        headers=other_headers)
    assert disabled.status_code == 403 and "not enabled" in disabled.json()["detail"]


async def test_core_unreachable_is_503_not_500(shared: Harness) -> None:
    config = shared.app.state.config
    async with httpx.AsyncClient() as unreachable:
        config.http, config.base_url = unreachable, "http://127.0.0.1:9"
        _, company_id, headers = await company(shared)
        response = await shared.client.post(
            URL, json={"company_id": str(company_id), "customer": "X", "total": "5"}, headers=headers
        )
    assert response.status_code == 503 and "core did not answer" in response.json()["detail"]


async def test_line_quantities_and_prices_read_as_plain_numbers(shared: Harness) -> None:
    _, a, ha = await company(shared)
    created = await invoice(shared, a, ha, lines=[{"description": "Hours", "quantity": "10", "unit_price": "100.50"}])
    [line] = created["lines"]
    assert (line["quantity"], line["unit_price"], line["amount"]) == ("10", "100.5", "1005.00")  # not "1E+1"
