"""Schemathesis against core's OpenAPI document: generated requests never get a 5xx or an answer
that contradicts the schema (issue 11, hostile suite)."""

import asyncio
import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from services.core.app.admin import create_superuser
from services.core.app.main import create_app
from services.core.app.settings import Settings
from tests.services.core.conftest import FAST_BUS, MODULE_KEYS
from tests.waiting import wait_until_sync

schemathesis = pytest.importorskip("schemathesis")

pytestmark = [pytest.mark.security, pytest.mark.slow]

RUNS: dict[str, int] = {"cases": 0}
EXAMPLES = 25  # per operation and caller (signed-in platform admin, anonymous)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served_core(database_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    """Core on a real port (its own thread and loop), with a platform admin's token."""
    asyncio.run(create_superuser(database_url, "root@platform.example", "password123"))
    settings = Settings(database_url=database_url, module_api_keys=MODULE_KEYS, bus=FAST_BUS,
                        access_token_ttl=600, gateway_config_key="traefik-only")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    wait_until_sync(lambda: server.started, what="core started")
    token = httpx.post(f"{url}/api/v1/auth/login",
                       json={"email": "root@platform.example", "password": "password123"}).json()["access_token"]
    try:
        yield url, {"Authorization": f"Bearer {token}"}
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_generated_requests_never_answer_5xx_or_off_schema(served_core: tuple[str, dict[str, str]]) -> None:
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    url, headers = served_core
    schema = schemathesis.openapi.from_url(f"{url}/schema/openapi.json")
    failures: list[str] = []
    for result in schema.get_all_operations():
        op = result.ok()
        if op.path.startswith("/api/v1/admin/bus/replays"):
            continue  # starts background work; covered by the bus admin tests

        @given(case=op.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,  # same cases every run
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            for auth in (headers, {}):
                RUNS["cases"] += 1
                response = case.call(base_url=url, headers=auth, timeout=30)
                try:
                    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
                except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup lists every failed check
                    failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                                    f"{str(exc)[:400]}")

        run()
    print(f"schemathesis: {RUNS['cases']} generated requests against core")
    assert not failures, "\n".join(sorted(set(failures))[:15])
