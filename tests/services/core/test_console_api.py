"""Issue 16's people-and-companies API: rename/archive companies, change users and roles — and isolation."""

from typing import Any

from tests.services.core.conftest import FINANCIAL, Harness, Tenant

MEMBER = {"email": "member@acme.example", "password": "password123"}


async def user_id(core: Harness, headers: dict[str, str], email: str) -> str:
    users = (await core.client.get("/api/v1/users", headers=headers)).json()
    return next(u["id"] for u in users if u["email"] == email)


async def test_rename_and_archive_a_company_then_restore_it(core: Harness, acme: Tenant) -> None:
    c = core.client
    r = await c.patch(f"/api/v1/companies/{acme.other_company_id}", json={"name": "Acme Ltd (UK)"}, headers=acme.admin)
    assert r.status_code == 200 and r.json()["name"] == "Acme Ltd (UK)"
    r = await c.patch(f"/api/v1/companies/{acme.other_company_id}", json={"archived": True}, headers=acme.admin)
    assert r.status_code == 200 and r.json()["archived_at"] is not None
    listed = [x["id"] for x in (await c.get("/api/v1/companies", headers=acme.admin)).json()]
    assert acme.other_company_id not in listed
    everything = (await c.get("/api/v1/companies", params={"include_archived": "true"}, headers=acme.admin)).json()
    assert acme.other_company_id in [x["id"] for x in everything]
    me = (await c.get("/api/v1/me", headers=acme.admin)).json()
    assert [x["company"]["id"] for x in me["companies"]] == [acme.company_id]
    r = await c.patch(f"/api/v1/companies/{acme.other_company_id}", json={"archived": False}, headers=acme.admin)
    assert r.json()["archived_at"] is None


async def test_renaming_onto_a_sibling_name_is_a_conflict_naming_the_field(core: Harness, acme: Tenant) -> None:
    r = await core.client.patch(f"/api/v1/companies/{acme.other_company_id}", json={"name": "acme GmbH"},
                                headers=acme.admin)
    assert r.status_code == 409 and r.json()["errors"][0]["field"] == "name"


async def test_company_changes_are_refused_to_members_and_hidden_from_other_tenants(
    core: Harness, acme: Tenant, globex: Tenant
) -> None:
    c = core.client
    r = await c.patch(f"/api/v1/companies/{acme.company_id}", json={"name": "Mine"}, headers=acme.member)
    assert r.status_code == 403
    r = await c.patch(f"/api/v1/companies/{acme.company_id}", json={"name": "Mine"}, headers=globex.admin)
    assert r.status_code == 404


async def test_a_company_created_after_sign_in_is_in_the_next_refreshed_token(core: Harness, acme: Tenant) -> None:
    c = core.client
    login = (await c.post("/api/v1/auth/login", json={"email": "admin@acme.example", "password": "password123"})).json()
    headers = {"Authorization": f"Bearer {login['access_token']}"}
    created = (await c.post("/api/v1/companies", json={"name": "Acme SARL", "tenant_id": acme.id},
                            headers=headers)).json()
    me = (await c.get("/api/v1/me", headers=headers)).json()  # core reads memberships at once
    assert created["id"] in [x["company"]["id"] for x in me["companies"]]
    refreshed = (await c.post("/api/v1/auth/refresh", json={"refresh_token": login["refresh_token"]})).json()
    claims = core.app.state["core"].tokens.verify(refreshed["access_token"])
    assert created["id"] in claims.companies  # and modules see it with the refreshed token


async def test_change_a_users_roles_in_a_company(core: Harness, root: dict[str, str], acme: Tenant) -> None:
    c = core.client
    await c.post("/api/v1/modules", json=FINANCIAL, headers=root)
    member = await user_id(core, acme.admin, "member@acme.example")
    r = await c.put(f"/api/v1/users/{member}/companies/{acme.other_company_id}", json={"roles": ["member"]},
                    headers=acme.admin)
    assert r.status_code == 200
    assert {m["company_id"] for m in r.json()["companies"]} == {acme.company_id, acme.other_company_id}
    me = (await c.get("/api/v1/me", headers=acme.member)).json()
    assert len(me["companies"]) == 2
    r = await c.put(f"/api/v1/users/{member}/companies/{acme.other_company_id}", json={"roles": []},
                    headers=acme.admin)
    assert [m["company_id"] for m in r.json()["companies"]] == [acme.company_id]
    r = await c.put(f"/api/v1/users/{member}/companies/{acme.company_id}", json={"roles": ["nope"]},
                    headers=acme.admin)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "roles"


