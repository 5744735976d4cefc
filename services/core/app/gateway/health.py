"""Aggregated health: core asks each enabled module's /health, with a timeout.

A module that does not answer shows as down with the reason; it never turns core's own
/health into a 500.
"""

import asyncio
import time

import httpx

from services.core.app.context import CoreContext
from services.core.app.gateway.controllers import enabled_manifests
from services.core.app.gateway.routes import routable, upstream_of
from services.core.app.health import Check


async def _probe(client: httpx.AsyncClient, url: str) -> Check:
    started = time.perf_counter()
    try:
        response = await client.get(url)
    except httpx.HTTPError as exc:
        return Check(status="down", detail=f"{url}: {type(exc).__name__} {exc}".strip())
    latency = round((time.perf_counter() - started) * 1000, 2)
    if response.status_code != 200:
        return Check(status="down", latency_ms=latency, detail=f"{url} answered {response.status_code}")
    return Check(status="ok", latency_ms=latency)


async def module_checks(core: CoreContext) -> dict[str, Check]:
    """One check per module enabled for at least one tenant, probed concurrently."""
    settings = core.settings
    try:
        manifests = await enabled_manifests()
    except Exception as exc:  # the database check reports the cause
        return {"modules": Check(status="down", detail=f"cannot list modules: {type(exc).__name__}")}
    targets = {}
    for manifest in manifests:
        if not routable(manifest):  # a health_path that is not a plain path is never fetched
            targets[manifest.name] = ""
            continue
        try:
            targets[manifest.name] = upstream_of(manifest, settings.module_upstreams) + manifest.backend.health_path
        except ValueError:
            targets[manifest.name] = ""
    async with httpx.AsyncClient(timeout=settings.module_health_timeout) as client:
        names = [n for n, url in targets.items() if url]
        results = await asyncio.gather(*(_probe(client, targets[n]) for n in names))
    checks = {f"module:{name}": result for name, result in zip(names, results, strict=True)}
    for name, url in targets.items():
        if not url:
            checks[f"module:{name}"] = Check(status="down", detail="the manifest names no upstream or port")
    return checks
