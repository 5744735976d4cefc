"""Tenant isolation: a token of tenant A never reads or changes tenant B's things (404, not 403)."""

import json
from collections.abc import Callable
from typing import Any

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
        assert r.json()["type"] == "urn:buildify:problem:not-found"
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


# -- the matrix: every endpoint of core, read from the app (issue 11's hostile suite) -------------------------
#
# Each API route of core's Litestar app is listed in MATRIX (aimed at the victim's ids) or in NOT_SCOPED (with
# why it takes no tenant's id). A new endpoint fails test_every_core_endpoint_is_in_the_matrix until it is
# classified, so none is left out. Victims: another tenant's objects (`tenant`), and for a member, a company
# of their own tenant they do not belong to (`company`). The invariant for every case: the answer is one of
# the expected statuses, it contains none of the victim's ids, and no table of core changed.

Target = dict[str, str]
Case = tuple[str, Any, set[int]]  # url, body, statuses allowed (404 unless documented)

NOT_SCOPED = {
    ("POST", "/api/v1/auth/login"): "takes credentials, no id",
    ("POST", "/api/v1/auth/refresh"): "takes a refresh token, no id",
    ("POST", "/api/v1/auth/logout"): "takes a refresh token, no id",
    ("GET", "/api/v1/auth/jwks"): "public keys",
    ("GET", "/api/v1/gateway/traefik"): "internal, the gateway key (test_hostile_internal.py)",
}
HIDDEN = {404}
ADMIN_ONLY = {403, 404}  # 403 documented where the caller lacks the permission whatever the id
LISTED = {200}  # lists and filters scoped to the caller: 200 with none of the victim's ids
NOTHING_MATCHES = {403, 409}  # bus actions scoped to the caller's tenant: "no dead letter matches" (409)

