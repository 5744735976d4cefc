"""GET /health: core, its database and the bus.

Checks are small async callables in a list, so the aggregated health of modules (a later
issue) is one more check appended in create_app.
"""

import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import msgspec
from litestar import Response, get

from services.core.app.context import CoreContext
from services.core.app.db import engine


class Check(msgspec.Struct, frozen=True, kw_only=True):
    status: Literal["ok", "down"]
    latency_ms: float | None = None
    detail: str | None = None
    outbox_backlog: int | None = None
    dead_letters: int | None = None


class Health(msgspec.Struct, frozen=True, kw_only=True):
    status: Literal["ok", "degraded"]
    service: str
    version: str
    checks: dict[str, Check]


HealthCheck = Callable[[CoreContext], Awaitable[Check]]


async def database_check(_core: CoreContext) -> Check:
    started = time.perf_counter()
    try:
        async with engine.transaction() as tx:
            await tx.connection.fetchval("SELECT 1")
    except Exception as exc:  # a health check reports failures, it never raises them
        return Check(status="down", detail=f"{type(exc).__name__}: {exc}")
    return Check(status="ok", latency_ms=round((time.perf_counter() - started) * 1000, 2))


async def bus_check(core: CoreContext) -> Check:
    started = time.perf_counter()
    try:
        async with core.bus.pool.acquire() as conn:
            backlog = await conn.fetchval("SELECT count(*) FROM bus_outbox")
            dead = await conn.fetchval("SELECT count(*) FROM event_dead_letters WHERE redriven_at IS NULL")
    except Exception as exc:
        return Check(status="down", detail=f"{type(exc).__name__}: {exc}")
    latency = round((time.perf_counter() - started) * 1000, 2)
    bus = core.bus.health()  # e.g. RabbitMQ away or forwarding failing: events wait in Postgres
    return Check(status="ok" if bus.status == "ok" else "down", latency_ms=latency, outbox_backlog=int(backlog),
                 dead_letters=int(dead), detail="; ".join(bus.problems) or None)


DEFAULT_CHECKS: dict[str, HealthCheck] = {"database": database_check, "bus": bus_check}


def health_handler(checks: dict[str, HealthCheck]) -> Any:
    @get("/health", tags=["health"], summary="Core, its database and the bus (outbox backlog, dead letters)")
    async def health(core: CoreContext) -> Response[Health]:
        from services.core.app.gateway.health import module_checks  # it imports this module

        results = {name: await check(core) for name, check in checks.items()}
        results.update(await module_checks(core))
        ok = all(c.status == "ok" for c in results.values())
        body = Health(status="ok" if ok else "degraded", service="core", version=core.settings.platform_version,
                      checks=results)
        return Response(body, status_code=200 if ok else 503)

    return health
