"""Issue 13 end to end, through the gateway: an invoice with SKU lines reserves stock in the company's
configured warehouse, its payment issues it and financial books the cost of goods sold; parallel
issues through the gateway never oversell."""

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.platform import running_platform
from tests.waiting import wait_until_sync

pytestmark = pytest.mark.slow
API = "/api/v1/warehouse"


def created(response: httpx.Response) -> Any:
    assert response.status_code == 201, response.text
    return response.json()


def test_invoice_reserves_payment_issues_and_financial_books_cogs(database_url: str, tmp_path: Path) -> None:
    with running_platform(database_url, tmp_path / "platform") as platform, \
            httpx.Client(base_url=platform.gateway, timeout=10) as http:
        login = http.post("/api/v1/auth/login", json={"email": platform.admin_email,
                                                      "password": platform.admin_password})
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        me = http.get("/api/v1/me", headers=auth).json()
        gmbh = next(c["company"]["id"] for c in me["companies"] if c["company"]["name"] == "Acme GmbH")

        # the seed's example: tenant defaults, the subsidiary's own default warehouse
        resolved = http.get(f"/api/v1/companies/{gmbh}/modules/warehouse/config", headers=auth).json()
        values, sources = resolved["values"], resolved["sources"]
        assert (values["default_warehouse"], sources["default_warehouse"]) == ("BERLIN", "company")
        assert (values["allow_negative_stock"], sources["allow_negative_stock"]) == (False, "tenant")

        main = created(http.post(f"{API}/warehouses", headers=auth, json={
            "company_id": gmbh, "code": "MAIN", "name": "Central", "locations": ["M1"]}))
        berlin = created(http.post(f"{API}/warehouses", headers=auth, json={
            "company_id": gmbh, "code": "BERLIN", "name": "Berlin", "locations": ["A1"]}))
        item = created(http.post(f"{API}/items", headers=auth, json={
            "company_id": gmbh, "sku": "W-1", "name": "Widget", "unit_cost": "12.50", "low_stock_threshold": "2"}))
        for warehouse, quantity in ((main, "100"), (berlin, "10")):
            created(http.post(f"{API}/movements", headers=auth, json={
                "company_id": gmbh, "kind": "receipt", "item_id": item["id"], "quantity": quantity,
                "location_id": warehouse["locations"][0]["id"]}))

        invoice = created(http.post("/api/v1/financial/invoices", headers=auth, json={
            "company_id": gmbh, "customer": "Globex AG",
            "lines": [{"description": "Widget", "quantity": "3", "unit_price": "40.00", "sku": "W-1"},
                      {"description": "Delivery", "quantity": "1", "unit_price": "15.00"}]}))

        def reservations(status: str) -> list[dict[str, Any]] | None:
            rows = http.get(f"{API}/reservations", params={"company_id": gmbh, "status": status}, headers=auth).json()
            return [r for r in rows if r["invoice_id"] == invoice["id"]] or None

        held = wait_until_sync(lambda: reservations("held"), timeout=20, interval=0.2, what="stock reserved")
        assert [(r["location"], r["quantity"]) for r in held] == [("A1", "3")]  # in BERLIN, not MAIN

        created(http.post("/api/v1/financial/payments", headers=auth,
                          json={"invoice_id": invoice["id"], "amount": invoice["total"]}))
        wait_until_sync(lambda: reservations("issued"), timeout=20, interval=0.2, what="stock issued")
        stock = http.get(f"{API}/stock", params={"company_id": gmbh}, headers=auth).json()
        assert {(r["warehouse"], r["on_hand"], r["reserved"]) for r in stock} == {("MAIN", "100", "0"),
                                                                                   ("BERLIN", "7", "0")}

        def cogs() -> dict[str, Any] | None:
            entries = http.get("/api/v1/financial/transactions", params={"company_id": gmbh}, headers=auth).json()
            return next((e for e in entries if e["source"] == "cogs" and e["source_id"] == invoice["id"]), None)

        entry = wait_until_sync(cogs, timeout=20, interval=0.2, what="financial booked the cost of goods sold")
        assert {(x["account_code"], Decimal(x["debit"]), Decimal(x["credit"])) for x in entry["lines"]} == {
            ("5000", Decimal("37.50"), Decimal(0)), ("1300", Decimal(0), Decimal("37.50"))}

        # twelve parallel issues of one through the gateway against the 7 left in BERLIN
        async def parallel_issues() -> list[int]:
            async with httpx.AsyncClient(base_url=platform.gateway, timeout=20) as client:
                answers = await asyncio.gather(*(client.post(f"{API}/movements", headers=auth, json={
                    "company_id": gmbh, "kind": "issue", "item_id": item["id"], "quantity": "1",
                    "location_id": berlin["locations"][0]["id"]}) for _ in range(12)))
            return [a.status_code for a in answers]

        codes = asyncio.run(parallel_issues())
        assert sorted(codes) == [201] * 7 + [409] * 5, codes
        low = http.get(f"{API}/stock/low", params={"company_id": gmbh}, headers=auth).json()
        assert low == []  # MAIN still holds 100: the threshold is per item across warehouses
        assert http.get("/health/warehouse").json()["status"] == "healthy"
