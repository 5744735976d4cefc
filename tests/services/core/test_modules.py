"""The module lifecycle: register -> enable for tenant -> customise for company -> resolved config -> events."""

import copy
from typing import Any

from tests.services.core.conftest import FINANCIAL, MODULE_KEYS, Harness, Tenant


def manifest(**changes: Any) -> dict[str, Any]:
    m = copy.deepcopy(FINANCIAL)
    m.update(changes)
    return m


async def test_lifecycle_resolves_the_seed_example_and_publishes_events(
    core: Harness, root: dict, acme: Tenant, db
) -> None:  # type: ignore[no-untyped-def]
    c = core.client
    r = await c.post("/api/v1/modules", json=FINANCIAL, headers=root)
    assert r.status_code == 200, r.text
    assert r.json()["changed"] is True and r.json()["module"]["version"] == "1.0.0"

    r = await c.put(f"/api/v1/tenants/{acme.id}/modules/financial", headers=acme.admin,
                    json={"is_enabled": True, "configuration": {"currency": "EUR", "tax_rate": 0.20}})
    assert r.status_code == 200, r.text
    r = await c.put(f"/api/v1/companies/{acme.company_id}/modules/financial", headers=acme.admin,
                    json={"configuration": {"tax_rate": 0.19, "invoice_prefix": "DE-INV"},
                          "enabled_features": ["recurring_invoices"], "disabled_features": ["reminders"]})
    assert r.status_code == 200, r.text
    stored = r.json()
    assert stored["customized_at"] is not None
    me = (await c.get("/api/v1/me", headers=acme.admin)).json()
    assert stored["customized_by_user_id"] == me["user"]["id"]

    r = await c.get(f"/api/v1/companies/{acme.company_id}/modules/financial/config",
                    headers={"X-Module-Key": MODULE_KEYS["financial"]})
    assert r.status_code == 200, r.text
    resolved = r.json()
    assert resolved["values"] == {"currency": "EUR", "tax_rate": 0.19, "invoice_prefix": "DE-INV"}
    assert resolved["sources"] == {"currency": "tenant", "tax_rate": "company", "invoice_prefix": "company"}
    assert resolved["enabled_features"] == ["recurring_invoices"]
    assert resolved["is_enabled"] is True

    other = (await c.get(f"/api/v1/companies/{acme.other_company_id}/modules/financial/config",
                         headers=acme.admin)).json()
    assert other["values"] == {"currency": "EUR", "tax_rate": 0.2, "invoice_prefix": "INV"}
    assert other["sources"]["invoice_prefix"] == "default"
    assert other["enabled_features"] == ["reminders"]

    rows = await db.fetch("SELECT * FROM company_modules")
    assert len(rows) == 1 and rows[0]["customized_by_user_id"] is not None

    await core.drain()
    events = await db.fetch("SELECT event_type, tenant_id, company_id, payload FROM events ORDER BY id")
    types = [e["event_type"] for e in events]
    for expected in ("core.tenant.created", "core.company.created", "core.user.created", "core.module.registered",
                     "core.module.enabled", "core.module.configured"):
        assert expected in types, expected
    configured = [e for e in events if e["event_type"] == "core.module.configured"][-1]
    assert str(configured["company_id"]) == acme.company_id
    assert '"DE-INV"' in configured["payload"]
    assert await db.fetchval("SELECT count(*) FROM bus_outbox") == 0


async def test_rolled_back_change_publishes_nothing(core: Harness, root: dict, acme: Tenant, db) -> None:  # type: ignore[no-untyped-def]
    await core.client.post("/api/v1/modules", json=FINANCIAL, headers=root)
    before = await db.fetchval("SELECT count(*) FROM bus_outbox")
    r = await core.client.put(f"/api/v1/tenants/{acme.id}/modules/financial", headers=acme.admin,
                              json={"configuration": {"tax_rate": 7}})
    assert r.status_code == 422
    assert await db.fetchval("SELECT count(*) FROM bus_outbox") == before
    assert await db.fetchval("SELECT count(*) FROM tenant_modules") == 0


