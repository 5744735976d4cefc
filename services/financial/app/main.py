"""Composition root of the financial service: the only place that reads settings.

Run: `uvicorn services.financial.app.main:create_app --factory --port 8001`.
"""

from pathlib import Path

import httpx
from litestar import Litestar
from litestar import Router as HttpRouter

from broker import EventBus, Router
from modulekit import ModuleParts, authenticate, create_module_app, load_settings
from modulekit.logs import configure as configure_logs
from services.financial.app.accounts import handlers as account_handlers
from services.financial.app.accounts.controllers import AccountController
from services.financial.app.cogs import handlers as cogs_handlers
from services.financial.app.config import FinancialConfig
from services.financial.app.invoices.controllers import InvoiceController
from services.financial.app.journal.controllers import JournalController
from services.financial.app.payments.controllers import PaymentController
from services.financial.app.reports.controllers import ReportController
from services.financial.app.settings import Settings

VERSION = "1.0.0"
FRONTEND = Path(__file__).resolve().parent.parent / "frontend"


def subscribers(parts: ModuleParts[None, FinancialConfig]) -> list[Router]:
    return [account_handlers.build_router(parts.db, parts.config), cogs_handlers.build_router(parts.db)]


def api() -> HttpRouter:
    """Every endpoint under /api/v1/financial, each for a signed-in user only (its controller or route
    adds the permission it needs)."""
    return HttpRouter(path="/api/v1/financial", guards=[authenticate], route_handlers=[
        AccountController, JournalController, InvoiceController, PaymentController, ReportController,
    ])


def create_app(
    settings: Settings | None = None, *, bus: EventBus | None = None, core_client: httpx.AsyncClient | None = None
) -> Litestar:
    """One app instance (tests make many, with their own settings, bus and core client)."""
    if settings is None:  # a real process (tests pass their own settings and keep pytest's logging)
        configure_logs("financial")
        settings = load_settings(Settings, service="financial")
    return create_module_app(
        service="financial", version=VERSION, settings=settings,
        parse_config=FinancialConfig.from_resolved, migrations="services.financial.app.migrations",
        route_handlers=[api()],
        subscribers=subscribers, frontend=FRONTEND, bus=bus, core_client=core_client,
    )
