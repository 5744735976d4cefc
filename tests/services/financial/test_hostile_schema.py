"""Schemathesis against financial's OpenAPI document: no 5xx, no answer off its schema."""

import socket
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from services.financial.app.main import create_app
from services.financial.app.settings import Settings
from tests.services.financial.conftest import FAST, MODULE_KEY, FakeCore, auth
from tests.waiting import wait_until_sync

schemathesis = pytest.importorskip("schemathesis")

pytestmark = [pytest.mark.security, pytest.mark.slow]

EXAMPLES = 25  # per operation and caller (a user with every permission in one company, anonymous)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def served_financial(database_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    core = FakeCore()
    tenant_id, company_id = core.add_company()
    settings = Settings(database_url=database_url, core_url="http://core", module_api_key=MODULE_KEY,
                        bus=FAST, pool_size=4)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=core.app()), base_url="http://core")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, core_client=http), host="127.0.0.1", port=port,
                                           log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until_sync(lambda: server.started, timeout=30, what="financial started")
    try:
        yield f"http://127.0.0.1:{port}", auth(tenant_id, company_id)
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_generated_requests_never_answer_5xx_or_off_schema(served_financial: tuple[str, dict[str, str]]) -> None:
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    url, headers = served_financial
    schema = schemathesis.openapi.from_url(f"{url}/schema/openapi.json")
    failures: list[str] = []
    runs = 0
    for result in schema.get_all_operations():
        op = result.ok()

        @given(case=op.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            nonlocal runs
            for caller in (headers, {}):
                runs += 1
                response = case.call(base_url=url, headers=caller, timeout=30)
                try:
                    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
                except (Exception, BaseExceptionGroup) as exc:
                    failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                                    f"{str(exc)[:400]}")

        run()
    print(f"schemathesis: {runs} generated requests against financial")
    assert not failures, "\n".join(sorted(set(failures))[:15])
