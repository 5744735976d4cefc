"""Core's side of the gateway: module routes from the registry, aggregated health, metrics."""

import socket

from tests.services.core.conftest import FINANCIAL, GATEWAY, Harness


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when we return: nothing answers there


async def test_registering_a_module_routes_it(core: Harness, root):
    c = core.client
    empty = await c.get("/api/v1/gateway/traefik", headers=GATEWAY)
    assert empty.status_code == 200 and empty.json() == {}  # Traefik refuses empty maps, even an empty "http"
    assert (await c.post("/api/v1/modules", json=FINANCIAL, headers=root)).status_code == 200
    routes = (await c.get("/api/v1/gateway/traefik", headers=GATEWAY)).json()["http"]
    api = routes["routers"]["financial-api"]
    assert api["rule"] == "Path(`/api/v1/financial`) || PathPrefix(`/api/v1/financial/`)"
    assert api["middlewares"] == ["security-headers@file", "rate-limit@file"]
    assert routes["routers"]["financial-frontend"]["rule"] == "PathPrefix(`/modules/financial/`)"
    assert routes["routers"]["financial-health"]["middlewares"][-1] == "financial-health-path"
    assert routes["middlewares"]["financial-health-path"] == {"replacePath": {"path": "/health"}}
    assert routes["services"]["financial"]["loadBalancer"]["servers"] == [{"url": "http://127.0.0.1:8001"}]


async def test_an_unreachable_module_shows_as_down_not_as_a_500(core: Harness, root, acme):
    manifest = {**FINANCIAL, "backend": {**FINANCIAL["backend"], "port": closed_port()}}
    c = core.client
    assert (await c.post("/api/v1/modules", json=manifest, headers=root)).status_code == 200
    enabled = await c.put(f"/api/v1/tenants/{acme.id}/modules/financial", headers=root,
                          json={"is_enabled": True, "configuration": {}})
    assert enabled.status_code == 200, enabled.text
    health = await c.get("/health", headers=root)  # the detailed answer, for a platform administrator
    assert health.status_code == 503
    body = health.json()
    assert body["status"] == "degraded"
    assert body["checks"]["module:financial"]["status"] == "down"
    assert "ConnectError" in body["checks"]["module:financial"]["detail"]
    assert body["checks"]["database"]["status"] == "ok"


async def test_metrics_and_request_ids(core: Harness, root):
    c = core.client
    answer = await c.get("/api/v1/modules", headers={**root, "X-Request-ID": "ops-1234"})
    assert answer.headers["x-request-id"] == "ops-1234"
    metrics = await c.get("/metrics")
    assert metrics.status_code == 200 and "bus_events_published_total" in metrics.text


async def test_the_route_endpoint_wants_the_gateway_key_when_one_is_set(database_url):
    from litestar.testing import AsyncTestClient

    from services.core.app.main import create_app
    from services.core.app.settings import Settings
    from tests.services.core.conftest import FAST_BUS

    app = create_app(Settings(database_url=database_url, bus=FAST_BUS, gateway_config_key="traefik-only"))
    async with AsyncTestClient(app=app) as client:
        refused = await client.get("/api/v1/gateway/traefik")
        assert refused.status_code == 401 and "X-Gateway-Key" in refused.json()["detail"]
        wrong = await client.get("/api/v1/gateway/traefik", headers={"X-Gateway-Key": "guess"})
        assert wrong.status_code == 401
        allowed = await client.get("/api/v1/gateway/traefik", headers={"X-Gateway-Key": "traefik-only"})
        assert allowed.status_code == 200
