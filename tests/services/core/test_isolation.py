"""Tenant isolation: a token of tenant A never reads or changes tenant B's things (404, not 403)."""

import pytest

from tests.services.core.conftest import FINANCIAL, Harness, Tenant


def endpoints(b: Tenant) -> list[tuple[str, str, dict | None]]:
    """Every endpoint that takes an id of tenant B, with a body that would otherwise be valid."""
    t, c = b.id, b.company_id
    return [
        ("GET", f"/api/v1/tenants/{t}", None),
        ("GET", f"/api/v1/companies/{c}", None),
        ("POST", "/api/v1/companies", {"name": "Intruder", "tenant_id": t}),
        ("POST", "/api/v1/users", {"email": "intruder@x.example", "password": "password123", "tenant_id": t}),
        ("POST", "/api/v1/roles", {"name": "intruder", "tenant_id": t, "permissions": ["*"]}),
        ("GET", f"/api/v1/tenants/{t}/modules", None),
        ("GET", f"/api/v1/tenants/{t}/modules/financial", None),
        ("PUT", f"/api/v1/tenants/{t}/modules/financial", {"configuration": {"currency": "JPY"}}),
        ("PUT", f"/api/v1/tenants/{t}/modules/financial?dry_run=true", {}),
        ("DELETE", f"/api/v1/tenants/{t}/modules/financial?mode=keep", None),
        ("GET", f"/api/v1/tenants/{t}/modules/financial/audit", None),
        ("PUT", f"/api/v1/companies/{c}/modules/financial", {"configuration": {"tax_rate": 0.5}}),
        ("GET", f"/api/v1/companies/{c}/modules/financial", None),
        ("GET", f"/api/v1/companies/{c}/modules/financial/config", None),
        ("GET", f"/api/v1/me/modules?company_id={c}", None),
    ]


@pytest.mark.parametrize("who", ["admin", "member"])
async def test_other_tenants_ids_answer_404_on_every_endpoint(
    core: Harness, root: dict, acme: Tenant, globex: Tenant, db, who: str  # type: ignore[no-untyped-def]
) -> None:
    c = core.client
    await c.post("/api/v1/modules", json=FINANCIAL, headers=root)
    await c.put(f"/api/v1/tenants/{globex.id}/modules/financial", headers=globex.admin,
                json={"configuration": {"currency": "EUR"}})
    await c.put(f"/api/v1/companies/{globex.company_id}/modules/financial", headers=globex.admin,
                json={"configuration": {"tax_rate": 0.19}})
    before = await db.fetch("SELECT * FROM tenant_modules ORDER BY id")
    headers = getattr(acme, who)
    for method, url, body in endpoints(globex):
        r = await c.request(method, url, json=body, headers=headers)
        assert r.status_code == 404, (method, url, r.status_code, r.text)
        assert r.json()["code"] == "not_found"
    assert await db.fetch("SELECT * FROM tenant_modules ORDER BY id") == before
    assert await db.fetchval("SELECT count(*) FROM users WHERE email LIKE 'intruder%'") == 0


async def test_lists_show_only_the_callers_tenant(core: Harness, acme: Tenant, globex: Tenant) -> None:
    c = core.client
    tenants = (await c.get("/api/v1/tenants", headers=acme.admin)).json()
    assert [t["id"] for t in tenants] == [acme.id]
    companies = (await c.get("/api/v1/companies", headers=acme.admin)).json()
    assert {x["tenant_id"] for x in companies} == {acme.id}
    assert len((await c.get(f"/api/v1/companies?tenant_id={globex.id}", headers=acme.admin)).json()) == 0
    users = (await c.get("/api/v1/users", headers=acme.admin)).json()
    assert {u["tenant_id"] for u in users} == {acme.id}
    for u in (await c.get("/api/v1/users", headers=globex.admin)).json():
        r = await c.get(f"/api/v1/users/{u['id']}", headers=acme.admin)
        assert r.status_code == 404
    roles = (await c.get("/api/v1/roles", headers=acme.admin)).json()
    assert all(r["tenant_id"] in (None, acme.id) for r in roles)


async def test_member_sees_only_own_company(core: Harness, acme: Tenant) -> None:
    c = core.client
    assert (await c.get(f"/api/v1/companies/{acme.other_company_id}", headers=acme.member)).status_code == 404
    companies = (await c.get("/api/v1/companies", headers=acme.member)).json()
    assert [x["id"] for x in companies] == [acme.company_id]


async def test_module_key_reads_only_its_own_module(core: Harness, root: dict, acme: Tenant) -> None:
    c = core.client
    await c.post("/api/v1/modules", json=FINANCIAL, headers=root)
    await c.put(f"/api/v1/tenants/{acme.id}/modules/financial", headers=acme.admin, json={})
    url = f"/api/v1/companies/{acme.company_id}/modules/financial/config"
    assert (await c.get(url, headers={"X-Module-Key": "wh-key"})).status_code == 403
    assert (await c.get(url, headers={"X-Module-Key": "nope"})).status_code == 401
    assert (await c.get(url)).status_code == 401
    assert (await c.get(url, headers={"X-Module-Key": "fin-key"})).status_code == 200