async def test_config_schema_violation_names_every_failing_key(core: Harness, root: dict, acme: Tenant) -> None:
    await core.client.post("/api/v1/modules", json=FINANCIAL, headers=root)
    r = await core.client.put(f"/api/v1/tenants/{acme.id}/modules/financial", headers=acme.admin,
                              json={"configuration": {"currency": "euro", "tax_rate": "high", "colour": "red"}})
    assert r.status_code == 422
    body = r.json()
    assert {e["field"] for e in body["errors"]} == {"configuration.currency", "configuration.tax_rate",
                                                "configuration.colour"}
    for key in ("configuration.currency", "configuration.tax_rate", "configuration.colour"):
        assert key in body["detail"]
    await core.client.put(f"/api/v1/tenants/{acme.id}/modules/financial", headers=acme.admin, json={})
    r = await core.client.put(f"/api/v1/companies/{acme.company_id}/modules/financial", headers=acme.admin,
                              json={"configuration": {"tax_rate": 1.5}, "enabled_features": ["teleport"]})
    assert r.status_code == 422 and "teleport" in r.json()["detail"]
    r = await core.client.put(f"/api/v1/companies/{acme.company_id}/modules/financial", headers=acme.admin,
                              json={"configuration": {"tax_rate": 1.5}})
    assert r.status_code == 422 and "configuration.tax_rate" in r.json()["detail"]


async def test_audit_history_lists_who_when_before_after(core: Harness, root: dict, acme: Tenant) -> None:
    c = core.client
    await c.post("/api/v1/modules", json=FINANCIAL, headers=root)
    url = f"/api/v1/tenants/{acme.id}/modules/financial"
    await c.put(url, headers=acme.admin, json={"configuration": {"currency": "EUR"}})
    await c.put(url, headers=acme.admin, json={"configuration": {"currency": "GBP"}})
    await c.put(f"/api/v1/companies/{acme.company_id}/modules/financial", headers=acme.admin,
                json={"configuration": {"invoice_prefix": "UK"}})
    history = (await c.get(f"{url}/audit", headers=acme.admin)).json()
    assert [h["action"] for h in history] == ["company.customized", "tenant.configured", "tenant.enabled"]
    assert history[1]["before"]["configuration"] == {"currency": "EUR"}
    assert history[1]["after"]["configuration"] == {"currency": "GBP"}
    assert all(h["actor_user_id"] and h["changed_at"] for h in history)
    only_company = (await c.get(f"{url}/audit", params={"company_id": acme.company_id}, headers=acme.admin)).json()
    assert [h["action"] for h in only_company] == ["company.customized"]
    await c.put(f"/api/v1/companies/{acme.other_company_id}/modules/financial", headers=acme.admin,
                json={"configuration": {"invoice_prefix": "OTHER"}})
    seen = (await c.get(f"{url}/audit", headers=acme.member)).json()  # member holds core.modules.read
    assert {h["company_id"] for h in seen} == {None, acme.company_id}


async def test_dry_run_answers_the_plan_and_changes_nothing(core: Harness, root: dict, acme: Tenant, db) -> None:  # type: ignore[no-untyped-def]
    await core.client.post("/api/v1/modules", json=manifest(
        events={"publishes": ["financial.invoice.created"], "consumes": ["core.company.created", "warehouse.#"]}),
        headers=root)
    r = await core.client.put(f"/api/v1/tenants/{acme.id}/modules/financial", params={"dry_run": "true"},
                              headers=acme.admin, json={"configuration": {"currency": "EUR"}})
    assert r.status_code == 200, r.text
    plan = r.json()
    assert plan["action"] == "enable" and plan["allowed"] is True
    assert "financial.invoices.write" in plan["permissions_added"]
    assert [m["label"] for m in plan["menu_entries_added"]] == ["Invoices", "Settings"]
    assert plan["configuration"]["currency"] == {"value": "EUR", "source": "tenant"}
    assert plan["configuration"]["invoice_prefix"] == {"value": "INV", "source": "default"}
    assert plan["subscriptions"] == ["core.company.created", "warehouse.#"]
    assert any("warehouse.#" in w for w in plan["warnings"])
    assert not any("core.company.created" in w for w in plan["warnings"])
    assert await db.fetchval("SELECT count(*) FROM tenant_modules") == 0


