"""Fixtures for the financial module: the kit's stand-in for core (`modulekit.testing`: JWKS, token
minting, the resolved configuration over real HTTP), and the module app on either strategy."""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import httpx
import pytest
from litestar import Litestar

from broker import EventBus
from modulekit.testing import CORE_KEY, CORE_KID, CoreStandIn, asgi_client, serve_in_process, token
from modulekit.testing import QUIET_BUS as FAST
from services.financial.app.main import create_app
from services.financial.app.settings import Settings

__all__ = ["CORE_KEY", "CORE_KID", "FAST", "token"]  # the kit's, imported from here by financial's tests
MODULE_KEY = "financial-module-key"
ALL = [
    "financial.accounts.read", "financial.accounts.write", "financial.transactions.read",
    "financial.transactions.write", "financial.invoices.read", "financial.invoices.write",
    "financial.payments.read", "financial.payments.write", "financial.reports.read",
]


@dataclass
class FakeCore(CoreStandIn):
    """The kit's stand-in for core, answering financial's configuration."""

    module: str = "financial"
    module_key: str = MODULE_KEY


def auth(tenant_id: UUID | None, company_id: UUID, perms: list[str] | None = None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token(tenant_id, {company_id: ALL if perms is None else perms})}"}


@dataclass
class Harness:
    client: httpx.AsyncClient
    bus: EventBus
    core: FakeCore
    settings: Settings
    data_url: str
    bus_url: str
    app: Litestar


@pytest.fixture
def core() -> FakeCore:
    return FakeCore()


HarnessFactory = Callable[..., Awaitable[Harness]]


@pytest.fixture
async def make_harness(
    database_url: str, core: FakeCore
) -> AsyncIterator[HarnessFactory]:
    """`await make_harness(strategy)`: a started app with its bus open and a client."""
    stack = AsyncExitStack()

    async def make(strategy: str = "shared", module_url: str | None = None, **overrides: Any) -> Harness:
        settings = Settings(
            database_url=database_url, database_strategy=strategy,  # type: ignore[arg-type]
            module_database_url=module_url, module_api_key=MODULE_KEY, bus=FAST, pool_size=4,
            **{"core_url": "http://core", **overrides},
        )
        bus = EventBus(service="financial", dsn=settings.bus_url,
                       outbox_dsn=module_url, settings=FAST)
        http = (httpx.AsyncClient() if settings.core_url != "http://core"  # a real address (tests of core away)
                else asgi_client(core.app(), "http://core"))
        stack.push_async_callback(http.aclose)
        app = create_app(settings, bus=bus, core_client=http)
        client = await serve_in_process(stack, app, "http://financial")
        return Harness(client, bus, core, settings, settings.data_url, settings.bus_url, app)

    yield make
    await stack.aclose()


@pytest.fixture(params=["shared", "separate"])
def strategy(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    """A database strategy and, for `separate`, the module's own database."""
    if request.param == "separate":
        return "separate", str(request.getfixturevalue("second_database_url"))
    return "shared", None


@pytest.fixture
async def harness(strategy: tuple[str, str | None], make_harness: HarnessFactory) -> Harness:
    """The module app, once per database strategy."""
    return await make_harness(*strategy)


@pytest.fixture
async def shared(make_harness: HarnessFactory) -> Harness:
    return await make_harness("shared")
