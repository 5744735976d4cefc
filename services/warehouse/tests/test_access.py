"""Who may see and change what: permissions per company, another tenant's records as missing,
a disabled module answering nothing, problem+json for every refusal, purge or keep on removal."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import uuid4

import asyncpg
import pytest

from broker import EventBus
from broker.testing import run_until_idle
from contracts.core import ModuleDisabled
from modulekit.testing import QUIET_BUS

if TYPE_CHECKING:  # fixtures come from conftest.py; nothing is imported from it at run time
    from services.warehouse.tests.conftest import Harness

API = "/api/v1/warehouse"


async def test_another_tenant_sees_nothing_of_ours(harness: Harness) -> None:
    company_id, _, item, warehouse = await harness.stocked("5")
    _, intruder_company, intruder = await harness.company()
    for path in (f"/items/{item['id']}",):
        response = await harness.client.get(API + path, headers=intruder)
        assert response.status_code == 404 and response.headers["content-type"].startswith("application/problem+json")
    for path in ("/items", "/stock", "/movements", "/reservations", "/stock/low", "/warehouses"):
        response = await harness.client.get(API + path, params={"company_id": str(company_id)}, headers=intruder)
        assert response.status_code == 403, (path, response.text)
    moved = await harness.client.post(API + "/movements", headers=intruder, json={
        "company_id": str(intruder_company), "item_id": item["id"], "kind": "receipt", "quantity": "1",
        "location_id": warehouse["locations"][0]["id"]})
    assert moved.status_code == 404  # our location does not exist for them
    changed = await harness.client.patch(f"{API}/items/{item['id']}", json={"name": "Mine"}, headers=intruder)
    assert changed.status_code == 404


async def test_a_token_claiming_a_company_of_another_tenant_is_refused(shared: Harness) -> None:
    company_id, _, _, _ = await shared.stocked("5")
    forged = shared.auth(uuid4(), company_id)  # lists the company, but names another tenant
    response = await shared.client.get(API + "/stock", params={"company_id": str(company_id)}, headers=forged)
    assert response.status_code == 404


@pytest.mark.parametrize(("method", "path", "permission"), [
    ("GET", "/stock", "warehouse.stock.read"),
    ("GET", "/items", "warehouse.items.read"),
    ("POST", "/movements", "warehouse.movements.write"),
    ("POST", "/items", "warehouse.items.write"),
])
async def test_each_endpoint_needs_its_permission(shared: Harness, method: str, path: str, permission: str) -> None:
    tenant_id, company_id, _ = await shared.company()
    others = [p for p in ("warehouse.items.read", "warehouse.items.write", "warehouse.stock.read",
                          "warehouse.movements.write") if p != permission]
    body = {"company_id": str(company_id), "sku": "X", "name": "X"} if path == "/items" else {
        "company_id": str(company_id), "item_id": str(uuid4()), "kind": "receipt", "quantity": "1",
        "location_id": str(uuid4())}
    response = await shared.client.request(
        method, API + path, headers=shared.auth(tenant_id, company_id, others),
        params={"company_id": str(company_id)} if method == "GET" else None, json=body if method == "POST" else None)
    assert response.status_code == 403 and permission in response.json()["detail"], response.text
    assert (await shared.client.get(API + "/stock", params={"company_id": str(company_id)})).status_code == 401


async def test_a_disabled_module_answers_nothing_for_the_company(shared: Harness) -> None:
    tenant_id, company_id, headers = await shared.company()
    shared.core.set(tenant_id, company_id, is_enabled=False)
    response = await shared.client.get(API + "/stock", params={"company_id": str(company_id)}, headers=headers)
    assert response.status_code == 403 and response.json()["type"].endswith("module-disabled")


async def test_invalid_bodies_answer_problem_json_naming_the_field(shared: Harness) -> None:
    _, company_id, headers = await shared.company()
    response = await shared.client.post(API + "/items", headers=headers, json={
        "company_id": str(company_id), "sku": "W-1", "name": "Widget", "unit_cost": "-1"})
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "unit_cost", "message": "between 0 and 10^12"}]
    duplicate = {"company_id": str(company_id), "sku": "W-2", "name": "Widget"}
    assert (await shared.client.post(API + "/items", headers=headers, json=duplicate)).status_code == 201
    again = await shared.client.post(API + "/items", headers=headers, json=duplicate)
    assert again.status_code == 409 and again.json()["type"].endswith("duplicate")


async def count_rows(url: str, tenant_id: object) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(
            "SELECT (SELECT count(*) FROM warehouse_items WHERE tenant_id = $1) + "
            "(SELECT count(*) FROM warehouse_movements WHERE tenant_id = $1)", tenant_id))
    finally:
        await conn.close()


@pytest.mark.parametrize("purge", [False, True])
async def test_removal_keeps_or_purges_the_tenants_rows(harness: Harness, purge: bool) -> None:
    company_id, _, _, _ = await harness.stocked("5")
    tenant_id = harness.core.configs[company_id].tenant_id
    survivor, _, _, _ = await harness.stocked("5")
    core = EventBus(service="core", dsn=harness.bus_url, settings=QUIET_BUS)
    await core.open()
    try:
        await core.publish(None, ModuleDisabled(module_name="warehouse", tenant_id=tenant_id, purge=purge),
                           tenant_id=tenant_id)
        await run_until_idle(core)
    finally:
        await core.close()
    await run_until_idle(harness.bus)
    assert await count_rows(harness.data_url, tenant_id) == (0 if purge else 2)
    assert await count_rows(harness.data_url, harness.core.configs[survivor].tenant_id) == 2
