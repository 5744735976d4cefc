"""`GET /api/v1/gateway/traefik`: the module routes, for Traefik's HTTP provider."""

from typing import Any

import msgspec
from litestar import Request, get

from contracts.manifest import Manifest
from services.core.app.context import CoreContext
from services.core.app.db import engine
from services.core.app.errors import NotAuthenticated
from services.core.app.gateway.routes import render
from services.core.app.modules.registry import _load


async def registered_manifests() -> list[Manifest]:
    """Every registered module's manifest, by name."""
    async with engine.transaction() as tx:
        rows = await tx.connection.fetch("SELECT manifest FROM modules ORDER BY name")
    return [msgspec.convert(_load(row["manifest"], {}), Manifest) for row in rows]


async def enabled_manifests() -> list[Manifest]:
    """Manifests of the modules enabled for at least one tenant."""
    async with engine.transaction() as tx:
        rows = await tx.connection.fetch(
            "SELECT m.manifest FROM modules m WHERE EXISTS ("
            " SELECT 1 FROM tenant_modules t WHERE t.module_id = m.id AND t.is_enabled) ORDER BY m.name"
        )
    return [msgspec.convert(_load(row["manifest"], {}), Manifest) for row in rows]


@get(
    "/api/v1/gateway/traefik",
    tags=["gateway"],
    summary="Traefik dynamic configuration for every registered module",
    description="Polled by Traefik's HTTP provider. When GATEWAY_CONFIG_KEY is set, the request must carry it "
    "in `X-Gateway-Key`.",
)
async def traefik_config(request: Request[Any, Any, Any], core: CoreContext) -> dict[str, Any]:
    settings = core.settings
    if settings.gateway_config_key and request.headers.get("x-gateway-key") != settings.gateway_config_key:
        raise NotAuthenticated("The X-Gateway-Key header is missing or wrong.")
    manifests = await registered_manifests()
    return render(
        manifests,
        upstreams=settings.module_upstreams,
        middlewares=settings.gateway_middlewares,
        entry_points=settings.gateway_entry_points,
    )
