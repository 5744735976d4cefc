"""Fixtures for the financial module: a stand-in for core's config endpoint (a real HTTP app
honouring the `ResolvedConfig` contract), token minting, and the module app on either strategy."""

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519
from jwt.algorithms import OKPAlgorithm
from litestar import Litestar, Request, get
from litestar.exceptions import NotAuthorizedException, NotFoundException

from broker import BusSettings, EventBus
from contracts.api import ResolvedConfig
from services.financial.app.main import create_app
from services.financial.app.settings import Settings

CORE_KEY = ed25519.Ed25519PrivateKey.generate()  # stands for core's signing key; the module never sees it
CORE_KID = "core-test-key"
MODULE_KEY = "financial-module-key"
FAST = BusSettings(poll_interval=0.05, workers=0, relay=False, listen=False, cleanup_interval=0, lease=5.0)
ALL = [
    "financial.accounts.read", "financial.accounts.write", "financial.transactions.read",
    "financial.transactions.write", "financial.invoices.read", "financial.invoices.write",
    "financial.payments.read", "financial.payments.write", "financial.reports.read",
]


@dataclass
class FakeCore:
    """Companies and their resolved financial configuration, served over HTTP like core does."""

    configs: dict[UUID, ResolvedConfig] = field(default_factory=dict)
    calls: int = 0
    jwks_fetches: int = 0
    extra_keys: list[dict[str, Any]] = field(default_factory=list)

    def add_company(self, tenant_id: UUID | None = None, **values: Any) -> tuple[UUID, UUID]:
        tenant_id = tenant_id or uuid4()
        company_id = uuid4()
        self.set(tenant_id, company_id, **values)
        return tenant_id, company_id

    def set(self, tenant_id: UUID, company_id: UUID, *, is_enabled: bool = True, **values: Any) -> None:
        self.configs[company_id] = ResolvedConfig(
            module="financial", tenant_id=tenant_id, company_id=company_id, values=values,
            sources=dict.fromkeys(values, "company"), is_enabled=is_enabled,
        )

    def app(self) -> Litestar:
        @get("/api/v1/auth/jwks")
        async def jwks() -> dict[str, Any]:
            self.jwks_fetches += 1
            public = msgspec_json(OKPAlgorithm.to_jwk(CORE_KEY.public_key()))
            return {"keys": [{**public, "kid": CORE_KID, "use": "sig", "alg": "EdDSA"}, *self.extra_keys]}

        @get("/api/v1/companies/{company_id:uuid}/modules/financial/config")
        async def config(request: Request[Any, Any, Any], company_id: UUID) -> ResolvedConfig:
            if request.headers.get("x-module-key") != MODULE_KEY:
                raise NotAuthorizedException("bad module key")
            self.calls += 1
            if company_id not in self.configs:
                raise NotFoundException("no such company")
            return self.configs[company_id]

        return Litestar([config, jwks])


def msgspec_json(raw: str | dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(raw)) if isinstance(raw, str) else raw


def token(tenant_id: UUID | None, companies: dict[UUID, list[str]], *, key: Any = CORE_KEY, kid: str = CORE_KID,
          **claims: Any) -> str:
    now = int(time.time())
    payload = {
        "sub": str(claims.pop("sub", uuid4())), "email": "user@example.com",
        "tenant_id": str(tenant_id) if tenant_id else None,
        "companies": {str(c): perms for c, perms in companies.items()},
        "iss": "buildify-core", "aud": "buildify", "iat": now, "exp": now + 600, **claims,
    }
    return jwt.encode(payload, key, algorithm="EdDSA", headers={"kid": kid})


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
                else httpx.AsyncClient(transport=httpx.ASGITransport(app=core.app()), base_url="http://core"))
        stack.push_async_callback(http.aclose)
        app = create_app(settings, bus=bus, core_client=http)
        for manager in app._lifespan_managers:  # the app's own start-up, on this event loop
            await stack.enter_async_context(manager(app) if callable(manager) else manager)
        client = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://financial")
        )
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
