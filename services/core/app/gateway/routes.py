"""Render Traefik dynamic configuration for the registered modules.

Traefik's HTTP provider polls `GET /api/v1/gateway/traefik`; registering a module therefore
routes it within one poll interval, with no file edited (the seed's "Update Nginx Config"
step disappears). Shared middlewares (security headers, CORS, rate limit) are defined once in
the file provider and referenced here by name.
"""

import re
from collections.abc import Iterable
from typing import Any

from contracts.manifest import MODULE_NAME, Manifest

MODULE_NAME_RE = re.compile(MODULE_NAME)
HEALTH_PATH_RE = re.compile(r"^/[A-Za-z0-9_~-]+(?:/[A-Za-z0-9_~.-]+)*$")


def upstream_of(manifest: Manifest, overrides: dict[str, str]) -> str:
    """Where the module answers: an explicit override, the manifest's upstream, or its local port."""
    if manifest.name in overrides:
        return overrides[manifest.name].rstrip("/")
    if manifest.backend.upstream:
        return manifest.backend.upstream.rstrip("/")
    if manifest.backend.port:
        return f"http://127.0.0.1:{manifest.backend.port}"
    raise ValueError(f"module {manifest.name} has neither backend.upstream nor backend.port")


def rule_value(value: str) -> str:
    """`value` as a Traefik rule string literal. Backtick literals cannot escape anything, so a value
    that could end the literal (a backtick) or hide in it (a control character) is refused, never
    pasted in: a manifest must not be able to add `|| PathPrefix(`/`)` to its own rule."""
    if "`" in value or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in value):
        raise ValueError(f"{value!r} cannot be written into a Traefik rule")
    return f"`{value}`"


def prefix_rule(prefix: str) -> str:
    """Match `prefix` and what lies below it, but not `prefix` + more letters (`/financialx`)."""
    prefix = prefix.rstrip("/")
    return f"Path({rule_value(prefix)}) || PathPrefix({rule_value(prefix + '/')})"


def routable(manifest: Manifest) -> bool:
    """Only manifests that pass today's checks get routes (rows registered before them do not)."""
    backend = manifest.backend
    health = backend.health_path
    return (
        backend.api_prefix == f"/api/v1/{manifest.name}"
        and MODULE_NAME_RE.match(manifest.name) is not None
        and HEALTH_PATH_RE.match(health) is not None
        and ".." not in health.split("/")
    )


def render(
    manifests: Iterable[Manifest],
    *,
    upstreams: dict[str, str],
    middlewares: list[str],
    entry_points: list[str],
) -> dict[str, Any]:
    """Routers, services and per-module middlewares as Traefik's dynamic configuration."""
    routers: dict[str, Any] = {}
    services: dict[str, Any] = {}
    own_middlewares: dict[str, Any] = {}
    for manifest in manifests:
        name = manifest.name
        if not routable(manifest):
            continue
        try:
            url = upstream_of(manifest, upstreams)
        except ValueError:
            continue
        # Traefik checks the module's health itself, so a module that is down or hung is taken out
        # of rotation and its routes answer 503 at once instead of holding clients until a timeout.
        health_check = {"path": manifest.backend.health_path, "interval": "1s", "timeout": "1s"}
        services[name] = {"loadBalancer": {"servers": [{"url": url}], "passHostHeader": True,
                                           "healthCheck": health_check}}
        common = {"service": name, "entryPoints": entry_points}
        routers[f"{name}-api"] = {
            **common, "rule": prefix_rule(manifest.backend.api_prefix), "priority": 100, "middlewares": middlewares,
        }
        routers[f"{name}-frontend"] = {
            **common, "rule": f"PathPrefix({rule_value(f'/modules/{name}/')})", "priority": 90,
            "middlewares": middlewares,
        }
        health_path = f"{name}-health-path"
        own_middlewares[health_path] = {"replacePath": {"path": manifest.backend.health_path}}
        routers[f"{name}-health"] = {
            **common, "rule": f"Path({rule_value(f'/health/{name}')})", "priority": 110,
            "middlewares": [*middlewares, health_path],
        }
    # Traefik refuses an empty map ("routers cannot be a standalone element", and "http cannot be"
    # when no module is registered yet): leave every empty one out, down to an empty document.
    parts = {"routers": routers, "services": services, "middlewares": own_middlewares}
    http = {key: value for key, value in parts.items() if value}
    return {"http": http} if http else {}
