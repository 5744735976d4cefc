"""Schemathesis against financial's OpenAPI document: no 5xx, no answer off its schema."""

from collections.abc import Iterator

import httpx
import pytest

from services.financial.app.main import create_app
from services.financial.app.settings import Settings
from tests.services.financial.conftest import FAST, MODULE_KEY, FakeCore, auth
from tests.services.schema_hunt import hunt, served

schemathesis = pytest.importorskip("schemathesis")

pytestmark = [pytest.mark.security, pytest.mark.slow]


@pytest.fixture
def served_financial(database_url: str) -> Iterator[tuple[str, dict[str, str]]]:
    core = FakeCore()
    tenant_id, company_id = core.add_company()
    settings = Settings(database_url=database_url, core_url="http://core", module_api_key=MODULE_KEY,
                        bus=FAST, pool_size=4)
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=core.app()), base_url="http://core")
    with served(create_app(settings, core_client=http), "financial") as url:
        yield url, auth(tenant_id, company_id)


def test_generated_requests_never_answer_5xx_or_off_schema(served_financial: tuple[str, dict[str, str]]) -> None:
    url, headers = served_financial
    # callers: a user with every permission in one company, anonymous
    runs, failures = hunt(url, [headers, {}])
    print(f"schemathesis: {runs} generated requests against financial")
    assert not failures, "\n".join(sorted(set(failures))[:15])
