"""Bad input answers 4xx with a problem+json body naming the field; nothing answers 500."""

import pytest

from tests.services.core.conftest import FINANCIAL, Harness, Tenant


async def test_malformed_json_answers_400(core: Harness, root: dict) -> None:
    r = await core.client.post("/api/v1/tenants", content=b"{not json", headers={**root, "content-type":
                                                                                 "application/json"})
    assert r.status_code == 400
    assert r.json()["type"] == "urn:buildify:problem:malformed-body" and r.json()["status"] == 400


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": 5, "slug": "ok-slug"}, "name"),
        ({"name": "X"}, "slug"),
        ({"name": "X", "slug": "Bad Slug!"}, "slug"),
        ({"name": "X", "slug": "ok-slug", "extra": 1}, "extra"),
    ],
)
async def test_wrong_types_name_the_field(core: Harness, root: dict, body: dict, field: str) -> None:
    r = await core.client.post("/api/v1/tenants", json=body, headers=root)
    assert r.status_code == 400, r.text
    assert field in r.json()["detail"]


async def test_user_body_errors(core: Harness, root: dict, acme: Tenant) -> None:
    c = core.client
    r = await c.post("/api/v1/users", headers=root, json={"email": "not-an-email", "password": "password123",
                                                          "tenant_id": acme.id})
    assert r.status_code == 400 and "email" in r.json()["detail"]
    r = await c.post("/api/v1/users", headers=root, json={"email": "a@b.example", "password": "short",
                                                          "tenant_id": acme.id})
    assert r.status_code == 400 and "password" in r.json()["detail"]
    r = await c.post("/api/v1/users", headers=root, json={"email": "a@b.example", "password": "password123",
                                                          "tenant_id": "not-a-uuid"})
    assert r.status_code == 400 and "tenant_id" in r.json()["detail"]
    r = await c.post("/api/v1/users", headers=root, json={"email": "a@b.example", "password": "password123",
                                                          "tenant_id": acme.id, "company_ids": [acme.id]})
    assert r.status_code == 404 and "company_ids" in r.json()["detail"]


async def test_unknown_module_answers_404_naming_it(core: Harness, acme: Tenant) -> None:
    c = core.client
    r = await c.put(f"/api/v1/tenants/{acme.id}/modules/nosuch", headers=acme.admin, json={})
    assert r.status_code == 404 and "nosuch" in r.json()["detail"]
    r = await c.get(f"/api/v1/companies/{acme.company_id}/modules/nosuch/config", headers=acme.admin)
    assert r.status_code == 404
    assert (await c.get("/api/v1/modules/nosuch", headers=acme.admin)).status_code == 404


async def test_company_tier_needs_tenant_enabled(core: Harness, root: dict, acme: Tenant) -> None:
    await core.client.post("/api/v1/modules", json=FINANCIAL, headers=root)
    r = await core.client.put(f"/api/v1/companies/{acme.company_id}/modules/financial", headers=acme.admin, json={})
    assert r.status_code == 409 and "enable it for the tenant first" in r.json()["detail"]


GARBAGE = [b"", b"null", b"[]", b"42", b'"x"', b'{"a":', b"\xff\xfe", b'{"name": null}', b'{"tenant_id": {}}',
           b'{"configuration": [1,2]}', b'{"is_enabled": "yes"}', b'{"enabled_features": "x"}']


async def test_nothing_answers_500(core: Harness, root: dict, acme: Tenant) -> None:
    c = core.client
    await c.post("/api/v1/modules", json=FINANCIAL, headers=root)
    await c.put(f"/api/v1/tenants/{acme.id}/modules/financial", headers=acme.admin, json={})
    targets = [
        ("POST", "/api/v1/tenants"), ("POST", "/api/v1/companies"), ("POST", "/api/v1/users"),
        ("POST", "/api/v1/roles"), ("POST", "/api/v1/auth/login"), ("POST", "/api/v1/modules"),
        ("PUT", f"/api/v1/tenants/{acme.id}/modules/financial"),
        ("PUT", f"/api/v1/companies/{acme.company_id}/modules/financial"),
    ]
    for method, url in targets:
        for body in GARBAGE:
            r = await c.request(method, url, content=body, headers={**root, "content-type": "application/json"})
            assert 400 <= r.status_code < 500, (method, url, body, r.status_code, r.text)
            assert "detail" in r.json()
    for url in ("/api/v1/tenants/not-a-uuid", "/api/v1/companies/123", "/api/v1/me/modules",
                "/api/v1/me/modules?company_id=zz", "/api/v1/nowhere",
                f"/api/v1/tenants/{acme.id}/modules/financial/audit?company_id=bad"):
        r = await c.get(url, headers=root)
        assert 400 <= r.status_code < 500, (url, r.status_code, r.text)
    r = await c.get("/api/v1/me", headers={"Authorization": "Bearer " + "a" * 5000})
    assert r.status_code == 401
