"""The manifest is what core registers and routes by: it must say what the warehouse really does."""

import re
from pathlib import Path

import msgspec

import contracts.warehouse
from broker import EventBus
from contracts.envelope import Event
from contracts.manifest import Manifest
from modulekit.testing import QUIET_BUS
from services.warehouse.app import permissions
from services.warehouse.app.main import create_app
from services.warehouse.app.settings import Settings

MANIFEST = Path(__file__).resolve().parents[1] / "manifest.json"
SOURCES = MANIFEST.parent / "app"


def manifest() -> Manifest:
    return msgspec.json.decode(MANIFEST.read_bytes(), type=Manifest)


def test_routes_events_and_permissions_match_the_manifest(pg_server_url: str) -> None:
    bus = EventBus(service="warehouse", dsn=pg_server_url, settings=QUIET_BUS)
    app = create_app(Settings(database_url=pg_server_url, core_url="http://core", module_api_key="warehouse-module-key",
                              bus=QUIET_BUS), bus=bus)
    prefix = manifest().backend.api_prefix
    api = {route.path for route in app.routes if route.path.startswith("/api/")}
    assert api and all(p == prefix or p.startswith(prefix + "/") for p in api), api
    assert {handler.pattern for handler in bus.handlers} == set(manifest().events.consumes)
    published = {cls.__struct_config__.tag for cls in vars(contracts.warehouse).values()
                 if isinstance(cls, type) and issubclass(cls, Event) and cls.__struct_config__.tag}
    assert published == set(manifest().events.publishes)
    declared = {p.name for p in manifest().permissions}
    used = {v for k, v in vars(permissions).items() if re.fullmatch(r"[A-Z_]+", k)}
    assert used == declared
    assert {m.permission for m in manifest().frontend.menu} <= declared  # type: ignore[union-attr]


def test_the_config_schema_defaults_are_the_codes_defaults() -> None:
    from services.warehouse.app.config import DEFAULTS

    schema = manifest().config_schema
    assert {k: v["default"] for k, v in schema["properties"].items()} == DEFAULTS
