"""Core app on a fresh database per test, a platform admin, and helpers to sign in."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from argon2 import PasswordHasher
from litestar.testing import AsyncTestClient

from broker import BusSettings, EventBus, Router
from broker.testing import run_until_idle
from services.core.app.admin import create_superuser
from services.core.app.auth.passwords import use_hasher
from services.core.app.main import create_app
from services.core.app.settings import Settings

FAST_BUS = BusSettings(poll_interval=0.05, workers=0, relay=False, listen=False, cleanup_interval=0)
MODULE_KEYS = {"financial": "fin-key", "warehouse": "wh-key"}
GATEWAY_KEY = "traefik-only"
GATEWAY = {"X-Gateway-Key": GATEWAY_KEY}

FINANCIAL: dict[str, Any] = {
    "name": "financial",
    "display_name": "Financial",
    "version": "1.0.0",
    "backend": {"api_prefix": "/api/v1/financial", "port": 8001},
    "frontend": {
        "entry": "/modules/financial/module.js",
        "menu": [
            {"label": "Invoices", "path": "financial/invoices", "permission": "financial.invoices.read"},
            {"label": "Settings", "path": "financial/settings", "permission": "financial.settings.write"},
        ],
    },
    "permissions": [
        {"name": "financial.invoices.read"},
        {"name": "financial.invoices.write"},
        {"name": "financial.settings.write"},
    ],
    "config_schema": {
        "type": "object",
        "properties": {
            "currency": {"type": "string", "pattern": "^[A-Z]{3}$", "default": "USD"},
            "tax_rate": {"type": "number", "minimum": 0, "maximum": 1, "default": 0},
            "invoice_prefix": {"type": "string", "maxLength": 10, "default": "INV"},
        },
    },
    "features": [{"name": "recurring_invoices", "default": False}, {"name": "reminders", "default": True}],
    "events": {"publishes": ["financial.invoice.created"], "consumes": ["core.company.created"]},
}


@dataclass
class Harness:
    client: AsyncTestClient[Any]
    app: Any
    url: str

    @property
    def bus(self) -> Any:
        return self.app.state["core"].bus

    async def drain(self, *, service: str = "core-test", router: Router | None = None) -> None:
        """Relay the outbox onto the bus, and run `router`'s handlers (as `service`) until idle. The
        test client runs the app on its own event loop, so a bus opened on the test's loop does the
        relaying (it moves every outbox row of the database)."""
        bus = EventBus(service=service, dsn=self.url, settings=FAST_BUS)
        if router is not None:
            bus.include_router(router)
        await bus.open()
        try:
            await run_until_idle(bus)
        finally:
            await bus.close()

    async def login(self, email: str, password: str = "password123") -> dict[str, str]:
        r = await self.client.post("/api/v1/auth/login", json={"email": email, "password": password})
        assert r.status_code == 200, r.text
        return {"Authorization": f"Bearer {r.json()['access_token']}"}


@pytest.fixture(scope="session", autouse=True)
def cheap_argon2() -> None:
    """Real argon2, with parameters that hash in about a millisecond instead of 0.4 s."""
    use_hasher(PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@asynccontextmanager
async def serve_core(database_url: str, bus: BusSettings = FAST_BUS) -> AsyncIterator[Harness]:
    """The core app on `database_url` with a platform admin (root@platform.example)."""
    await create_superuser(database_url, "root@platform.example", "password123")
    settings = Settings(database_url=database_url, module_api_keys=MODULE_KEYS, bus=bus,
                        access_token_ttl=600, gateway_config_key=GATEWAY_KEY)
    app = create_app(settings)
    async with AsyncTestClient(app=app) as client:
        yield Harness(client=client, app=app, url=database_url)


@pytest.fixture
async def core(database_url: str) -> AsyncIterator[Harness]:
    async with serve_core(database_url) as harness:
        yield harness


@pytest.fixture
async def root(core: Harness) -> dict[str, str]:
    return await core.login("root@platform.example")


@dataclass
class Tenant:
    id: str
    company_id: str
    other_company_id: str
    admin: dict[str, str]
    member: dict[str, str]


async def make_tenant(core: Harness, root: dict[str, str], slug: str) -> Tenant:
    """A tenant with two companies, a tenant admin and a member of the first company."""
    c = core.client
    tenant = (await c.post("/api/v1/tenants", json={"name": slug.title(), "slug": slug}, headers=root)).json()
    company = (await c.post("/api/v1/companies", json={"name": f"{slug} GmbH", "tenant_id": tenant["id"]},
                            headers=root)).json()
    other = (await c.post("/api/v1/companies", json={"name": f"{slug} Ltd", "tenant_id": tenant["id"]},
                          headers=root)).json()
    r = await c.post("/api/v1/users", headers=root, json={
        "email": f"admin@{slug}.example", "password": "password123", "tenant_id": tenant["id"],
        "tenant_admin": True})
    assert r.status_code == 201, r.text
    r = await c.post("/api/v1/users", headers=root, json={
        "email": f"member@{slug}.example", "password": "password123", "tenant_id": tenant["id"],
        "company_ids": [company["id"]], "roles": ["member"]})
    assert r.status_code == 201, r.text
    return Tenant(id=tenant["id"], company_id=company["id"], other_company_id=other["id"],
                  admin=await core.login(f"admin@{slug}.example"),
                  member=await core.login(f"member@{slug}.example"))


async def user_holding(core: Harness, tenant: Tenant, email: str, permissions: list[str]) -> dict[str, str]:
    """The headers of a user of the tenant's first company whose only role (named for the email's local part)
    holds `permissions`."""
    role = email.split("@")[0]
    r = await core.client.post("/api/v1/roles", headers=tenant.admin, json={
        "name": role, "tenant_id": tenant.id, "permissions": permissions})
    assert r.status_code == 201, r.text
    r = await core.client.post("/api/v1/users", headers=tenant.admin, json={
        "email": email, "password": "password123", "tenant_id": tenant.id,
        "company_ids": [tenant.company_id], "roles": [role]})
    assert r.status_code == 201, r.text
    return await core.login(email)


@pytest.fixture
async def acme(core: Harness, root: dict[str, str]) -> Tenant:
    return await make_tenant(core, root, "acme")


@pytest.fixture
async def globex(core: Harness, root: dict[str, str]) -> Tenant:
    return await make_tenant(core, root, "globex")
