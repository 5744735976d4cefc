"""A company's resolved module configuration, read from core over HTTP and cached per company.

Core answers `GET /api/v1/companies/{id}/modules/{module}/config` to the module's key. Every
replica holds its own cache, so every replica must drop it when core publishes
`core.module.configured/enabled/disabled`: `config_router` subscribes `invalidate` to them
as broadcast subscriptions, which every running process receives.
A time limit bounds staleness should an event be missed.
"""

import time
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar
from uuid import UUID

import httpx
import msgspec
from litestar.connection import ASGIConnection

from broker import Retry, Router
from contracts.api import ResolvedConfig
from contracts.core import ModuleConfigured, ModuleEnabled
from contracts.core import ModuleDisabled as ModuleSwitchedOff
from modulekit.auth import module_key_headers
from modulekit.errors import DependencyUnavailable, ModuleDisabled, NotFound

T = TypeVar("T")


class ConfigClient(Generic[T]):
    """Fetches `ResolvedConfig` for one module and caches its typed view `T` per company.

    `parse` turns core's answer into the module's own typed configuration (raising
    `DependencyUnavailable` for values it cannot use); a disabled company raises `ModuleDisabled`.
    """

    def __init__(self, http: httpx.AsyncClient, *, module: str, base_url: str, api_key: str,
                 parse: Callable[[ResolvedConfig], T], ttl: float = 300.0) -> None:
        self.http = http
        self.module = module
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.parse = parse
        self.ttl = ttl
        self._cache: dict[UUID, tuple[float, UUID, T]] = {}

    def invalidate(self, *, tenant_id: UUID | None = None, company_id: UUID | None = None) -> None:
        """Forget one company, or every company of a tenant (a tenant-tier change)."""
        for cid, (_, tid, _value) in list(self._cache.items()):
            if (company_id is not None and cid == company_id) or (
                company_id is None and tenant_id is not None and tid == tenant_id
            ):
                del self._cache[cid]

    async def resolved(self, company_id: UUID) -> ResolvedConfig:
        """Core's answer for `company_id`, uncached."""
        url = f"{self.base_url}/api/v1/companies/{company_id}/modules/{self.module}/config"
        try:
            response = await self.http.get(url, headers=module_key_headers(self.api_key), timeout=5.0)
        except httpx.HTTPError as exc:
            raise DependencyUnavailable(f"core did not answer for the configuration of company {company_id}") from exc
        if response.status_code == 404:
            raise NotFound(f"core knows no company {company_id} with the {self.module} module")
        if response.status_code >= 400:
            raise DependencyUnavailable(
                f"core refused the configuration of company {company_id} (HTTP {response.status_code})"
            )
        try:
            return msgspec.json.decode(response.content, type=ResolvedConfig)
        except msgspec.DecodeError as exc:
            raise DependencyUnavailable(f"core answered an unreadable configuration: {exc}") from exc

    async def get(self, company_id: UUID) -> T:
        """The company's configuration; `ModuleDisabled` when the module is off for it."""
        cached = self._cache.get(company_id)
        if cached and time.monotonic() - cached[0] < self.ttl:
            return cached[2]
        resolved = await self.resolved(company_id)
        value = self.parse(resolved)
        if not resolved.is_enabled:
            raise ModuleDisabled(f"the {self.module} module is not enabled for company {company_id}")
        self._cache[company_id] = (time.monotonic(), resolved.tenant_id, value)
        return value


def config_router(config: ConfigClient[T], *, broadcast: bool = True) -> Router:
    """Subscriptions that drop cached configuration when core changes it, in every replica.

    `broadcast=False` (the RabbitMQ transport, which has no broadcast mode yet) makes them
    competing subscriptions: one replica forgets at once, the others when `ttl` runs out.
    """
    router = Router()

    def forget(event: ModuleConfigured | ModuleEnabled | ModuleSwitchedOff) -> None:
        if event.module_name == config.module:
            config.invalidate(tenant_id=event.tenant_id, company_id=event.company_id)

    @router.on("core.module.configured", broadcast=broadcast, name="forget_config_on_change")
    async def forget_config_on_change(event: ModuleConfigured) -> None:
        """The next request of the affected companies reads the new configuration."""
        forget(event)

    @router.on("core.module.enabled", broadcast=broadcast, name="forget_config_on_enable")
    async def forget_config_on_enable(event: ModuleEnabled) -> None:
        """Enabling may carry a configuration of its own."""
        forget(event)

    @router.on("core.module.disabled", broadcast=broadcast, name="forget_config_on_disable")
    async def forget_config_on_disable(event: ModuleSwitchedOff) -> None:
        """A disabled company must stop being served now, not when the cache expires."""
        forget(event)

    return router


async def config_for_event(get: Callable[[UUID], Awaitable[T]], company_id: UUID) -> T | None:
    """A company's configuration (`get`: `ConfigClient.get` or a function like it) as an event handler
    needs it: None when the module is off for the company or core knows no such company (nothing to
    do), a `Retry` while core cannot answer (the event waits for it rather than being lost)."""
    try:
        return await get(company_id)
    except (ModuleDisabled, NotFound):
        return None
    except DependencyUnavailable as exc:
        raise Retry(str(exc), after=5) from exc


async def module_enabled(connection: ASGIConnection[Any, Any, Any, Any], company_id: UUID) -> None:
    """Refuse (403 `module-disabled`) when core says the module is off for the company.

    Every endpoint that touches a company's data calls it once the company is known, reads as
    well as writes: a disabled module does nothing for that company. The answer is cached and
    dropped when core publishes `core.module.*` events.
    """
    config: ConfigClient[object] = connection.app.state.config
    await config.get(company_id)
