"""The manifest is what core registers and routes by: it must say what the module really does."""

import re
from pathlib import Path

import msgspec
from litestar import Litestar

import contracts.financial
from broker import EventBus
from contracts.envelope import Event
from contracts.manifest import Manifest
from services.financial.app import permissions
from services.financial.app.main import create_app
from services.financial.app.settings import Settings
from tests.services.financial.conftest import FAST, MODULE_KEY

MANIFEST = Path(__file__).resolve().parents[3] / "services" / "financial" / "manifest.json"


def manifest() -> Manifest:
    return msgspec.json.decode(MANIFEST.read_bytes(), type=Manifest)


def financial_app(database_url: str) -> tuple[Litestar, EventBus]:
    """The app as a process builds it, without starting it."""
    bus = EventBus(service="financial", dsn=database_url, settings=FAST)
    app = create_app(Settings(database_url=database_url, core_url="http://core", module_api_key=MODULE_KEY,
                              bus=FAST), bus=bus)
    return app, bus


def test_every_api_route_lies_under_the_prefix_the_gateway_routes(pg_server_url: str) -> None:
    app, _ = financial_app(pg_server_url)
    prefix = manifest().backend.api_prefix
    api_paths = {route.path for route in app.routes if route.path.startswith("/api/")}
    assert api_paths, "the app serves no API"
    outside = {p for p in api_paths if p != prefix and not p.startswith(prefix + "/")}
    assert outside == set(), f"routes the gateway would not send to financial: {outside}"
    served = {route.path for route in app.routes}
    assert manifest().backend.health_path in served


def test_the_events_declared_are_the_events_handled_and_published(pg_server_url: str) -> None:
    _, bus = financial_app(pg_server_url)
    assert {handler.pattern for handler in bus.handlers} == set(manifest().events.consumes)
    published = {
        cls.__struct_config__.tag for cls in vars(contracts.financial).values()
        if isinstance(cls, type) and issubclass(cls, Event) and cls is not Event and cls.__struct_config__.tag
    }
    assert published == set(manifest().events.publishes)


def test_every_permission_the_code_checks_is_declared() -> None:
    declared = {p.name for p in manifest().permissions}
    used = {v for k, v in vars(permissions).items() if re.fullmatch(r"[A-Z_]+", k)}
    assert used == declared
    assert {m.permission for m in manifest().frontend.menu} <= declared  # type: ignore[union-attr]