MATRIX: dict[tuple[str, str], Callable[[Target], Case]] = {
    ("GET", "/api/v1/me"): lambda v: ("/api/v1/me", None, LISTED),
    ("GET", "/api/v1/me/modules"): lambda v: (f"/api/v1/me/modules?company_id={v['company']}", None, HIDDEN),
    ("GET", "/api/v1/tenants"): lambda v: ("/api/v1/tenants", None, LISTED),
    ("POST", "/api/v1/tenants"): lambda v: ("/api/v1/tenants", {"name": "Intruder", "slug": "intruder"}, {403}),
    ("GET", "/api/v1/tenants/{tenant_id:uuid}"): lambda v: (f"/api/v1/tenants/{v['tenant']}", None, HIDDEN),
    ("GET", "/api/v1/companies"): lambda v: (f"/api/v1/companies?tenant_id={v['tenant']}", None, LISTED),
    ("POST", "/api/v1/companies"): lambda v: ("/api/v1/companies", {"name": "Intruder", "tenant_id": v["tenant"]},
                                              ADMIN_ONLY),
    ("GET", "/api/v1/companies/{company_id:uuid}"): lambda v: (f"/api/v1/companies/{v['company']}", None, HIDDEN),
    ("GET", "/api/v1/users"): lambda v: (f"/api/v1/users?tenant_id={v['tenant']}", None, LISTED | {403}),
    ("POST", "/api/v1/users"): lambda v: ("/api/v1/users", {
        "email": "intruder@x.example", "password": "password123", "tenant_id": v["tenant"],
        "company_ids": [v["company"]], "roles": ["member"]}, ADMIN_ONLY),
    ("GET", "/api/v1/users/{user_id:uuid}"): lambda v: (f"/api/v1/users/{v['user']}", None, HIDDEN),
    ("PATCH", "/api/v1/companies/{company_id:uuid}"): lambda v: (f"/api/v1/companies/{v['company']}",
                                                                  {"name": "Intruder", "archived": True}, HIDDEN),
    ("PUT", "/api/v1/users/{user_id:uuid}/companies/{company_id:uuid}"):
        lambda v: (f"/api/v1/users/{v['user']}/companies/{v['company']}", {"roles": []}, HIDDEN),
    ("PATCH", "/api/v1/users/{user_id:uuid}"): lambda v: (f"/api/v1/users/{v['user']}", {"is_active": False}, HIDDEN),
    ("POST", "/api/v1/users/{user_id:uuid}/password"):
        lambda v: (f"/api/v1/users/{v['user']}/password", {"password": "intruder passphrase"}, HIDDEN),
    # the company scope has no victim role: its company id stands for a role id that is not the caller's
    ("PATCH", "/api/v1/roles/{role_id:uuid}"):
        lambda v: (f"/api/v1/roles/{v.get('role', v['company'])}", {"permissions": ["*"]}, HIDDEN),
    ("DELETE", "/api/v1/roles/{role_id:uuid}"):
        lambda v: (f"/api/v1/roles/{v.get('role', v['company'])}", None, HIDDEN),
    ("GET", "/api/v1/roles"): lambda v: (f"/api/v1/roles?tenant_id={v['tenant']}", None, LISTED),
    ("POST", "/api/v1/roles"): lambda v: ("/api/v1/roles", {"name": "intruder", "tenant_id": v["tenant"],
                                                            "permissions": ["*"]}, ADMIN_ONLY),
    ("GET", "/api/v1/permissions"): lambda v: ("/api/v1/permissions", None, LISTED),
    ("GET", "/api/v1/modules"): lambda v: ("/api/v1/modules", None, LISTED),
    ("POST", "/api/v1/modules"): lambda v: ("/api/v1/modules", {**FINANCIAL, "version": "9.9.9"}, {403}),
    ("GET", "/api/v1/modules/{name:str}"): lambda v: ("/api/v1/modules/financial", None, LISTED),
    ("GET", "/api/v1/tenants/{tenant_id:uuid}/modules"): lambda v: (f"/api/v1/tenants/{v['tenant']}/modules",
                                                                    None, HIDDEN),
    ("GET", "/api/v1/tenants/{tenant_id:uuid}/modules/{name:str}"):
        lambda v: (f"/api/v1/tenants/{v['tenant']}/modules/financial", None, HIDDEN),
    ("PUT", "/api/v1/tenants/{tenant_id:uuid}/modules/{name:str}"):
        lambda v: (f"/api/v1/tenants/{v['tenant']}/modules/financial", {"configuration": {"currency": "JPY"}},
                   HIDDEN),
    ("DELETE", "/api/v1/tenants/{tenant_id:uuid}/modules/{name:str}"):
        lambda v: (f"/api/v1/tenants/{v['tenant']}/modules/financial?mode=purge", None, HIDDEN),
    ("GET", "/api/v1/tenants/{tenant_id:uuid}/modules/{name:str}/audit"):
        lambda v: (f"/api/v1/tenants/{v['tenant']}/modules/financial/audit", None, HIDDEN),
    ("GET", "/api/v1/companies/{company_id:uuid}/modules/{name:str}"):
        lambda v: (f"/api/v1/companies/{v['company']}/modules/financial", None, HIDDEN),
    ("PUT", "/api/v1/companies/{company_id:uuid}/modules/{name:str}"):
        lambda v: (f"/api/v1/companies/{v['company']}/modules/financial", {"configuration": {"tax_rate": 0.5}},
                   HIDDEN),
    ("GET", "/api/v1/companies/{company_id:uuid}/modules/{name:str}/config"):
        lambda v: (f"/api/v1/companies/{v['company']}/modules/financial/config", None, HIDDEN),
    ("GET", "/api/v1/admin/bus/events"): lambda v: (f"/api/v1/admin/bus/events?tenant_id={v['tenant']}", None,
                                                    LISTED | {403}),
    ("GET", "/api/v1/admin/bus/events/{event_id:uuid}"): lambda v: (f"/api/v1/admin/bus/events/{v['event']}",
                                                                    None, ADMIN_ONLY),
    ("GET", "/api/v1/admin/bus/stats"): lambda v: ("/api/v1/admin/bus/stats", None, LISTED | {403}),
    ("GET", "/api/v1/admin/bus/queues"): lambda v: ("/api/v1/admin/bus/queues", None, LISTED | {403}),
    ("POST", "/api/v1/admin/bus/replays"): lambda v: ("/api/v1/admin/bus/replays", {
        "selection": {"tenant_id": v["tenant"]}, "all_subscriptions": True}, {403, 404, 422}),
    ("GET", "/api/v1/admin/bus/dead-letters"): lambda v: ("/api/v1/admin/bus/dead-letters", None, LISTED | {403}),
    ("GET", "/api/v1/admin/bus/dead-letters/{letter_id:int}"):
        lambda v: (f"/api/v1/admin/bus/dead-letters/{v['letter']}", None, ADMIN_ONLY),
    ("POST", "/api/v1/admin/bus/dead-letters/redrive"): lambda v: ("/api/v1/admin/bus/dead-letters/redrive", {
        "selection": {"ids": [int(v["letter"])]}}, NOTHING_MATCHES),
    ("POST", "/api/v1/admin/bus/dead-letters/purge"): lambda v: ("/api/v1/admin/bus/dead-letters/purge", {
        "selection": {"ids": [int(v["letter"])]}}, NOTHING_MATCHES),
    ("GET", "/api/v1/admin/bus/audit"): lambda v: ("/api/v1/admin/bus/audit", None, LISTED | {403}),
}
# Within its own tenant a member may see that other companies exist where the tenant's lists say so (their
# users, the tenant's events): the company's data stays hidden, the tenant is theirs.
COMPANY_VISIBLE = {("GET", "/api/v1/users"), ("GET", "/api/v1/admin/bus/events")}
CORE_TABLES = ("tenants", "companies", "users", "roles", "user_company_roles", "tenant_modules", "company_modules",
               "module_config_audit")


