"""One error body shape across services: the same bad inputs sent to each service answer the
same RFC 9457 problem (status, type, fields), whatever service it is.

Adding a service is one line in TARGETS: a function that starts it and names, per bad input,
the request that sends it there.
"""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any
from uuid import uuid4

import httpx
import pytest
from litestar.testing import AsyncTestClient

from tests.services.financial.conftest import FAST, MODULE_KEY, FakeCore, auth

PROBLEM = "urn:buildify:problem:"
Request = tuple[str, str, dict[str, Any]]  # method, path, httpx keyword arguments


@dataclass
class Target:
    """A started service and the request that sends each bad input to it."""

    client: httpx.AsyncClient
    requests: dict[str, Request]


# case -> (status, problem type, field named in `errors` or None when the body has no `errors`)
EXPECTED: dict[str, tuple[int, str, str | None]] = {
    "malformed_json": (400, "malformed-body", None),
    "wrong_type": (400, "invalid-input", "name"),
    "missing_field": (400, "invalid-input", "name"),
    "unknown_id": (404, "not-found", None),
    "no_token": (401, "not-authenticated", None),
}


@asynccontextmanager
async def financial(database_url: str) -> AsyncIterator[Target]:
    from services.financial.app.main import create_app
    from services.financial.app.settings import Settings

    core = FakeCore()
    tenant_id, company_id = core.add_company()
    settings = Settings(database_url=database_url, core_url="http://core", module_api_key=MODULE_KEY, bus=FAST,
                        pool_size=2)
    async with AsyncExitStack() as stack:
        http = await stack.enter_async_context(
            httpx.AsyncClient(transport=httpx.ASGITransport(app=core.app()), base_url="http://core"))
        app = create_app(settings, core_client=http)
        client = await stack.enter_async_context(AsyncTestClient(app=app))
        headers = auth(tenant_id, company_id)
        url = "/api/v1/financial/accounts"
        good = {"company_id": str(company_id), "code": "1300", "type": "asset"}
        yield Target(client, {
            "malformed_json": ("POST", url, {"content": b'{"company_id": ', "headers": {
                **headers, "content-type": "application/json"}}),
            "wrong_type": ("POST", url, {"json": {**good, "name": 12}, "headers": headers}),
            "missing_field": ("POST", url, {"json": good, "headers": headers}),
            "unknown_id": ("GET", f"/api/v1/financial/invoices/{uuid4()}", {"headers": headers}),
            "no_token": ("GET", url, {"params": {"company_id": str(company_id)}}),
        })


@asynccontextmanager
async def core(database_url: str) -> AsyncIterator[Target]:
    from services.core.app.admin import create_superuser
    from services.core.app.main import create_app
    from services.core.app.settings import Settings

    await create_superuser(database_url, "root@platform.example", "password123")
    app = create_app(Settings(database_url=database_url, bus=FAST))
    async with AsyncTestClient(app=app) as client:
        login = await client.post("/api/v1/auth/login",
                                  json={"email": "root@platform.example", "password": "password123"})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        url = "/api/v1/tenants"
        yield Target(client, {
            "malformed_json": ("POST", url, {"content": b'{"name": ', "headers": {
                **headers, "content-type": "application/json"}}),
            "wrong_type": ("POST", url, {"json": {"name": 12, "slug": "acme"}, "headers": headers}),
            "missing_field": ("POST", url, {"json": {"slug": "acme"}, "headers": headers}),
            "unknown_id": ("GET", f"/api/v1/tenants/{uuid4()}", {"headers": headers}),
            "no_token": ("GET", url, {}),
        })


TARGETS: list[Any] = [
    pytest.param(financial, id="financial"),
    pytest.param(core, id="core"),
]


@pytest.mark.parametrize("start", TARGETS)
async def test_the_same_bad_input_gets_the_same_problem(
    start: Callable[[str], AbstractAsyncContextManager[Target]], database_url: str
) -> None:
    async with start(database_url) as target:
        for case, (method, path, kwargs) in target.requests.items():
            response = await target.client.request(method, path, **kwargs)
            status, kind, field = EXPECTED[case]
            body = response.json()
            assert response.status_code == status, (case, response.text)
            assert response.headers["content-type"] == "application/problem+json", case
            assert body["type"] == PROBLEM + kind and body["status"] == status, (case, body)
            assert isinstance(body["title"], str) and isinstance(body["detail"], str) and body["detail"], case
            assert set(body) <= {"type", "title", "status", "detail", "errors"}, (case, body)
            if field is None:
                assert "errors" not in body, (case, body)
            else:
                assert all(set(e) == {"field", "message"} for e in body["errors"]), (case, body)
                assert field in {e["field"] for e in body["errors"]}, (case, body)
