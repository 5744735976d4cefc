"""Fixtures of the warehouse module's own tests (they run in this repository and, unchanged, in the
module's own): a fresh PostgreSQL database per test with the bus tables in it, the kit's stand-in for
core, and the app started on either database strategy with shortcuts for what tests do over HTTP.

PostgreSQL: `BUILDIFY_TEST_DATABASE_URL` (a server URL, e.g. postgresql://postgres@127.0.0.1:5432/postgres),
or an embedded one started for the session when it is not set.
Tests import nothing from here at run time (only types): everything reaches them as fixtures.
"""

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit
from uuid import UUID, uuid4

import asyncpg
import httpx
import pytest
from litestar import Litestar

from broker import EventBus, embedded
from broker.schema import install
from contracts.envelope import Event
from modulekit.testing import QUIET_BUS, CoreStandIn, asgi_client, bearer, published, serve_in_process
from services.warehouse.app.main import create_app
from services.warehouse.app.settings import Settings

API = "/api/v1/warehouse"
MODULE_KEY = "warehouse-module-key"
ALL = ["warehouse.items.read", "warehouse.items.write", "warehouse.stock.read", "warehouse.movements.write"]
E = TypeVar("E", bound=Event)


@dataclass
class Harness:
    """The started app, its bus and the core stand-in, with the steps tests repeat."""

    client: httpx.AsyncClient
    bus: EventBus
    core: CoreStandIn
    settings: Settings
    app: Litestar

    @property
    def data_url(self) -> str:
        return self.settings.data_url

    @property
    def bus_url(self) -> str:
        return self.settings.bus_url

    def auth(self, tenant_id: UUID, company_id: UUID, perms: list[str] | None = None) -> dict[str, str]:
        """A bearer token core would sign for a user of `company_id` holding `perms` (all by default)."""
        return bearer(tenant_id, company_id, ALL if perms is None else perms)

    async def company(self, **config: Any) -> tuple[UUID, UUID, dict[str, str]]:
        tenant_id, company_id = self.core.add_company(**config)
        return tenant_id, company_id, self.auth(tenant_id, company_id)

    async def post(self, path: str, headers: dict[str, str], **body: Any) -> dict[str, Any]:
        response = await self.client.post(API + path, json=body, headers=headers)
        assert response.status_code == 201, response.text
        return dict(response.json())

    async def stocked(self, quantity: str = "10", *, unit_cost: str = "2.50", threshold: str = "0",
                      locations: tuple[str, ...] = ("A1", "B1"), sku: str = "W-1", **config: Any
                      ) -> tuple[UUID, dict[str, str], dict[str, Any], dict[str, Any]]:
        """A company with item `sku`, warehouse MAIN (locations A1, B1) and `quantity` received at A1."""
        _, company_id, headers = await self.company(**config)
        item = await self.post("/items", headers, company_id=str(company_id), sku=sku, name="Widget",
                               unit_cost=unit_cost, low_stock_threshold=threshold)
        warehouse = await self.post("/warehouses", headers, company_id=str(company_id), code="MAIN", name="Main",
                                    locations=list(locations))
        if quantity != "0":
            await self.move(headers, company_id, item, warehouse["locations"][0]["id"], "receipt", quantity)
        return company_id, headers, item, warehouse

    async def move(self, headers: dict[str, str], company_id: UUID, item: dict[str, Any], location_id: str,
                   kind: str, quantity: str, **extra: Any) -> httpx.Response:
        return await self.client.post(API + "/movements", headers=headers, json={
            "company_id": str(company_id), "item_id": item["id"], "kind": kind, "quantity": quantity,
            "location_id": location_id, **extra})

    async def levels(self, company_id: UUID, headers: dict[str, str]) -> dict[str, tuple[str, str]]:
        """`{location code: (on_hand, reserved)}` of the company's stock."""
        response = await self.client.get(API + "/stock", params={"company_id": str(company_id)}, headers=headers)
        assert response.status_code == 200, response.text
        return {row["location"]: (row["on_hand"], row["reserved"]) for row in response.json()}

    async def published(self, kind: type[E]) -> list[E]:
        """Events of `kind` the module published, wherever they are now (its outbox or the bus log)."""
        return [event for _, event in await published(kind, self.data_url, self.bus_url)]


HarnessFactory = Callable[..., Awaitable[Harness]]


@pytest.fixture(scope="session")
def pg_server_url() -> Iterator[str]:
    """`BUILDIFY_TEST_DATABASE_URL`, or else an embedded PostgreSQL (pgserver, a dependency of the
    broker wheel) in the module's .buildify/, stopped afterwards unless it was already running."""
    server = os.environ.get("BUILDIFY_TEST_DATABASE_URL")
    if server:
        yield server
        return
    data_dir = Path(__file__).resolve().parents[1] / ".buildify" / "test-pg"
    already_running = (data_dir / "postmaster.pid").exists()
    yield embedded.start(data_dir)
    if not already_running:
        embedded.stop(data_dir)


async def _database(server: str) -> str:
    """A new database on `server` holding the bus tables (core's migrations create them in production)."""
    name = f"t_warehouse_{uuid4().hex[:12]}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = urlunsplit(urlsplit(server)._replace(path="/" + name))
    conn = await asyncpg.connect(url)
    try:
        await install(conn)
    finally:
        await conn.close()
    return name


@pytest.fixture
async def databases(pg_server_url: str) -> AsyncIterator[Callable[[], Awaitable[str]]]:
    """`await databases()`: the URL of a fresh database, dropped after the test."""
    made: list[str] = []

    async def make() -> str:
        made.append(await _database(pg_server_url))
        return urlunsplit(urlsplit(pg_server_url)._replace(path="/" + made[-1]))

    yield make
    admin = await asyncpg.connect(pg_server_url)
    try:
        for name in made:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def database_url(databases: Callable[[], Awaitable[str]]) -> str:
    return await databases()


@pytest.fixture
def core() -> CoreStandIn:
    return CoreStandIn(module="warehouse", module_key=MODULE_KEY)


@pytest.fixture
async def make_harness(database_url: str, core: CoreStandIn) -> AsyncIterator[HarnessFactory]:
    """`await make_harness(strategy)`: a started app with its bus open and a client."""
    stack = AsyncExitStack()

    async def make(strategy: str = "shared", module_url: str | None = None, **overrides: Any) -> Harness:
        settings = Settings(
            database_url=database_url, database_strategy=strategy,  # type: ignore[arg-type]
            module_database_url=module_url, core_url="http://core", module_api_key=MODULE_KEY,
            bus=QUIET_BUS, pool_size=12, **overrides,
        )
        bus = EventBus(service="warehouse", dsn=settings.bus_url, outbox_dsn=module_url, settings=QUIET_BUS)
        http = asgi_client(core.app(), "http://core")
        stack.push_async_callback(http.aclose)
        app = create_app(settings, bus=bus, core_client=http)
        client = await serve_in_process(stack, app, "http://warehouse")
        return Harness(client, bus, core, settings, app)

    yield make
    await stack.aclose()


@pytest.fixture(params=["shared", "separate"])
async def harness(request: pytest.FixtureRequest, databases: Callable[[], Awaitable[str]],
                  make_harness: HarnessFactory) -> Harness:
    """The module app, once per database strategy (`separate`: with a database of its own)."""
    module_url = await databases() if request.param == "separate" else None
    return await make_harness(request.param, module_url)


@pytest.fixture
async def shared(make_harness: HarnessFactory) -> Harness:
    return await make_harness("shared")