def core_api_routes() -> set[tuple[str, str]]:
    """(method, path) of every /api/ route of core's app, as Litestar declares it."""
    from services.core.app.main import create_app
    from services.core.app.settings import Settings

    app = create_app(Settings(database_url="postgresql://unused@127.0.0.1/unused"))
    return {(method, route.path) for route in app.routes for handler in getattr(route, "route_handlers", [])
            for method in handler.http_methods - {"OPTIONS", "HEAD"} if route.path.startswith("/api/")}


@pytest.mark.security
def test_every_core_endpoint_is_in_the_matrix() -> None:
    routes = core_api_routes()
    assert not routes - set(MATRIX) - set(NOT_SCOPED), "classify the new endpoint in MATRIX or NOT_SCOPED"
    assert not (set(MATRIX) | set(NOT_SCOPED)) - routes, "the matrix names an endpoint core no longer has"


async def snapshot(db: Any) -> dict[str, str]:
    tables = [t for t in CORE_TABLES if await db.fetchval("SELECT to_regclass($1) IS NOT NULL", t)]
    return {t: await db.fetchval(f"SELECT md5(coalesce(string_agg(x::text, ',' ORDER BY x::text), '')) "
                                 f"FROM {t} x") for t in tables}


@pytest.fixture
async def victims(core: Harness, root: dict, acme: Tenant, globex: Tenant, db: Any) -> dict[str, Target]:
    """Globex's objects (for acme's users) and acme's company the acme member is not in."""
    from tests.services.core.test_hostile_bus_admin import failing_callback_letters

    c = core.client
    assert (await c.post("/api/v1/modules", json=FINANCIAL, headers=root)).status_code in (200, 201)
    for t in (acme, globex):
        await c.put(f"/api/v1/tenants/{t.id}/modules/financial", headers=t.admin,
                    json={"configuration": {"currency": "EUR"}})
        for company in (t.company_id, t.other_company_id):
            await c.put(f"/api/v1/companies/{company}/modules/financial", headers=t.admin,
                        json={"configuration": {"tax_rate": 0.19}})
    await failing_callback_letters(core)  # relays the outbox too: events and dead letters of both tenants
    users = (await c.get("/api/v1/users", headers=root)).json()
    letters = (await c.get("/api/v1/admin/bus/dead-letters", headers=root)).json()
    events = (await c.get("/api/v1/admin/bus/events", headers=root)).json()

    def of(tenant: Tenant, company: str, email: str) -> Target:
        return {"tenant": tenant.id, "company": company,
                "user": next(u["id"] for u in users if u["email"] == email),
                "event": next(e["id"] for e in events if e["tenant_id"] == tenant.id),
                "letter": str(next(d["id"] for d in letters if d["tenant_id"] == tenant.id))}

    role = await c.post("/api/v1/roles", headers=globex.admin,
                        json={"name": "auditor", "tenant_id": globex.id, "permissions": ["core.companies.read"]})
    assert role.status_code == 201, role.text
    return {"tenant": {**of(globex, globex.company_id, "admin@globex.example"), "role": role.json()["id"]},
            "company": of(acme, acme.other_company_id, "admin@acme.example")}


@pytest.mark.security
@pytest.mark.parametrize(("who", "scope"), [("admin", "tenant"), ("member", "tenant"), ("member", "company")])
async def test_isolation_matrix_over_every_core_endpoint(
    core: Harness, acme: Tenant, victims: dict[str, Target], db: Any, who: str, scope: str,
) -> None:
    victim = victims[scope]
    secret_ids = {victim["company"]} | ({victim["user"], victim["event"], victim["tenant"], victim["role"]}
                                        if scope == "tenant" else set())
    headers = getattr(acme, who)
    failures = []
    for (method, path), case in sorted(MATRIX.items()):
        before = await snapshot(db)
        url, body, allowed = case(victim)
        asked = url + json.dumps(body)
        if scope == "company" and victim["tenant"] in asked and victim["company"] not in asked:
            allowed = allowed | {200, 403}  # the member's own tenant: its own data, or refused for a permission
        r = await core.client.request(method, url, json=body, headers=headers)
        if r.status_code not in allowed:
            failures.append(f"{method} {url}: {r.status_code} not in {sorted(allowed)}: {r.text[:160]}")
        leaked = {i for i in secret_ids if i in r.text and i not in asked}  # echoing the caller's input is not a leak
        if leaked and not (scope == "company" and r.status_code == 200 and path in COMPANY_VISIBLE):
            failures.append(f"{method} {url}: the answer names {sorted(leaked)}")
        if await snapshot(db) != before:
            failures.append(f"{method} {url}: changed core's tables")
    assert not failures, "\n".join(failures)
