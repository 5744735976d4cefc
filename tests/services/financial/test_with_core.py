"""The real core and the financial module together: core's company event creates the chart,
and an invoice takes its number, tax and currency from core's three-tier configuration."""

from contextlib import AsyncExitStack
from pathlib import Path

import asyncpg
import httpx
import jwt
import msgspec

from broker import EventBus
from broker.testing import run_until_idle
from tests.services.financial.conftest import FAST, MODULE_KEY

MANIFEST = Path(__file__).resolve().parents[3] / "services" / "financial" / "manifest.json"


async def test_company_created_in_core_gets_accounts_and_german_invoices(database_url: str) -> None:
    from services.core.app.admin import create_superuser
    from services.core.app.main import create_app as create_core
    from services.core.app.settings import Settings as CoreSettings
    from services.financial.app.main import create_app as create_financial
    from services.financial.app.settings import Settings

    await create_superuser(database_url, "root@platform.example", "password123")
    core_app = create_core(CoreSettings(database_url=database_url, module_api_keys={"financial": MODULE_KEY},
                                        bus=FAST, access_token_ttl=600))
    async with AsyncExitStack() as stack:
        for manager in core_app._lifespan_managers:
            await stack.enter_async_context(manager(core_app) if callable(manager) else manager)
        core = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=core_app), base_url="http://core"))
        fin_bus = EventBus(service="financial", dsn=database_url, settings=FAST)
        fin_app = create_financial(
            Settings(database_url=database_url, core_url="http://core", module_api_key=MODULE_KEY,
                     bus=FAST, pool_size=3),
            bus=fin_bus, core_client=core,
        )
        for manager in fin_app._lifespan_managers:
            await stack.enter_async_context(manager(fin_app) if callable(manager) else manager)
        fin = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=fin_app), base_url="http://financial"))

        async def login(email: str) -> dict[str, str]:
            r = await core.post("/api/v1/auth/login", json={"email": email, "password": "password123"})
            assert r.status_code == 200, r.text
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        root = await login("root@platform.example")
        manifest = msgspec.json.decode(MANIFEST.read_bytes())
        assert (await core.post("/api/v1/modules", json=manifest, headers=root)).status_code in (200, 201)
        tenant = (await core.post("/api/v1/tenants", json={"name": "Euro Group", "slug": "euro"},
                                  headers=root)).json()
        r = await core.put(f"/api/v1/tenants/{tenant['id']}/modules/financial", headers=root,
                           json={"configuration": {"currency": "EUR", "tax_rate": 0.2}})
        assert r.status_code in (200, 201), r.text
        company = (await core.post("/api/v1/companies", json={"name": "Euro GmbH", "tenant_id": tenant["id"]},
                                   headers=root)).json()
        r = await core.put(f"/api/v1/companies/{company['id']}/modules/financial", headers=root,
                           json={"configuration": {"tax_rate": 0.19, "invoice_prefix": "DE-INV"}})
        assert r.status_code in (200, 201), r.text
        r = await core.post("/api/v1/users", headers=root, json={
            "email": "boss@euro.example", "password": "password123", "tenant_id": tenant["id"],
            "tenant_admin": True, "company_ids": [company["id"]]})
        assert r.status_code == 201, r.text

        relay = EventBus(service="core-relay", dsn=database_url, settings=FAST)
        await relay.open()
        try:
            await run_until_idle(relay)
        finally:
            await relay.close()
        await run_until_idle(fin_bus)

        boss = await login("boss@euro.example")
        accounts = await fin.get("/api/v1/financial/accounts", params={"company_id": company["id"]}, headers=boss)
        assert accounts.status_code == 200, accounts.text
        assert "1200" in [a["code"] for a in accounts.json()]
        assert {a["currency"] for a in accounts.json()} == {"EUR"}  # the tenant's currency, not the default
        inv = await fin.post("/api/v1/financial/invoices", headers=boss, json={
            "company_id": company["id"], "customer": "Kunde AG", "lines": [{"quantity": "1", "unit_price": "100"}]})
        assert inv.status_code == 201, inv.text
        body = inv.json()
        assert (body["number"], body["currency"], body["tax"], body["total"]) == (
            "DE-INV-000001", "EUR", "19.00", "119.00")

        # finding 7 seen from the module: removed from the company, a user keeps it only for the rest of
        # the access token already held (exp - iat, the documented window); refreshing or signing in again
        # does not bring it back
        r = await core.post("/api/v1/users", headers=root, json={
            "email": "clerk@euro.example", "password": "password123", "tenant_id": tenant["id"],
            "company_ids": [company["id"]], "roles": ["member"]})
        assert r.status_code == 201, r.text
        session = (await core.post("/api/v1/auth/login", json={"email": "clerk@euro.example",
                                                                 "password": "password123"})).json()
        held = jwt.decode(session["access_token"], options={"verify_signature": False})
        assert held["exp"] - held["iat"] == 600  # this test's ACCESS_TOKEN_TTL; the default is 300
        assert company["id"] in held["companies"]
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute("DELETE FROM user_company_roles WHERE user_id = $1::uuid", held["sub"])
        finally:
            await conn.close()
        assert (await core.post("/api/v1/auth/refresh", json={"refresh_token": session["refresh_token"]})
                ).status_code == 401
        again = (await core.post("/api/v1/auth/login", json={"email": "clerk@euro.example",
                                                               "password": "password123"})).json()
        r = await fin.get("/api/v1/financial/invoices", params={"company_id": company["id"]},
                          headers={"Authorization": f"Bearer {again['access_token']}"})
        assert r.status_code == 403 and "do not belong" in r.json()["detail"], r.text
