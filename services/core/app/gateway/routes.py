"""Render Traefik dynamic configuration for the registered modules.

Traefik's HTTP provider polls `GET /api/v1/gateway/traefik`; registering a module therefore
routes it within one poll interval, with no file edited (the seed's "Update Nginx Config"
step disappears). Shared middlewares (security headers, CORS, rate limit) are defined once in
the file provider and referenced here by name.
"""

from collections.abc import Iterable
from typing import Any

from contracts.manifest import Manifest


def upstream_of(manifest: Manifest, overrides: dict[str, str]) -> str:
    """Where the module answers: an explicit override, the manifest's upstream, or its local port."""
    if manifest.name in overrides:
        return overrides[manifest.name].rstrip("/")
    if manifest.backend.upstream:
        return manifest.backend.upstream.rstrip("/")
    if manifest.backend.port:
        return f"http://127.0.0.1:{manifest.backend.port}"
    raise ValueError(f"module {manifest.name} has neither backend.upstream nor backend.port")


def prefix_rule(prefix: str) -> str:
    """Match `prefix` and what lies below it, but not `prefix` + more letters (`/financialx`)."""
    prefix = prefix.rstrip("/")
    return f"Path(`{prefix}`) || PathPrefix(`{prefix}/`)"


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
            **common, "rule": f"PathPrefix(`/modules/{name}/`)", "priority": 90, "middlewares": middlewares,
        }
        health_path = f"{name}-health-path"
        own_middlewares[health_path] = {"replacePath": {"path": manifest.backend.health_path}}
        routers[f"{name}-health"] = {
            **common, "rule": f"Path(`/health/{name}`)", "priority": 110,
            "middlewares": [*middlewares, health_path],
        }
    # Traefik refuses an empty map ("routers cannot be a standalone element"): leave them out.
    http = {"routers": routers, "services": services, "middlewares": own_middlewares}
    return {"http": {key: value for key, value in http.items() if value}}
