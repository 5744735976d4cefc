"""`GET /health` for the gateway's aggregated health page."""

from typing import Any

import msgspec
from litestar import Response, get

from broker import EventBus
from services.financial.app.db import Database

VERSION = "1.0.0"


@get("/health", tags=["health"])
async def health(db: Database, bus: EventBus) -> Response[dict[str, Any]]:
    """Healthy when the module's own database answers. The bus's state (e.g. RabbitMQ away) is
    shown but does not fail the check: the module still serves, and the gateway's health check
    would otherwise take it out of rotation."""
    try:
        async with db.engine.transaction() as tx:
            await tx.connection.fetchval("SELECT 1")
        status, code = "healthy", 200
    except Exception:
        status, code = "unhealthy", 503
    body = {"status": status, "service": "financial", "version": VERSION, "bus": msgspec.to_builtins(bus.health())}
    return Response(body, status_code=code)
