"""Core starts and answers while RabbitMQ is away, and its /health says why events wait."""

import socket

from litestar.testing import AsyncTestClient

from services.core.app.admin import create_superuser
from services.core.app.main import create_app
from services.core.app.settings import Settings
from tests.services.core.conftest import FAST_BUS, MODULE_KEYS


def _closed_port() -> int:
    """A local port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_core_runs_without_rabbitmq_and_health_says_events_wait(database_url: str) -> None:
    bus = FAST_BUS.but(transport="rabbitmq", amqp_url=f"amqp://guest:guest@127.0.0.1:{_closed_port()}/",
                       amqp_start_timeout=0.2, relay=True)
    app = create_app(Settings(database_url=database_url, module_api_keys=MODULE_KEYS, bus=bus))
    async with AsyncTestClient(app=app) as client:
        assert (await client.get("/api/v1/auth/jwks")).status_code == 200  # the API answers
        r = await client.get("/health")
        assert r.status_code == 503
        check = r.json()["checks"]["bus"]
        assert check["status"] == "down" and "detail" not in check  # strangers see up/down only

        await create_superuser(database_url, "root@platform.example", "password123")
        login = await client.post("/api/v1/auth/login",
                                  json={"email": "root@platform.example", "password": "password123"})
        admin = {"Authorization": f"Bearer {login.json()['access_token']}"}
        detailed = (await client.get("/health", headers=admin)).json()["checks"]["bus"]
        assert detailed["status"] == "down" and "RabbitMQ not connected" in detailed["detail"]
