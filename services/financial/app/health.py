"""`GET /health` for the gateway's aggregated health page."""

from typing import Any

from litestar import Response, get

from services.financial.app.db import Database

VERSION = "1.0.0"


@get("/health", tags=["health"])
async def health(db: Database) -> Response[dict[str, Any]]:
    """Healthy when the module's own database answers."""
    try:
        async with db.engine.transaction() as tx:
            await tx.connection.fetchval("SELECT 1")
        status, code = "healthy", 200
    except Exception:
        status, code = "unhealthy", 503
    return Response({"status": status, "service": "financial", "version": VERSION}, status_code=code)
