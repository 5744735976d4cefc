"""Schemathesis against core's OpenAPI document: generated requests never get a 5xx or an answer
that contradicts the schema (issue 11, hostile suite)."""

import asyncio
from collections.abc import Iterator

import httpx
import pytest

from services.core.app.admin import create_superuser
from services.core.app.main import create_app
from services.core.app.settings import Settings
from tests.services.core.conftest import FAST_BUS, MODULE_KEYS
from tests.services.schema_hunt import hunt, served

schemathesis = pytest.importorskip("schemathesis")

pytestmark = [pytest.mark.security, pytest.mark.slow]


@pytest.fixture
def served_core(database_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    """Core on a real port (its own thread and loop), with a platform admin's token."""
    asyncio.run(create_superuser(database_url, "root@platform.example", "password123"))
    settings = Settings(database_url=database_url, module_api_keys=MODULE_KEYS, bus=FAST_BUS,
                        access_token_ttl=600, gateway_config_key="traefik-only")
    with served(create_app(settings), "core") as url:
        token = httpx.post(f"{url}/api/v1/auth/login",
                           json={"email": "root@platform.example", "password": "password123"}).json()["access_token"]
        yield url, {"Authorization": f"Bearer {token}"}


def test_generated_requests_never_answer_5xx_or_off_schema(served_core: tuple[str, dict[str, str]]) -> None:
    url, headers = served_core
    # callers: a signed-in platform admin, anonymous; replays start background work (the bus admin tests cover them)
    runs, failures = hunt(url, [headers, {}], skip=("/api/v1/admin/bus/replays",))
    print(f"schemathesis: {runs} generated requests against core")
    assert not failures, "\n".join(sorted(set(failures))[:15])