async def test_members_and_other_tenants_cannot_change_roles(core: Harness, acme: Tenant, globex: Tenant) -> None:
    c = core.client
    member = await user_id(core, acme.admin, "member@acme.example")
    r = await c.put(f"/api/v1/users/{member}/companies/{acme.company_id}", json={"roles": ["admin"]},
                    headers=acme.member)
    assert r.status_code == 403
    r = await c.put(f"/api/v1/users/{member}/companies/{acme.company_id}", json={"roles": ["member"]},
                    headers=globex.admin)
    assert r.status_code == 404


async def test_a_deactivated_user_can_neither_sign_in_nor_refresh(core: Harness, acme: Tenant) -> None:
    c = core.client
    login = (await c.post("/api/v1/auth/login", json=MEMBER)).json()
    member = await user_id(core, acme.admin, "member@acme.example")
    r = await c.patch(f"/api/v1/users/{member}", json={"is_active": False}, headers=acme.admin)
    assert r.status_code == 200 and r.json()["is_active"] is False
    r = await c.post("/api/v1/auth/login", json=MEMBER)
    assert r.status_code == 401
    r = await c.post("/api/v1/auth/refresh", json={"refresh_token": login["refresh_token"]})
    assert r.status_code == 401
    r = await c.get("/api/v1/me", headers={"Authorization": f"Bearer {login['access_token']}"})
    assert r.status_code == 401
    r = await c.patch(f"/api/v1/users/{member}", json={"is_active": True}, headers=acme.admin)
    await core.login("member@acme.example")


async def test_only_the_tenants_admins_deactivate_and_never_themselves(
    core: Harness, acme: Tenant, globex: Tenant
) -> None:
    c = core.client
    admin = await user_id(core, acme.admin, "admin@acme.example")
    member = await user_id(core, acme.admin, "member@acme.example")
    r = await c.patch(f"/api/v1/users/{admin}", json={"is_active": False}, headers=acme.admin)
    assert r.status_code == 403
    r = await c.patch(f"/api/v1/users/{member}", json={"is_active": False}, headers=globex.admin)
    assert r.status_code == 404
    r = await c.patch(f"/api/v1/users/{admin}", json={"is_active": False}, headers=acme.member)
    assert r.status_code in {403, 404}


async def test_reset_password_replaces_the_old_one_and_ends_sessions(
    core: Harness, acme: Tenant, globex: Tenant
) -> None:
    c = core.client
    login = (await c.post("/api/v1/auth/login", json=MEMBER)).json()
    member = await user_id(core, acme.admin, "member@acme.example")
    r = await c.post(f"/api/v1/users/{member}/password", json={"password": "x"}, headers=acme.admin)
    assert r.status_code == 400
    r = await c.post(f"/api/v1/users/{member}/password", json={"password": "a new passphrase"}, headers=globex.admin)
    assert r.status_code == 404
    r = await c.post(f"/api/v1/users/{member}/password", json={"password": "a new passphrase"}, headers=acme.admin)
    assert r.status_code == 204
    r = await c.post("/api/v1/auth/login", json=MEMBER)
    assert r.status_code == 401
    await core.login("member@acme.example", "a new passphrase")
    r = await c.post("/api/v1/auth/refresh", json={"refresh_token": login["refresh_token"]})
    assert r.status_code == 401


async def role(core: Harness, acme: Tenant, **body: Any) -> dict[str, Any]:
    r = await core.client.post("/api/v1/roles", headers=acme.admin, json={"tenant_id": acme.id, **body})
    assert r.status_code == 201, r.text
    return dict(r.json())


