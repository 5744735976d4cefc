"""Composition root of the warehouse service: the only place that reads settings.

Run: `uvicorn services.warehouse.app.main:create_app --factory --port 8002`.
"""

from pathlib import Path

import httpx
from litestar import Litestar

from broker import EventBus, Router
from modulekit.app import ModuleParts, create_module_app
from modulekit.logs import configure as configure_logs
from modulekit.settings import load_settings
from services.warehouse.app import handlers
from services.warehouse.app.catalog.controllers import ItemController, WarehouseController
from services.warehouse.app.config import WarehouseConfig
from services.warehouse.app.reservations.controllers import ReservationController
from services.warehouse.app.schema import MIGRATIONS
from services.warehouse.app.settings import Settings
from services.warehouse.app.stock.controllers import StockController
from services.warehouse.app.upcasting import upcasters

VERSION = "1.0.0"
FRONTEND = Path(__file__).resolve().parent.parent / "frontend"


def no_tables(prefix: str, engine: object) -> None:
    """The warehouse queries its tables in SQL (see `schema.Names`); it binds no ORM classes."""
    return None


def subscribers(parts: ModuleParts[None, WarehouseConfig]) -> list[Router]:
    return [handlers.build_router(parts.db, parts.config.get)]


def create_app(
    settings: Settings | None = None, *, bus: EventBus | None = None,
    core_client: httpx.AsyncClient | None = None,
) -> Litestar:
    """One app instance (tests make many, passing their own settings, bus and core client)."""
    if settings is None:  # a real process (tests keep pytest's logging)
        configure_logs("warehouse")
        settings = load_settings(Settings, service="warehouse")
    app = create_module_app(
        service="warehouse", version=VERSION, settings=settings, make_tables=no_tables,
        parse_config=WarehouseConfig.from_resolved,
        route_handlers=[ItemController, WarehouseController, StockController, ReservationController],
        migrations=MIGRATIONS, subscribers=subscribers, frontend=FRONTEND, bus=bus, core_client=core_client,
    )
    app.state.bus.upcast = upcasters.upcast  # invoices announced before lines travelled still decode
    return app
