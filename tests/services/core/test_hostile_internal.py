"""Open internal endpoints (issue 11, finding 9): the route feed, metrics and health's internals."""

import socket

import pytest
from litestar.testing import AsyncTestClient

from services.core.app.main import create_app
from services.core.app.settings import Settings
from tests.services.core.conftest import FAST_BUS, FINANCIAL, Harness, Tenant

pytestmark = pytest.mark.security


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_the_route_feed_is_closed_when_no_gateway_key_is_configured(database_url: str) -> None:
    app = create_app(Settings(database_url=database_url, bus=FAST_BUS, gateway_config_key=""))
    async with AsyncTestClient(app=app) as client:
        r = await client.get("/api/v1/gateway/traefik")
        assert r.status_code == 403, r.text
        assert "GATEWAY_CONFIG_KEY" in r.json()["detail"]
        r = await client.get("/api/v1/gateway/traefik", headers={"X-Gateway-Key": ""})
        assert r.status_code == 403


@pytest.mark.parametrize("key", ["", "traefik-onl", "traefik-only-and-more", "TRAEFIK-ONLY",
                                 "traefik\u00e9only".encode("latin-1")])
async def test_the_route_feed_refuses_every_wrong_key(core: Harness, key: str | bytes) -> None:
    r = await core.client.get("/api/v1/gateway/traefik", headers={"X-Gateway-Key": key})
    assert r.status_code == 401, r.text


async def test_anonymous_health_says_up_or_down_and_nothing_else(core: Harness, root: dict, acme: Tenant) -> None:
    hidden = f"127.0.0.1:{closed_port()}"
    manifest = {**FINANCIAL, "backend": {**FINANCIAL["backend"], "upstream": f"http://{hidden}"}}
    assert (await core.client.post("/api/v1/modules", json=manifest, headers=root)).status_code == 200
    r = await core.client.put(f"/api/v1/tenants/{acme.id}/modules/financial", headers=root,
                              json={"is_enabled": True, "configuration": {}})
    assert r.status_code == 200, r.text
    r = await core.client.get("/health")
    assert r.status_code == 503
    body = r.json()
    assert body == {"status": "degraded", "service": "core", "checks": {
        "database": {"status": "up"}, "bus": {"status": "up"}, "module:financial": {"status": "down"}}}
    assert hidden not in r.text and "Error" not in r.text
    member = await core.client.get("/health", headers=acme.admin)  # a tenant admin is not an operator
    assert member.json() == body
    detailed = (await core.client.get("/health", headers=root)).json()
    assert hidden in detailed["checks"]["module:financial"]["detail"]