async def test_edit_a_tenant_role_and_its_holders_get_the_new_permissions(
    core: Harness, root: dict[str, str], acme: Tenant
) -> None:
    c = core.client
    await c.post("/api/v1/modules", json=FINANCIAL, headers=root)
    clerk = await role(core, acme, name="clerk", permissions=["core.companies.read"])
    member = await user_id(core, acme.admin, "member@acme.example")
    await c.put(f"/api/v1/users/{member}/companies/{acme.company_id}", json={"roles": ["clerk"]}, headers=acme.admin)
    r = await c.patch(f"/api/v1/roles/{clerk['id']}", headers=acme.admin,
                      json={"permissions": ["core.companies.read", "financial.invoices.*"], "description": "Books"})
    assert r.status_code == 200 and r.json()["description"] == "Books"
    me = (await c.get("/api/v1/me", headers=acme.member)).json()
    assert "financial.invoices.write" in me["permissions"]
    r = await c.patch(f"/api/v1/roles/{clerk['id']}", headers=acme.admin, json={"permissions": ["nonsense.x"]})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "permissions"


async def test_delete_a_role_only_when_nobody_holds_it(core: Harness, acme: Tenant) -> None:
    c = core.client
    clerk = await role(core, acme, name="clerk", permissions=["core.companies.read"])
    member = await user_id(core, acme.admin, "member@acme.example")
    await c.put(f"/api/v1/users/{member}/companies/{acme.company_id}", json={"roles": ["clerk"]}, headers=acme.admin)
    r = await c.delete(f"/api/v1/roles/{clerk['id']}", headers=acme.admin)
    assert r.status_code == 409 and "held 1 time" in r.json()["detail"]
    await c.put(f"/api/v1/users/{member}/companies/{acme.company_id}", json={"roles": ["member"]}, headers=acme.admin)
    r = await c.delete(f"/api/v1/roles/{clerk['id']}", headers=acme.admin)
    assert r.status_code == 204
    assert "clerk" not in [x["name"] for x in (await c.get("/api/v1/roles", headers=acme.admin)).json()]


async def test_built_in_and_foreign_roles_cannot_be_changed(core: Harness, acme: Tenant, globex: Tenant) -> None:
    c = core.client
    roles = (await c.get("/api/v1/roles", headers=acme.admin)).json()
    builtin = next(x for x in roles if x["built_in"])
    assert (await c.patch(f"/api/v1/roles/{builtin['id']}", json={"description": "x"}, headers=acme.admin)
            ).status_code == 403
    assert (await c.delete(f"/api/v1/roles/{builtin['id']}", headers=acme.admin)).status_code == 403
    clerk = await role(core, acme, name="clerk", permissions=["core.companies.read"])
    assert (await c.patch(f"/api/v1/roles/{clerk['id']}", json={"description": "x"}, headers=globex.admin)
            ).status_code == 404
    assert (await c.delete(f"/api/v1/roles/{clerk['id']}", headers=globex.admin)).status_code == 404
    assert (await c.delete(f"/api/v1/roles/{clerk['id']}", headers=acme.member)).status_code == 403


async def test_the_enable_plan_warns_of_events_no_enabled_module_publishes(
    core: Harness, root: dict[str, str], acme: Tenant
) -> None:
    c = core.client
    stock = {"name": "stock", "display_name": "Stock", "version": "1.0.0",
             "backend": {"api_prefix": "/api/v1/stock", "port": 8009},
             "permissions": [{"name": "stock.items.read"}],
             "events": {"publishes": [], "consumes": ["financial.invoice.created"]}}
    for manifest in (FINANCIAL, stock):
        r = await c.post("/api/v1/modules", json=manifest, headers=root)
        assert r.status_code in (200, 201), r.text
    plan = (await c.put(f"/api/v1/tenants/{acme.id}/modules/stock", params={"dry_run": "true"},
                        json={"is_enabled": True}, headers=acme.admin)).json()
    assert plan["warnings"] == ["stock consumes 'financial.invoice.created', which no enabled module publishes"]
    assert plan["subscriptions"] == ["financial.invoice.created"] and plan["permissions_added"] == ["stock.items.read"]
    await c.put(f"/api/v1/tenants/{acme.id}/modules/financial", json={"is_enabled": True}, headers=acme.admin)
    plan = (await c.put(f"/api/v1/tenants/{acme.id}/modules/stock", params={"dry_run": "true"},
                        json={"is_enabled": True}, headers=acme.admin)).json()
    assert plan["warnings"] == [] and plan["allowed"] is True
