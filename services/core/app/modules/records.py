"""How the registry's rows read and write: JSON columns, manifests, the three-tier resolution,
and the configuration check against a manifest's config_schema.
"""

from dataclasses import dataclass
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from contracts.api import Tier
from contracts.manifest import Manifest
from modulekit.errors import FieldProblem
from services.core.app.errors import Invalid
from services.core.app.modules import config_schema
from services.core.app.modules.schemas import (
    ConfigValue,
    ModuleOut,
)


def dump_json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def load_json(value: Any, default: Any) -> Any:
    if value is None:
        return default
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else value


def manifest_of(row: asyncpg.Record) -> Manifest:
    return msgspec.convert(load_json(row["manifest"], {}), Manifest)


def module_out(row: asyncpg.Record) -> ModuleOut:
    return ModuleOut(name=row["name"], display_name=row["display_name"], version=row["version"],
                     manifest=manifest_of(row), registered_at=row["registered_at"], updated_at=row["updated_at"])


def resolve_values(manifest: Manifest, tenant: dict[str, Any], company: dict[str, Any]) -> dict[str, ConfigValue]:
    """Manifest defaults <- tenant <- company, with the tier each key came from."""
    resolved: dict[str, ConfigValue] = {}
    tiers: list[tuple[Tier, dict[str, Any]]] = [
        ("default", config_schema.defaults(manifest.config_schema)), ("tenant", tenant), ("company", company)
    ]
    for tier, values in tiers:
        for key, value in values.items():
            resolved[key] = ConfigValue(value=value, source=tier)
    return resolved


def check_configuration(manifest: Manifest, overrides: dict[str, Any], merged: dict[str, Any]) -> None:
    """Refuse a configuration that breaks the manifest's config_schema, naming every failing key."""
    schema = config_schema.known_keys_only(manifest.config_schema)
    problems = config_schema.validate(overrides, {**schema, "required": []})
    problems += [p for p in config_schema.validate(merged, schema) if p[1] == "is required"]
    if problems:
        detail = "; ".join(f"`configuration.{path}` {message}" for path, message in problems)
        raise Invalid(f"The configuration breaks {manifest.name}'s config_schema: {detail}.",
                      errors=[FieldProblem(field=f"configuration.{path}", message=m) for path, m in problems])


def features_on(manifest: Manifest, enabled: list[str], disabled: list[str]) -> list[str]:
    on = {f.name for f in manifest.features if f.default} | set(enabled)
    return [f.name for f in manifest.features if f.name in on and f.name not in disabled]


@dataclass(slots=True)
class Actor:
    user_id: UUID | None
