"""Movements and the levels derived from them: never negative unless configured, immutable rows,
consistent under concurrent requests, low stock announced once when it is crossed."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import TYPE_CHECKING

import asyncpg
import pytest

from contracts.warehouse import StockLow

if TYPE_CHECKING:  # fixtures come from conftest.py; nothing is imported from it at run time
    from services.warehouse.tests.conftest import Harness


async def test_receipt_transfer_issue_and_adjustment_move_the_levels(harness: Harness) -> None:
    company_id, headers, item, warehouse = await harness.stocked("10")
    a1, b1 = (x["id"] for x in warehouse["locations"])
    moved = await harness.move(headers, company_id, item, a1, "transfer", "4", to_location_id=b1)
    assert moved.status_code == 201, moved.text
    assert (await harness.move(headers, company_id, item, b1, "issue", "1.5")).status_code == 201
    counted = await harness.move(headers, company_id, item, a1, "adjustment", "-2", reason="count found 2 broken")
    assert counted.status_code == 201 and counted.json()["from_location_id"] == a1
    assert await harness.levels(company_id, headers) == {"A1": ("4", "0"), "B1": ("2.5", "0")}
    history = await harness.client.get("/api/v1/warehouse/movements", params={"company_id": str(company_id)},
                                       headers=headers)
    assert [m["kind"] for m in history.json()] == ["adjustment", "issue", "transfer", "receipt"]


async def test_stock_never_goes_negative_by_default(harness: Harness) -> None:
    company_id, headers, item, warehouse = await harness.stocked("3")
    a1 = warehouse["locations"][0]["id"]
    refused = await harness.move(headers, company_id, item, a1, "issue", "4")
    assert refused.status_code == 409
    assert refused.headers["content-type"].startswith("application/problem+json")
    body = refused.json()
    assert body["type"].endswith("insufficient-stock") and "only 3 pcs of W-1 available" in body["detail"]
    assert await harness.levels(company_id, headers) == {"A1": ("3", "0")}


async def test_negative_stock_when_the_company_allows_it(shared: Harness) -> None:
    company_id, headers, item, warehouse = await shared.stocked("3", allow_negative_stock=True)
    a1 = warehouse["locations"][0]["id"]
    assert (await shared.move(headers, company_id, item, a1, "issue", "5")).status_code == 201
    assert await shared.levels(company_id, headers) == {"A1": ("-2", "0")}


@pytest.mark.parametrize(("kind", "quantity", "extra", "needle"), [
    ("adjustment", "2", {}, "needs a reason"),
    ("receipt", "-1", {}, "must be positive"),
    ("transfer", "1", {}, "needs a to_location_id"),
    ("receipt", "0.00001", {}, "at most 4 decimals"),
])
async def test_malformed_movements_are_refused_with_the_reason(
    shared: Harness, kind: str, quantity: str, extra: dict[str, str], needle: str
) -> None:
    company_id, headers, item, warehouse = await shared.stocked("0")
    response = await shared.move(headers, company_id, item, warehouse["locations"][0]["id"], kind, quantity, **extra)
    assert response.status_code == 400 and needle in response.json()["detail"], response.text


async def test_movements_are_immutable_rows(shared: Harness) -> None:
    await shared.stocked("5")
    conn = await asyncpg.connect(shared.data_url)
    try:
        for sql in ("UPDATE warehouse_movements SET quantity = 1", "DELETE FROM warehouse_movements"):
            with pytest.raises(asyncpg.RaiseError, match="immutable"):
                await conn.execute(sql)
    finally:
        await conn.close()


async def test_parallel_issues_never_oversell_and_levels_match_the_movements(harness: Harness) -> None:
    company_id, headers, item, warehouse = await harness.stocked("10")
    a1, b1 = (x["id"] for x in warehouse["locations"])
    issues = [harness.move(headers, company_id, item, a1, "issue", "1") for _ in range(16)]
    transfers = [harness.move(headers, company_id, item, a1, "transfer", "1", to_location_id=b1) for _ in range(4)]
    answers = await asyncio.gather(*issues, *transfers)
    codes = [r.status_code for r in answers]
    assert set(codes) <= {201, 409} and codes.count(201) == 10, codes
    conn = await asyncpg.connect(harness.data_url)
    try:
        derived = await conn.fetch(
            "SELECT loc, sum(q) AS on_hand FROM (SELECT to_location_id AS loc, quantity AS q FROM warehouse_movements "
            "WHERE to_location_id IS NOT NULL UNION ALL SELECT from_location_id, -quantity FROM warehouse_movements "
            "WHERE from_location_id IS NOT NULL) m GROUP BY loc")
        stored = await conn.fetch("SELECT location_id AS loc, on_hand FROM warehouse_stock_levels")
    finally:
        await conn.close()
    assert {r["loc"]: r["on_hand"] for r in derived} == {r["loc"]: r["on_hand"] for r in stored}
    assert sum(r["on_hand"] for r in stored) == 10 - codes[:16].count(201)  # transfers keep the total
    assert all(r["on_hand"] >= 0 for r in stored)


async def test_low_stock_is_announced_when_the_threshold_is_crossed(shared: Harness) -> None:
    company_id, headers, item, warehouse = await shared.stocked("10", threshold="5")
    a1 = warehouse["locations"][0]["id"]
    for quantity in ("4", "2", "1"):  # 6 left (not low), 4 left (crossed), 3 left (still low: no second event)
        assert (await shared.move(headers, company_id, item, a1, "issue", quantity)).status_code == 201
    events = await shared.published(StockLow)
    assert [(e.sku, e.available, e.threshold) for e in events] == [("W-1", Decimal(4), Decimal(5))]
    low = await shared.client.get("/api/v1/warehouse/stock/low", params={"company_id": str(company_id)},
                                  headers=headers)
    assert [(x["sku"], x["available"], x["threshold"]) for x in low.json()] == [("W-1", "3", "5")]


async def test_movement_history_pages_and_refuses_a_window_out_of_bounds(shared: Harness) -> None:
    company_id, headers, item, warehouse = await shared.stocked("10")
    a1, b1 = (x["id"] for x in warehouse["locations"])
    assert (await shared.move(headers, company_id, item, a1, "transfer", "4", to_location_id=b1)).status_code == 201

    async def movements(**window: int) -> list[str]:
        response = await shared.client.get("/api/v1/warehouse/movements", headers=headers,
                                           params={"company_id": str(company_id), **window})
        assert response.status_code == 200, response.text
        return [m["kind"] for m in response.json()]

    assert await movements() == ["transfer", "receipt"]
    assert await movements(limit=1) == ["transfer"]
    assert await movements(limit=1, offset=1) == ["receipt"]
    for bad in ({"limit": 0}, {"limit": 501}, {"offset": -1}):
        refused = await shared.client.get("/api/v1/warehouse/movements", headers=headers,
                                          params={"company_id": str(company_id), **bad})
        assert refused.status_code == 400, (bad, refused.text)
    schema = (await shared.client.get("/schema/openapi.json")).json()
    listed = {p["name"] for p in schema["paths"]["/api/v1/warehouse/movements"]["get"]["parameters"]}
    assert {"limit", "offset", "company_id", "item_id"} <= listed
