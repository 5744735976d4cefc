"""Core's composition root: the one place that reads settings and wires the app."""

from litestar import Litestar
from litestar.di import Provide
from litestar.handlers import asgi
from litestar.openapi import OpenAPIConfig

from broker import EventBus
from modulekit.frontend import ui_kit_files
from modulekit.http import metrics_app, request_id_middleware
from modulekit.logs import configure as configure_logs
from modulekit.problems import reject_bad_input
from services.core.app.asyncapi import ASYNCAPI
from services.core.app.auth.controllers import AuthController
from services.core.app.auth.principal import provide_principal
from services.core.app.auth.throttle import LoginThrottle
from services.core.app.auth.tokens import TokenService
from services.core.app.busadmin.controllers import BusAdminController
from services.core.app.companies.changes import CompanyAdminController
from services.core.app.context import CoreContext
from services.core.app.db import Database
from services.core.app.errors import EXCEPTION_HANDLERS
from services.core.app.gateway.controllers import traefik_config
from services.core.app.health import DEFAULT_CHECKS, health_handler
from services.core.app.modules.controllers import ModuleController
from services.core.app.rbac.controllers import RoleController
from services.core.app.rbac.edit import RoleEditController
from services.core.app.settings import Settings
from services.core.app.tenants.controllers import TenantController
from services.core.app.users.admin import UserAdminController
from services.core.app.webapp import WEB_APP


def create_app(settings: Settings | None = None, *, bus: EventBus | None = None) -> Litestar:
    """Build core. Starting the app opens its pool on `settings.database_url` and starts the bus."""
    if settings is None:  # a real process (tests pass their own settings and keep pytest's logging)
        configure_logs("core")
        settings = Settings.from_env()
    bus = bus or EventBus(service="core", dsn=settings.database_url, settings=settings.bus)
    throttle = LoginThrottle(per_account=settings.login_failures_per_account,
                             per_address=settings.login_failures_per_address, window=settings.login_failure_window)
    core = CoreContext(settings=settings, bus=bus, tokens=TokenService(settings), login_throttle=throttle)

    database = Database(settings.database_url, settings.db_pool_size)
    return Litestar(
        route_handlers=[
            AuthController, TenantController, CompanyAdminController, UserAdminController, RoleController,
            RoleEditController,
            ModuleController, BusAdminController, health_handler(dict(DEFAULT_CHECKS)), traefik_config,
            asgi("/metrics", is_mount=True, copy_scope=True)(metrics_app), *ASYNCAPI, *WEB_APP, ui_kit_files,
        ],
        middleware=[database.middleware, request_id_middleware],  # type: ignore[list-item]  # plain ASGI callables
        dependencies={
            "core": Provide(lambda: core, sync_to_thread=False),
            "principal": Provide(provide_principal),
        },
        lifespan=[database.lifespan, bus.lifespan],
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=reject_bad_input,
        state={"core": core},  # type: ignore[arg-type]
        openapi_config=OpenAPIConfig(title="Buildify core", version=settings.platform_version, path="/schema"),
        debug=False,
    )
