"""The module manifest (`manifest.json`): what core needs to register, route and configure a module."""

from typing import Any, Literal

import msgspec

MODULE_NAME = r"^[a-z][a-z0-9_]{1,39}$"


class Backend(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Where the module's HTTP service answers."""

    type: Literal["microservice"] = "microservice"
    api_prefix: str  # "/api/v1/financial"
    port: int | None = None  # local development port
    upstream: str | None = None  # e.g. "http://financial:8001"; overrides 127.0.0.1:port
    health_path: str = "/health"


class Database(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    strategy: Literal["shared", "separate"] = "shared"
    schema_prefix: str = ""


class MenuEntry(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    label: str
    path: str  # SPA route, e.g. "financial/invoices"
    permission: str | None = None
    icon: str | None = None


class Frontend(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    entry: str  # ES module URL, e.g. "/modules/financial/module.js"
    menu: list[MenuEntry] = msgspec.field(default_factory=list)


class Permission(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str  # "financial.invoices.write"
    description: str = ""


class Feature(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    description: str = ""
    default: bool = True


class Events(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    publishes: list[str] = msgspec.field(default_factory=list)
    consumes: list[str] = msgspec.field(default_factory=list)  # topic patterns


class Requires(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    platform: str | None = None  # version range, e.g. ">=0.1.0,<2.0.0"
    modules: dict[str, str] = msgspec.field(default_factory=dict)  # name -> version range


class Repository(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    url: str


class Manifest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A module's manifest. `config_schema` is a JSON Schema (type object) whose property
    `default`s are the module-level tier of the three-tier configuration."""

    name: str
    display_name: str
    version: str
    description: str = ""
    backend: Backend
    database: Database = msgspec.field(default_factory=Database)
    frontend: Frontend | None = None
    permissions: list[Permission] = msgspec.field(default_factory=list)
    config_schema: dict[str, Any] = msgspec.field(default_factory=lambda: {"type": "object", "properties": {}})
    features: list[Feature] = msgspec.field(default_factory=list)
    events: Events = msgspec.field(default_factory=Events)
    requires: Requires = msgspec.field(default_factory=Requires)
    repository: Repository | None = None
