"""`GET /api/v1/gateway/traefik`: the module routes, for Traefik's HTTP provider."""

import hmac
from typing import Any

import msgspec
from litestar import Request, get

from contracts.manifest import Manifest
from services.core.app.context import CoreContext
from services.core.app.db import engine
from services.core.app.errors import Forbidden, NotAuthenticated
from services.core.app.gateway.routes import render
from services.core.app.modules.records import load_json


async def registered_manifests() -> list[Manifest]:
    """Every registered module's manifest, by name."""
    async with engine.transaction() as tx:
        rows = await tx.connection.fetch("SELECT manifest FROM modules ORDER BY name")
    return [msgspec.convert(load_json(row["manifest"], {}), Manifest) for row in rows]


async def enabled_manifests() -> list[Manifest]:
    """Manifests of the modules enabled for at least one tenant."""
    async with engine.transaction() as tx:
        rows = await tx.connection.fetch(
            "SELECT m.manifest FROM modules m WHERE EXISTS ("
            " SELECT 1 FROM tenant_modules t WHERE t.module_id = m.id AND t.is_enabled) ORDER BY m.name"
        )
    return [msgspec.convert(load_json(row["manifest"], {}), Manifest) for row in rows]


@get(
    "/api/v1/gateway/traefik",
    tags=["gateway"],
    summary="Traefik dynamic configuration for every registered module",
    description="Polled by Traefik's HTTP provider, on the inside only (the gateway answers 403 for it). The "
    "request must carry GATEWAY_CONFIG_KEY in `X-Gateway-Key`; without a configured key the endpoint is closed.",
)
async def traefik_config(request: Request[Any, Any, Any], core: CoreContext) -> dict[str, Any]:
    settings = core.settings
    if not settings.gateway_config_key:
        raise Forbidden("The route feed is closed: core has no GATEWAY_CONFIG_KEY configured.")
    sent = request.headers.get("x-gateway-key", "")
    if not hmac.compare_digest(sent.encode(), settings.gateway_config_key.encode()):
        raise NotAuthenticated("The X-Gateway-Key header is missing or wrong.")
    manifests = await registered_manifests()
    return render(
        manifests,
        upstreams=settings.module_upstreams,
        middlewares=settings.gateway_middlewares,
        entry_points=settings.gateway_entry_points,
    )