async def test_requires_not_met_is_refused_with_the_reason(core: Harness, root: dict, acme: Tenant) -> None:
    c = core.client
    wh = manifest(name="warehouse", display_name="Warehouse", backend={"api_prefix": "/api/v1/warehouse", "port": 8002},
                  permissions=[{"name": "warehouse.stock.read"}], frontend=None,
                  events={"publishes": ["warehouse.stock.moved"]},
                  requires={"modules": {"financial": ">=1.0.0,<2.0.0"}})
    assert (await c.post("/api/v1/modules", json=wh, headers=root)).status_code == 200
    r = await c.put(f"/api/v1/tenants/{acme.id}/modules/warehouse", headers=acme.admin, json={})
    assert r.status_code == 409 and "financial" in r.json()["detail"] and "not registered" in r.json()["detail"]
    await c.post("/api/v1/modules", json=FINANCIAL, headers=root)
    plan = (await c.put(f"/api/v1/tenants/{acme.id}/modules/warehouse?dry_run=true", headers=acme.admin,
                        json={})).json()
    assert plan["allowed"] is False and plan["depends_on"][0]["enabled_for_tenant"] is False
    r = await c.put(f"/api/v1/tenants/{acme.id}/modules/warehouse", headers=acme.admin, json={})
    assert r.status_code == 409 and "enabled for this tenant first" in r.json()["detail"]
    await c.put(f"/api/v1/tenants/{acme.id}/modules/financial", headers=acme.admin, json={})
    assert (await c.put(f"/api/v1/tenants/{acme.id}/modules/warehouse", headers=acme.admin, json={})).status_code == 200
    r = await c.put(f"/api/v1/tenants/{acme.id}/modules/financial", headers=acme.admin, json={"is_enabled": False})
    assert r.status_code == 409 and "warehouse" in r.json()["detail"]
    r = await c.post("/api/v1/modules", json=manifest(version="1.1.0", requires={"platform": ">=9.0.0"}),
                     headers=root)
    assert r.status_code == 409 and "platform" in r.json()["detail"]


async def test_upgrade_and_downgrade(core: Harness, root: dict, db) -> None:  # type: ignore[no-untyped-def]
    c = core.client
    await c.post("/api/v1/modules", json=FINANCIAL, headers=root)
    again = (await c.post("/api/v1/modules", json=FINANCIAL, headers=root)).json()
    assert again["changed"] is False
    up = (await c.post("/api/v1/modules", json=manifest(version="1.2.0"), headers=root)).json()
    assert up["previous_version"] == "1.0.0" and up["module"]["version"] == "1.2.0"
    r = await c.post("/api/v1/modules", json=manifest(version="1.1.9"), headers=root)
    assert r.status_code == 409 and "`version`" in r.json()["detail"]
    assert (await c.get("/api/v1/modules/financial", headers=root)).json()["version"] == "1.2.0"
    await core.drain()
    payloads = await db.fetch("SELECT payload FROM events WHERE event_type = 'core.module.registered' ORDER BY id")
    assert len(payloads) == 2 and '"previous_version":"1.0.0"' in payloads[1]["payload"].replace(" ", "")


async def test_module_registers_itself_with_its_key_only(core: Harness) -> None:
    c = core.client
    r = await c.post("/api/v1/modules", json=FINANCIAL, headers={"X-Module-Key": MODULE_KEYS["financial"]})
    assert r.status_code == 200
    r = await c.post("/api/v1/modules", json=FINANCIAL, headers={"X-Module-Key": MODULE_KEYS["warehouse"]})
    assert r.status_code == 403
    r = await c.post("/api/v1/modules", json=FINANCIAL, headers={"X-Module-Key": "guess"})
    assert r.status_code == 401


