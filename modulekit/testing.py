"""A stand-in for core as a module meets it in its own tests: the JWKS, user tokens signed with a key only
the tests hold, and each company's resolved configuration behind the module key. It ships in the kit's
wheel so a module in its own repository tests against the same stand-in as the modules of the monorepo.
Beside it, what such tests also need: the app served in process and the events the module published."""

import json
import time
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast
from uuid import UUID, uuid4

import asyncpg
import httpx
import jwt
import msgspec
from cryptography.hazmat.primitives.asymmetric import ed25519
from jwt.algorithms import OKPAlgorithm
from litestar import Litestar, Request, get
from litestar.exceptions import NotAuthorizedException, NotFoundException

from broker import BusSettings
from contracts.api import ResolvedConfig
from contracts.envelope import Event

CORE_KEY = ed25519.Ed25519PrivateKey.generate()  # stands for core's signing key; the module never sees it
CORE_KID = "core-test-key"
E = TypeVar("E", bound=Event)
# A bus that does nothing on its own: tests drain it with broker.testing.run_until_idle.
QUIET_BUS = BusSettings(poll_interval=0.05, workers=0, relay=False, listen=False, cleanup_interval=0, lease=5.0)


def token(tenant_id: UUID | None, companies: Mapping[UUID, list[str]], *, key: Any = CORE_KEY,
          kid: str = CORE_KID, **claims: Any) -> str:
    """A user token as core signs it: `companies` maps each company to the permissions held there."""
    now = int(time.time())
    payload = {
        "sub": str(claims.pop("sub", uuid4())), "email": "user@example.com",
        "tenant_id": str(tenant_id) if tenant_id else None,
        "companies": {str(c): perms for c, perms in companies.items()},
        "iss": "buildify-core", "aud": "buildify", "iat": now, "exp": now + 600, **claims,
    }
    return jwt.encode(payload, key, algorithm="EdDSA", headers={"kid": kid})


def bearer(tenant_id: UUID | None, company_id: UUID, permissions: list[str]) -> dict[str, str]:
    """The Authorization header of a user holding `permissions` in `company_id`."""
    return {"Authorization": f"Bearer {token(tenant_id, {company_id: permissions})}"}


@dataclass
class CoreStandIn:
    """Core's JWKS and `module`'s resolved configuration per company, served over HTTP as core serves them.
    Counts configuration answers (`calls`) and JWKS fetches so tests can see the module's caches work."""

    module: str
    module_key: str
    configs: dict[UUID, ResolvedConfig] = field(default_factory=dict)
    calls: int = 0
    jwks_fetches: int = 0
    extra_keys: list[dict[str, Any]] = field(default_factory=list)

    def add_company(self, tenant_id: UUID | None = None, **values: Any) -> tuple[UUID, UUID]:
        """A new company (of a new tenant unless given) with the module enabled and `values` configured."""
        tenant_id = tenant_id or uuid4()
        company_id = uuid4()
        self.set(tenant_id, company_id, **values)
        return tenant_id, company_id

    def set(self, tenant_id: UUID, company_id: UUID, *, is_enabled: bool = True, **values: Any) -> None:
        self.configs[company_id] = ResolvedConfig(
            module=self.module, tenant_id=tenant_id, company_id=company_id, values=values,
            sources=dict.fromkeys(values, "company"), is_enabled=is_enabled,
        )

    def app(self) -> Litestar:
        @get("/api/v1/auth/jwks")
        async def jwks() -> dict[str, Any]:
            self.jwks_fetches += 1
            public = json.loads(OKPAlgorithm.to_jwk(CORE_KEY.public_key()))
            return {"keys": [{**public, "kid": CORE_KID, "use": "sig", "alg": "EdDSA"}, *self.extra_keys]}

        @get(f"/api/v1/companies/{{company_id:uuid}}/modules/{self.module}/config")
        async def config(request: Request[Any, Any, Any], company_id: UUID) -> ResolvedConfig:
            if request.headers.get("x-module-key") != self.module_key:
                raise NotAuthorizedException("bad module key")
            self.calls += 1
            if company_id not in self.configs:
                raise NotFoundException("no such company")
            return self.configs[company_id]

        return Litestar([config, jwks])


def asgi_client(app: Litestar, base_url: str) -> httpx.AsyncClient:
    """An HTTP client that calls `app` in process (no port, no server)."""
    # Litestar's __call__ is typed with its own Scope/Receive/Send; httpx's ASGITransport with plain
    # mappings: the same ASGI protocol, spelled differently.
    transport = httpx.ASGITransport(app=cast(Any, app))
    return httpx.AsyncClient(transport=transport, base_url=base_url)


async def serve_in_process(stack: AsyncExitStack, app: Litestar, base_url: str) -> httpx.AsyncClient:
    """Run `app`'s own start-up on this event loop (its shutdown joins `stack`) and return a client
    that calls it in process: a module's tests get the app exactly as a server would run it."""
    for manager in app._lifespan_managers:
        await stack.enter_async_context(manager(app) if callable(manager) else manager)
    return await stack.enter_async_context(asgi_client(app, base_url))



async def published(kind: type[E], data_url: str, bus_url: str) -> list[tuple[int, E]]:
    """`(version, event)` of every `kind` event the module published, wherever it is now: in the
    outbox of its database (`data_url`) or, once relayed, in the bus's log (`bus_url`)."""
    found: list[tuple[int, E]] = []
    for url, table in ((data_url, "bus_outbox"), (bus_url, "events")):
        conn = await asyncpg.connect(url)
        try:
            rows = await conn.fetch(f"SELECT version, payload FROM {table} WHERE event_type = $1",
                                    kind.__struct_config__.tag)
        finally:
            await conn.close()
        found += [(row["version"], msgspec.json.decode(row["payload"], type=kind)) for row in rows]
    return found
