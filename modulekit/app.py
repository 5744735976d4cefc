"""`create_module_app`: everything a module's composition root used to wire by hand.

Database (strategy, migrations, one engine per app), bus (outbox on the right database,
lifespan, the config-invalidation subscriptions), core client (tokens via JWKS, resolved
configuration), `/health`, `/metrics`, request ids, problem+json errors, the frontend files
and OpenAPI. A module passes its tables, routes, handlers and typed configuration.
"""

from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

import asyncpg
import httpx
from litestar import Litestar
from litestar.di import Provide
from litestar.handlers import asgi
from litestar.openapi import OpenAPIConfig
from litestar.types import ControllerRouterHandler
from piccolo.engine.postgres import PostgresEngine

from broker import EventBus, Router
from broker.schema import install_outbox as install
from contracts.api import ResolvedConfig
from modulekit.auth import provide_principal
from modulekit.config import ConfigClient, config_router
from modulekit.database import Database
from modulekit.frontend import module_frontend
from modulekit.health import Probe, health_route
from modulekit.http import metrics_app, request_id_middleware
from modulekit.migrations import migrate
from modulekit.paging import page_of
from modulekit.problems import PROBLEM_HANDLERS, reject_bad_input
from modulekit.settings import ModuleSettings
from modulekit.tokens import TokenVerifier

TablesT = TypeVar("TablesT")
ConfigT = TypeVar("ConfigT")


@dataclass(frozen=True, slots=True)
class ModuleParts(Generic[TablesT, ConfigT]):
    """What one app instance is built from; handlers (`subscribers`) are bound to it."""

    service: str
    settings: ModuleSettings
    db: Database[TablesT]
    bus: EventBus
    config: ConfigClient[ConfigT]
    http: httpx.AsyncClient


def provide(value: object) -> Provide:
    """A dependency that is always `value` (this app's db, bus, config)."""
    return Provide(lambda: value, sync_to_thread=False)


def create_module_app(
    *,
    service: str,
    version: str,
    settings: ModuleSettings,
    parse_config: Callable[[ResolvedConfig], ConfigT],
    route_handlers: Sequence[ControllerRouterHandler],
    migrations: str | None = None,
    make_tables: Callable[[str, PostgresEngine], TablesT] | None = None,
    subscribers: Callable[[ModuleParts[TablesT, ConfigT]], Iterable[Router]] = lambda _: (),
    frontend: Path | None = None,
    bus: EventBus | None = None,
    core_client: httpx.AsyncClient | None = None,
    dependencies: Mapping[str, Probe] | None = None,
) -> Litestar:
    """One app instance of module `service` (tests make many; only `create_app` reads settings).

    `migrations` is the package of the module's `.sql` files (applied at start-up when
    `settings.run_migrations`); `dependencies` adds health probes to the built-in `core` one
    (core's JWKS answers); `make_tables` binds the module's Piccolo tables, if it has any, to
    this app's engine; `frontend` is the folder served at `/modules/<service>/`.
    """
    separate = settings.database_strategy == "separate"
    db: Database[TablesT] = Database(settings.data_url, settings.schema_prefix, make_tables,  # type: ignore[assignment]
                                     pool_size=settings.pool_size)
    if bus is None:
        bus = EventBus(service=service, dsn=settings.bus_url, outbox_dsn=settings.data_url if separate else None,
                       settings=settings.bus)
    owns_http = core_client is None
    http = core_client or httpx.AsyncClient()
    config = ConfigClient(http, module=service, base_url=settings.core_url, api_key=settings.module_api_key,
                          parse=parse_config, ttl=settings.config_cache_seconds)
    parts = ModuleParts(service=service, settings=settings, db=db, bus=bus, config=config, http=http)
    bus.include_router(config_router(config, broadcast=bus.settings.transport != "rabbitmq"))
    for router in subscribers(parts):
        bus.include_router(router)

    @asynccontextmanager
    async def database(_: Litestar) -> AsyncIterator[None]:
        if settings.run_migrations:
            if separate:
                await install_outbox(settings.data_url)
            if migrations:
                await migrate(settings.data_url, service, migrations, prefix=settings.schema_prefix)
        await db.start()
        try:
            yield
        finally:
            await db.stop()
            if owns_http:
                await http.aclose()

    async def core_answers() -> None:
        (await http.get(settings.keys_url, timeout=2.0)).raise_for_status()

    probes = {"core": core_answers, **(dependencies or {})}
    routes: list[ControllerRouterHandler] = [
        health_route(service, version, db, bus, probes),
        asgi("/metrics", is_mount=True, copy_scope=True)(metrics_app),
        *route_handlers,
    ]
    if frontend is not None:
        routes.append(module_frontend(service, frontend))
    app = Litestar(
        route_handlers=routes,
        middleware=[request_id_middleware],  # type: ignore[list-item]  # plain ASGI, framework-free types
        dependencies={"db": provide(db), "bus": provide(bus), "config": provide(config),
                      "principal": Provide(provide_principal), "page": Provide(page_of, sync_to_thread=False)},
        lifespan=[database, bus.lifespan],
        exception_handlers=PROBLEM_HANDLERS,
        before_request=reject_bad_input,
        openapi_config=OpenAPIConfig(title=f"Buildify {service} module", version=version),
        debug=False,
    )
    app.state.verifier = TokenVerifier(http, settings.keys_url)
    app.state.parts = parts
    app.state.db = db
    app.state.bus = bus
    app.state.config = config
    app.state.settings = settings
    return app


async def install_outbox(url: str) -> None:
    """The bus's outbox/inbox tables in the module's own database (separate strategy)."""
    conn = await asyncpg.connect(url)
    try:
        await install(conn)
    finally:
        await conn.close()
