"""GET /health: core, its database, the bus and every enabled module.

Anyone may ask whether the platform is up: the anonymous answer says up/down per check and
nothing else (no addresses, no exception text, no counts), and it is computed at most once per
`PUBLIC_HEALTH_SECONDS`, so a flood of /health costs neither count(*)s nor module probes.
A platform administrator's bearer token gets the detailed answer, computed afresh.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import msgspec
from litestar import Request, Response, get

from modulekit.errors import Problem
from modulekit.health import Check as ModuleCheck
from services.core.app.auth.principal import principal_from_request
from services.core.app.context import CoreContext
from services.core.app.db import engine


class Check(ModuleCheck, frozen=True, kw_only=True, omit_defaults=False):
    """A module's check, plus the bus's counts; core's detailed answer always shows every field."""

    outbox_backlog: int | None = None
    dead_letters: int | None = None


class Health(msgspec.Struct, frozen=True, kw_only=True):
    status: Literal["ok", "degraded"]
    service: str
    version: str
    checks: dict[str, Check]


class PublicCheck(msgspec.Struct, frozen=True, kw_only=True):
    status: Literal["up", "down"]


class PublicHealth(msgspec.Struct, frozen=True, kw_only=True):
    """What anyone may know: whether core and each part it depends on is up."""

    status: Literal["up", "degraded"]
    service: str
    checks: dict[str, PublicCheck]


PUBLIC_HEALTH_SECONDS = 2.0

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
    cached: dict[str, tuple[float, PublicHealth]] = {}
    lock = asyncio.Lock()

    async def detailed(core: CoreContext) -> Health:
        from services.core.app.gateway.health import module_checks  # it imports this module

        results = {name: await check(core) for name, check in checks.items()}
        results.update(await module_checks(core))
        ok = all(c.status == "ok" for c in results.values())
        return Health(status="ok" if ok else "degraded", service="core", version=core.settings.platform_version,
                      checks=results)

    async def public(core: CoreContext) -> PublicHealth:
        async with lock:  # one computation at a time; the others take its result
            hit = cached.get("body")
            if hit is not None and time.monotonic() - hit[0] < PUBLIC_HEALTH_SECONDS:
                return hit[1]
            full = await detailed(core)
            body = PublicHealth(
                status="up" if full.status == "ok" else "degraded", service="core",
                checks={n: PublicCheck(status="up" if c.status == "ok" else "down") for n, c in full.checks.items()},
            )
            cached["body"] = (time.monotonic(), body)
            return body

    @get("/health", tags=["health"], summary="Whether core, its database, the bus and each module are up",
         description="Anonymous callers get up/down per check (cached for a moment). With a platform "
         "administrator's bearer token: latencies, outbox backlog, dead letters and the reason a check is down.")
    async def health(request: Request[Any, Any, Any], core: CoreContext) -> Response[Health | PublicHealth]:
        admin = False
        if request.headers.get("authorization"):
            try:
                admin = (await principal_from_request(request)).platform_admin
            except Problem:
                admin = False
        if admin:
            full = await detailed(core)
            return Response(full, status_code=200 if full.status == "ok" else 503)
        body = await public(core)
        return Response(body, status_code=200 if body.status == "up" else 503)

    return health
