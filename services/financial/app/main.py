"""Composition root of the financial service: the only place that reads settings.

Run: `uvicorn services.financial.app.main:create_app --factory --port 8001`.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from litestar import Litestar
from litestar.di import Provide
from litestar.handlers import asgi
from litestar.openapi import OpenAPIConfig

from broker import EventBus
from modulekit.app import install_outbox
from modulekit.http import metrics_app, request_id_middleware
from modulekit.logs import configure as configure_logs
from services.financial.app.accounts import handlers as account_handlers
from services.financial.app.accounts.controllers import AccountController
from services.financial.app.auth import TokenVerifier
from services.financial.app.cogs import handlers as cogs_handlers
from services.financial.app.config_client import ConfigClient
from services.financial.app.db import Database
from services.financial.app.error_mapper import HANDLERS, reject_bad_input
from services.financial.app.frontend import frontend_files
from services.financial.app.health import VERSION, health
from services.financial.app.invoices import handlers as config_handlers
from services.financial.app.invoices.controllers import InvoiceController
from services.financial.app.journal.controllers import JournalController
from services.financial.app.migrations import migrate
from services.financial.app.payments.controllers import PaymentController
from services.financial.app.reports.controllers import ReportController
from services.financial.app.settings import Settings


def create_app(
    settings: Settings | None = None, *, bus: EventBus | None = None, core_client: httpx.AsyncClient | None = None
) -> Litestar:
    """Wire database, bus, core client and routes for one app instance (tests make many)."""
    if settings is None:  # a real process (tests pass their own settings and keep pytest's logging)
        configure_logs("financial")
        settings = Settings.from_env()
    separate = settings.database_strategy == "separate"
    db = Database(settings.data_url, settings.schema_prefix, pool_size=settings.pool_size)
    if bus is None:
        bus = EventBus(
            service="financial", dsn=settings.bus_url, outbox_dsn=settings.data_url if separate else None,
            settings=settings.bus,
        )
    owns_http = core_client is None
    http = core_client or httpx.AsyncClient()
    config = ConfigClient(
        http, base_url=settings.core_platform_url, api_key=settings.module_api_key,
        ttl=settings.config_cache_seconds,
    )
    bus.include_router(account_handlers.build_router(db, config))
    bus.include_router(config_handlers.build_router(config))
    bus.include_router(cogs_handlers.build_router(db))
    verifier = TokenVerifier(http, settings.jwks_url, algorithms=settings.jwt_algorithms)

    @asynccontextmanager
    async def database(_: Litestar) -> AsyncIterator[None]:
        if settings.run_migrations:
            if separate:
                await install_outbox(settings.data_url)
            await migrate(settings.data_url, settings.schema_prefix)
        await db.start()
        try:
            yield
        finally:
            await db.stop()
            if owns_http:
                await http.aclose()

    def provide(value: object) -> Provide:
        return Provide(lambda: value, sync_to_thread=False)

    app = Litestar(
        route_handlers=[
            health, AccountController, JournalController, InvoiceController, PaymentController, ReportController,
            frontend_files, asgi("/metrics", is_mount=True, copy_scope=True)(metrics_app),
        ],
        middleware=[request_id_middleware],
        dependencies={"db": provide(db), "bus": provide(bus), "config": provide(config)},
        lifespan=[database, bus.lifespan],
        exception_handlers=HANDLERS,
        before_request=reject_bad_input,
        openapi_config=OpenAPIConfig(title="Buildify financial module", version=VERSION),
        debug=False,
    )
    app.state.verifier = verifier
    app.state.db = db
    app.state.bus = bus
    app.state.config = config
    app.state.settings = settings
    return app
