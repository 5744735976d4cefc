"""`GET /health` of a module, for the gateway's aggregated health page.

Healthy (200) when the module's own database answers. The bus (e.g. RabbitMQ away) and the
services it depends on (core) are shown but do not fail the check: the module still serves
what it can, and failing would take it out of the gateway's rotation.
"""

import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal

import msgspec
from litestar import Response, get
from litestar.handlers import HTTPRouteHandler

from broker import BusHealth, EventBus
from modulekit.database import Database

Probe = Callable[[], Awaitable[object]]


class Check(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    status: Literal["ok", "down"]
    latency_ms: float | None = None
    detail: str | None = None


class ModuleHealth(msgspec.Struct, frozen=True, kw_only=True):
    status: Literal["healthy", "unhealthy"]
    service: str
    version: str
    database: Check
    bus: BusHealth
    dependencies: dict[str, Check] = msgspec.field(default_factory=dict)


async def probe(check: Probe) -> Check:
    """Run one check; its exception class (never its text, which may hold addresses) says why it failed."""
    started = time.perf_counter()
    try:
        await check()
    except Exception as exc:
        return Check(status="down", detail=type(exc).__name__)
    return Check(status="ok", latency_ms=round((time.perf_counter() - started) * 1000, 2))


def health_route(service: str, version: str, db: Database[Any], bus: EventBus,
                 dependencies: Mapping[str, Probe] | None = None) -> HTTPRouteHandler:
    """The `/health` handler of one app instance."""
    deps = dict(dependencies or {})

    @get("/health", tags=["health"])
    async def health() -> Response[ModuleHealth]:
        """Whether this module answers: its database decides, bus and dependencies are shown."""
        database = await probe(db.ping)
        body = ModuleHealth(
            status="healthy" if database.status == "ok" else "unhealthy", service=service, version=version,
            database=database, bus=bus.health(), dependencies={name: await probe(p) for name, p in deps.items()},
        )
        return Response(body, status_code=200 if database.status == "ok" else 503)

    return health
