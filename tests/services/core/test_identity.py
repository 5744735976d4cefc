"""Tenants, companies, users, login and /me on a real database."""

import jwt

from contracts.auth import AccessClaims
from services.core.app.main import create_app
from services.core.app.settings import Settings
from tests.services.core.conftest import FAST_BUS, Harness, Tenant


async def test_login_token_carries_access_claims(core: Harness, acme: Tenant) -> None:
    r = await core.client.post("/api/v1/auth/login", json={"email": "member@acme.example", "password": "password123"})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 600
    key = jwt.PyJWK((await core.client.get("/api/v1/auth/jwks")).json()["keys"][0])
    claims = jwt.decode(body["access_token"], key.key, algorithms=["EdDSA"], audience="buildify",
                        issuer="buildify-core")
    parsed = AccessClaims(**claims)
    assert str(parsed.tenant_id) == acme.id
    assert parsed.can("core.companies.read", acme.company_id)
    assert not parsed.can("core.companies.read", acme.other_company_id)
    assert "member" in parsed.roles


async def test_wrong_password_and_missing_token_answer_401(core: Harness, acme: Tenant) -> None:
    r = await core.client.post("/api/v1/auth/login", json={"email": "member@acme.example", "password": "nope"})
    assert r.status_code == 401 and r.json()["type"] == "urn:buildify:problem:not-authenticated"
    r = await core.client.get("/api/v1/me")
    assert r.status_code == 401
    r = await core.client.get("/api/v1/me", headers={"Authorization": "Bearer not.a.jwt"})
    assert r.status_code == 401


async def test_me_lists_companies_roles_permissions(core: Harness, acme: Tenant) -> None:
    me = (await core.client.get("/api/v1/me", headers=acme.member)).json()
    assert me["user"]["email"] == "member@acme.example"
    assert me["tenant"]["slug"] == "acme"
    assert [c["company"]["id"] for c in me["companies"]] == [acme.company_id]
    assert me["companies"][0]["roles"] == ["member"]
    assert "core.companies.read" in me["permissions"]
    assert "core.users.manage" not in me["permissions"]
    admin = (await core.client.get("/api/v1/me", headers=acme.admin)).json()
    assert admin["user"]["tenant_admin"] and len(admin["companies"]) == 2
    assert "tenant_admin" in admin["roles"]


async def test_passwords_are_argon2_hashes(core: Harness, acme: Tenant, db) -> None:  # type: ignore[no-untyped-def]
    stored = await db.fetchval("SELECT password_hash FROM users WHERE email = 'member@acme.example'")
    assert stored.startswith("$argon2")


async def test_duplicate_slug_and_email_answer_409_naming_the_field(core: Harness, root: dict, acme: Tenant) -> None:
    r = await core.client.post("/api/v1/tenants", json={"name": "Again", "slug": "acme"}, headers=root)
    assert r.status_code == 409 and "`slug`" in r.json()["detail"]
    r = await core.client.post("/api/v1/users", headers=root, json={
        "email": "MEMBER@acme.example", "password": "password123", "tenant_id": acme.id})
    assert r.status_code == 409 and "`email`" in r.json()["detail"]


async def test_only_platform_admin_creates_tenants(core: Harness, acme: Tenant) -> None:
    r = await core.client.post("/api/v1/tenants", json={"name": "X", "slug": "xx"}, headers=acme.admin)
    assert r.status_code == 403


async def test_member_cannot_create_companies_or_users(core: Harness, acme: Tenant) -> None:
    r = await core.client.post("/api/v1/companies", json={"name": "New", "tenant_id": acme.id}, headers=acme.member)
    assert r.status_code == 403
    r = await core.client.post("/api/v1/users", headers=acme.member, json={
        "email": "x@acme.example", "password": "password123", "tenant_id": acme.id,
        "company_ids": [acme.company_id]})
    assert r.status_code == 403


async def test_custom_role_with_module_wildcard(core: Harness, root: dict, acme: Tenant) -> None:
    from tests.services.core.conftest import FINANCIAL

    await core.client.post("/api/v1/modules", json=FINANCIAL, headers=root)
    r = await core.client.post("/api/v1/roles", headers=acme.admin, json={
        "name": "accountant", "tenant_id": acme.id, "permissions": ["financial.invoices.*", "core.users.manage"]})
    assert r.status_code == 201, r.text
    r = await core.client.post("/api/v1/roles", headers=acme.admin, json={
        "name": "bad", "tenant_id": acme.id, "permissions": ["financial.nope"]})
    assert r.status_code == 422 and "financial.nope" in r.json()["detail"]
    r = await core.client.post("/api/v1/users", headers=acme.admin, json={
        "email": "acc@acme.example", "password": "password123", "tenant_id": acme.id,
        "company_ids": [acme.company_id], "roles": ["accountant"]})
    assert r.status_code == 201
    me = (await core.client.get("/api/v1/me", headers=await core.login("acc@acme.example"))).json()
    assert set(me["permissions"]) == {"financial.invoices.read", "financial.invoices.write", "core.users.manage"}
    perms = (await core.client.get("/api/v1/permissions", headers=acme.member)).json()
    assert {"name": "financial.invoices.write", "description": "", "source": "financial"} in perms
    r = await core.client.post("/api/v1/users", headers=acme.admin, json={
        "email": "y@acme.example", "password": "password123", "tenant_id": acme.id,
        "company_ids": [acme.company_id], "roles": ["ghost"]})
    assert r.status_code == 422 and "`roles`" in r.json()["detail"]


async def test_rs256_mode_publishes_a_jwks_that_verifies_tokens(database_url: str) -> None:
    from litestar.testing import AsyncTestClient

    from services.core.app.admin import create_superuser

    await create_superuser(database_url, "rs@platform.example", "password123")
    app = create_app(Settings(database_url=database_url, jwt_algorithm="RS256", bus=FAST_BUS))
    async with AsyncTestClient(app=app) as client:
        jwks = (await client.get("/api/v1/auth/jwks")).json()
        token = (await client.post("/api/v1/auth/login", json={
            "email": "rs@platform.example", "password": "password123"})).json()["access_token"]
        key = jwt.PyJWK(jwks["keys"][0])
        claims = jwt.decode(token, key.key, algorithms=["RS256"], audience="buildify")
        assert claims["platform_admin"] is True
        assert (await client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})).status_code == 200


async def test_health_reports_database_and_bus(core: Harness, root: dict, acme: Tenant) -> None:
    r = await core.client.get("/health", headers=root)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["bus"]["outbox_backlog"] > 0  # nothing relays in tests until run_until_idle
    assert body["checks"]["bus"]["dead_letters"] == 0


async def test_openapi_documents_every_endpoint_with_examples(core: Harness) -> None:
    schema = (await core.client.get("/schema/openapi.json")).json()
    paths = schema["paths"]
    for path in ("/api/v1/tenants", "/api/v1/companies", "/api/v1/users", "/api/v1/auth/login", "/api/v1/me",
                 "/api/v1/modules", "/api/v1/companies/{company_id}/modules/{name}/config", "/health"):
        assert path in paths, path
    body = paths["/api/v1/tenants/{tenant_id}/modules/{name}"]["put"]["requestBody"]
    assert "EUR" in str(body)
