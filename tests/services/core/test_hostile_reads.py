"""Enumeration and unchecked read permissions (issue 11, finding 12)."""

import pytest

from tests.services.core.conftest import FINANCIAL, Harness, Tenant, user_holding

pytestmark = pytest.mark.security


async def test_reads_need_their_declared_permission(core: Harness, root: dict, acme: Tenant) -> None:
    c = core.client
    assert (await c.post("/api/v1/modules", json=FINANCIAL, headers=root)).status_code == 200
    r = await c.put(f"/api/v1/tenants/{acme.id}/modules/financial", headers=acme.admin,
                    json={"is_enabled": True, "configuration": {}})
    assert r.status_code == 200, r.text
    narrow = await user_holding(core, acme, "narrow@acme.example", ["core.users.manage"])  # holds no *.read permission
    assert (await c.get(f"/api/v1/companies/{acme.company_id}", headers=narrow)).status_code == 403
    assert (await c.get("/api/v1/companies", headers=narrow)).json() == []
    users = (await c.get("/api/v1/users", headers=narrow)).json()
    assert [u["email"] for u in users] == ["narrow@acme.example"]  # only themselves
    r = await c.get(f"/api/v1/companies/{acme.company_id}/modules/financial/config", headers=narrow)
    assert r.status_code == 403, r.text
    assert "core.modules.read" in r.json()["detail"]
    r = await c.get(f"/api/v1/companies/{acme.company_id}/modules/financial", headers=narrow)
    assert r.status_code == 403, r.text
    # the built-in member role holds `*.read`: the same reads work for a member
    assert (await c.get(f"/api/v1/companies/{acme.company_id}", headers=acme.member)).status_code == 200
    r = await c.get(f"/api/v1/companies/{acme.company_id}/modules/financial/config", headers=acme.member)
    assert r.status_code == 200, r.text


async def test_probing_emails_of_other_tenants_is_bounded(core: Harness, acme: Tenant, globex: Tenant) -> None:
    for i in range(20):
        r = await core.client.post("/api/v1/users", headers=acme.admin, json={
            "email": "admin@globex.example", "password": "password123", "tenant_id": acme.id})
        assert r.status_code == 409, (i, r.text)
    r = await core.client.post("/api/v1/users", headers=acme.admin, json={
        "email": "member@globex.example", "password": "password123", "tenant_id": acme.id})
    assert r.status_code == 429, r.text
    assert int(r.headers["retry-after"]) > 0


async def test_lists_are_paginated(core: Harness, root: dict, acme: Tenant, globex: Tenant) -> None:
    c = core.client
    first = (await c.get("/api/v1/users", params={"limit": 2}, headers=root)).json()
    second = (await c.get("/api/v1/users", params={"limit": 2, "offset": 2}, headers=root)).json()
    assert len(first) == 2 and len(second) == 2 and {u["id"] for u in first}.isdisjoint(u["id"] for u in second)
    assert len((await c.get("/api/v1/tenants", params={"limit": 1}, headers=root)).json()) == 1
    assert len((await c.get("/api/v1/companies", params={"limit": 3}, headers=root)).json()) == 3
    r = await c.get("/api/v1/users", params={"limit": 100_000}, headers=root)
    assert r.status_code == 400 and "limit" in r.text
