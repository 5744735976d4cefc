"""Manifest validation that lists every problem at once, not only the first msgspec finds."""

import re
from typing import Any

import msgspec

from broker import InvalidPattern, validate_pattern
from contracts.envelope import is_valid_event_type
from contracts.manifest import MODULE_NAME, Manifest
from modulekit.errors import FieldProblem
from services.core.app.errors import Invalid
from services.core.app.modules import config_schema, versions


def _type_problems(raw: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    fields = {f.encode_name: f for f in msgspec.structs.fields(Manifest)}
    for key in raw:
        if key not in fields:
            problems.append(f"`{key}`: unknown manifest field")
    for name, f in fields.items():
        if name not in raw:
            if f.required:
                problems.append(f"`{name}`: is required")
            continue
        try:
            msgspec.convert(raw[name], f.type, strict=True)
        except msgspec.ValidationError as exc:
            problems.append(f"`{name}`: {exc}".replace("at `$", f"at `{name}"))
    return problems


# First path segments under /api/v1 that core answers itself: a module named so would take them over.
RESERVED_NAMES = frozenset({
    "admin", "auth", "me", "tenants", "companies", "users", "roles", "permissions", "modules", "gateway",
    "health", "metrics", "schema", "core", "platform", "bus", "internal", "static", "api",
})
HEALTH_PATH = re.compile(r"^/[A-Za-z0-9_~-]+(?:/[A-Za-z0-9_~.-]+)*$")  # a path: no host, query, `..` or `//`
UPSTREAM = re.compile(r"^https?://[A-Za-z0-9.-]+(?::[0-9]{1,5})?/?$")  # scheme, host and port; nothing else


def _backend_problems(m: Manifest) -> list[str]:
    problems: list[str] = []
    expected = f"/api/v1/{m.name}"
    if m.name in RESERVED_NAMES:
        problems.append(f"`name`: {m.name!r} is reserved for core's own paths")
    if m.backend.api_prefix != expected:
        problems.append(f"`backend.api_prefix`: {m.backend.api_prefix!r} must be exactly {expected!r}")
    health = m.backend.health_path
    if not HEALTH_PATH.match(health) or any(part in {".", ".."} for part in health.split("/")):
        problems.append(f"`backend.health_path`: {health!r} must be a plain path such as '/health' "
                        "(letters, digits, - _ . ~ separated by single /; no host, query or `..`)")
    if m.backend.upstream is not None and not UPSTREAM.match(m.backend.upstream):
        problems.append(f"`backend.upstream`: {m.backend.upstream!r} must be http(s)://host[:port] "
                        "(no user, path or query)")
    if m.backend.port is not None and not 1 <= m.backend.port <= 65535:
        problems.append(f"`backend.port`: {m.backend.port} must be between 1 and 65535")
    if m.frontend is not None and not m.frontend.entry.startswith(f"/modules/{m.name}/"):
        problems.append(f"`frontend.entry`: {m.frontend.entry!r} must lie under '/modules/{m.name}/'")
    return problems


def _semantic_problems(m: Manifest) -> list[str]:
    problems: list[str] = []
    if not re.match(MODULE_NAME, m.name):
        problems.append(f"`name`: {m.name!r} must be lower-case letters, digits or _ (2-40, starting with a letter)")
    try:
        versions.check_version(m.version)
    except versions.BadVersion as exc:
        problems.append(f"`version`: {exc}")
    problems += _backend_problems(m)
    if m.backend.port is None and m.backend.upstream is None:
        problems.append("`backend`: give `port` or `upstream` so the gateway can route to the module")
    for i, p in enumerate(m.permissions):
        if not p.name.startswith(f"{m.name}."):
            problems.append(f"`permissions[{i}].name`: {p.name!r} must start with {m.name + '.'!r}")
    names = [p.name for p in m.permissions]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"`permissions`: {dup!r} is declared twice")
    features = [f.name for f in m.features]
    for dup in sorted({n for n in features if features.count(n) > 1}):
        problems.append(f"`features`: {dup!r} is declared twice")
    for i, event in enumerate(m.events.publishes):
        if not is_valid_event_type(event) or not event.startswith(f"{m.name}."):
            problems.append(f"`events.publishes[{i}]`: {event!r} must be `{m.name}.<aggregate>.<fact>`")
    for i, pattern in enumerate(m.events.consumes):
        try:
            validate_pattern(pattern)
        except InvalidPattern as exc:
            problems.append(f"`events.consumes[{i}]`: {exc}")
    if m.requires.platform is not None:
        try:
            versions.check_range(m.requires.platform)
        except versions.BadVersion as exc:
            problems.append(f"`requires.platform`: {exc}")
    for dep, spec in m.requires.modules.items():
        if dep == m.name:
            problems.append(f"`requires.modules.{dep}`: a module cannot require itself")
        try:
            versions.check_range(spec)
        except versions.BadVersion as exc:
            problems.append(f"`requires.modules.{dep}`: {exc}")
    schema = m.config_schema
    if schema.get("type") != "object":
        problems.append("`config_schema.type`: must be \"object\"")
    elif not isinstance(schema.get("properties", {}), dict):
        problems.append("`config_schema.properties`: must be an object")
    else:
        found = config_schema.schema_problems(schema) or config_schema.default_problems(schema)
        problems += [f"`{path}`: {message}" for path, message in found]
    if m.frontend is not None:
        known = set(names)
        for i, entry in enumerate(m.frontend.menu):
            if entry.permission is not None and entry.permission not in known:
                problems.append(f"`frontend.menu[{i}].permission`: {entry.permission!r} is not in `permissions`")
    return problems


def _field_problem(problem: str) -> FieldProblem:
    """"`backend.port`: must be ..." as a field problem (the field without its backticks)."""
    field, _, message = problem.partition(": ")
    return FieldProblem(field=field.strip("`"), message=message)


def parse_manifest(body: bytes) -> Manifest:
    """The manifest in `body`, or Invalid listing every problem found."""
    try:
        raw = msgspec.json.decode(body)
    except msgspec.DecodeError as exc:
        raise Invalid(f"The manifest (body) is not valid JSON: {exc}.", field="body") from exc
    if not isinstance(raw, dict):
        raise Invalid("The manifest (body) must be a JSON object.", field="body")
    problems = _type_problems(raw)
    manifest: Manifest | None = None
    if not problems:
        manifest = msgspec.convert(raw, Manifest)
        problems = _semantic_problems(manifest)
    if problems or manifest is None:
        raise Invalid(
            f"The manifest has {len(problems)} problem(s): " + "; ".join(problems),
            errors=[_field_problem(p) for p in problems],
        )
    return manifest