async def test_bad_manifest_lists_every_problem(core: Harness, root: dict) -> None:
    bad = manifest(name="Fin!", version="one", permissions=[{"name": "other.x"}], colour="blue")
    del bad["display_name"]
    r = await core.client.post("/api/v1/modules", json=bad, headers=root)
    assert r.status_code == 422
    fields = [e["field"] for e in r.json()["errors"]]
    assert "colour" in fields and "display_name" in fields
    bad = manifest(name="Fin!", version="one", permissions=[{"name": "other.x"}],
                   events={"consumes": ["a..b"]}, requires={"platform": "banana"})
    errors = (await core.client.post("/api/v1/modules", json=bad, headers=root)).json()["errors"]
    for field in ("name", "version", "permissions[0].name", "events.consumes[0]", "requires.platform"):
        assert field in [e["field"] for e in errors], (field, errors)
    bad = manifest(config_schema={"type": "object", "properties": {"tax_rate": {"type": "number", "maximum": 1,
                                                                               "default": 5}}})
    errors = (await core.client.post("/api/v1/modules", json=bad, headers=root)).json()["errors"]
    assert any("tax_rate" in e["field"] for e in errors)


async def test_me_modules_filtered_by_permission(core: Harness, root: dict, acme: Tenant) -> None:
    c = core.client
    await c.post("/api/v1/modules", json=FINANCIAL, headers=root)
    await c.put(f"/api/v1/tenants/{acme.id}/modules/financial", headers=acme.admin, json={})
    mine = (await c.get("/api/v1/me/modules", params={"company_id": acme.company_id}, headers=acme.member)).json()
    assert [m["name"] for m in mine] == ["financial"]
    assert mine[0]["entry"] == "/modules/financial/module.js"
    assert [m["label"] for m in mine[0]["menu"]] == ["Invoices"]  # member reads, cannot change settings
    assert mine[0]["features"] == ["reminders"]
    admin = (await c.get("/api/v1/me/modules", params={"company_id": acme.company_id}, headers=acme.admin)).json()
    assert [m["label"] for m in admin[0]["menu"]] == ["Invoices", "Settings"]
    await c.put(f"/api/v1/companies/{acme.company_id}/modules/financial", headers=acme.admin,
                json={"is_enabled": False})
    assert (await c.get("/api/v1/me/modules", params={"company_id": acme.company_id},
                        headers=acme.member)).json() == []
    resolved = (await c.get(f"/api/v1/companies/{acme.company_id}/modules/financial/config",
                            headers=acme.member)).json()
    assert resolved["is_enabled"] is False


async def test_disable_keeps_settings_and_purge_asks_first(core: Harness, root: dict, acme: Tenant, db) -> None:  # type: ignore[no-untyped-def]
    c = core.client
    await c.post("/api/v1/modules", json=FINANCIAL, headers=root)
    url = f"/api/v1/tenants/{acme.id}/modules/financial"
    await c.put(url, headers=acme.admin, json={"configuration": {"currency": "EUR"}})
    await c.put(f"/api/v1/companies/{acme.company_id}/modules/financial", headers=acme.admin,
                json={"configuration": {"invoice_prefix": "X"}})
    r = await c.put(url, headers=acme.admin, json={"is_enabled": False})
    assert r.status_code == 200 and r.json()["configuration"] == {"currency": "EUR"}
    assert await db.fetchval("SELECT count(*) FROM company_modules") == 1
    r = await c.delete(url, params={"mode": "purge"}, headers=acme.admin)
    assert r.status_code == 409 and "deletes" in r.json()["detail"]
    plan = (await c.delete(url, params={"mode": "purge", "dry_run": "true"}, headers=acme.admin)).json()
    assert plan["performed"] is False and any("1 company" in d for d in plan["deletes"])
    assert await db.fetchval("SELECT count(*) FROM tenant_modules") == 1
    done = (await c.delete(url, params={"mode": "purge", "confirm": "true"}, headers=acme.admin)).json()
    assert done["performed"] is True
    assert await db.fetchval("SELECT count(*) FROM tenant_modules") == 0
    await core.drain()
    last = await db.fetchval(
        "SELECT payload FROM events WHERE event_type = 'core.module.disabled' ORDER BY id DESC LIMIT 1")
    assert '"purge":true' in last.replace(" ", "")
