"""Shortcuts for warehouse tests: a company with an item and a warehouse, movements over HTTP,
and the events the module published."""

from typing import Any, TypeVar
from uuid import UUID

import asyncpg
import msgspec

from contracts.envelope import Event
from tests.services.warehouse.conftest import Harness, auth

API = "/api/v1/warehouse"
E = TypeVar("E", bound=Event)


async def company(h: Harness, **config: Any) -> tuple[UUID, UUID, dict[str, str]]:
    tenant_id, company_id = h.core.add_company(**config)
    return tenant_id, company_id, auth(tenant_id, company_id)


async def post(h: Harness, path: str, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    response = await h.client.post(API + path, json=body, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def stocked(h: Harness, quantity: str = "10", *, unit_cost: str = "2.50", threshold: str = "0",
                  locations: tuple[str, ...] = ("A1", "B1"), sku: str = "W-1", **config: Any
                  ) -> tuple[UUID, dict[str, str], dict[str, Any], dict[str, Any]]:
    """A company with item `sku`, warehouse MAIN (locations A1, B1) and `quantity` received at A1."""
    _, company_id, headers = await company(h, **config)
    item = await post(h, "/items", headers, company_id=str(company_id), sku=sku, name="Widget",
                      unit_cost=unit_cost, low_stock_threshold=threshold)
    warehouse = await post(h, "/warehouses", headers, company_id=str(company_id), code="MAIN", name="Main",
                           locations=list(locations))
    if quantity != "0":
        await move(h, headers, company_id, item, warehouse["locations"][0]["id"], "receipt", quantity)
    return company_id, headers, item, warehouse


async def move(h: Harness, headers: dict[str, str], company_id: UUID, item: dict[str, Any], location_id: str,
               kind: str, quantity: str, **extra: Any) -> Any:
    return await h.client.post(API + "/movements", headers=headers, json={
        "company_id": str(company_id), "item_id": item["id"], "kind": kind, "quantity": quantity,
        "location_id": location_id, **extra})


async def levels(h: Harness, company_id: UUID, headers: dict[str, str]) -> dict[str, tuple[str, str]]:
    """`{location code: (on_hand, reserved)}` of the company's stock."""
    response = await h.client.get(API + "/stock", params={"company_id": str(company_id)}, headers=headers)
    assert response.status_code == 200, response.text
    return {row["location"]: (row["on_hand"], row["reserved"]) for row in response.json()}


async def published(h: Harness, kind: type[E]) -> list[E]:
    """Events of `kind` the module published, wherever they are now (its outbox or the bus log)."""
    tag = kind.__struct_config__.tag
    found: list[E] = []
    for url, sql in ((h.data_url, "SELECT payload FROM bus_outbox WHERE event_type = $1"),
                     (h.bus_url, "SELECT payload FROM events WHERE event_type = $1")):
        conn = await asyncpg.connect(url)
        try:
            found += [msgspec.json.decode(r["payload"], type=kind) for r in await conn.fetch(sql, tag)]
        finally:
            await conn.close()
    return found
