"""Bad input that answered 500 (issue 11, finding 14): deep nesting and NUL characters."""

import pytest

from tests.services.core.conftest import Harness, Tenant
from tests.services.problems import DEEP, JSON, assert_problem

pytestmark = pytest.mark.security

DEEP_OBJECT = b'{"name": ' + b'{"a": ' * 5_000 + b"1" + b"}" * 5_000 + b', "slug": "deep"}'


@pytest.mark.parametrize("body", [DEEP, DEEP_OBJECT])
async def test_deeply_nested_bodies_answer_400_even_before_sign_in(core: Harness, root: dict, body: bytes) -> None:
    r = await core.client.post("/api/v1/auth/login", content=body, headers=JSON)
    assert_problem(r, 400, "nested")
    r = await core.client.post("/api/v1/tenants", content=body, headers={**root, **JSON})
    assert_problem(r, 400, "nested")


@pytest.mark.parametrize(("path", "body"), [
    ("/api/v1/auth/login", {"email": "root\u0000@platform.example", "password": "password123"}),
    ("/api/v1/tenants", {"name": "Evil\u0000Corp", "slug": "evil"}),
])
async def test_a_nul_character_in_any_string_answers_400(core: Harness, root: dict, path: str, body: dict) -> None:
    r = await core.client.post(path, json=body, headers=root)
    assert_problem(r, 400, "NUL")


async def test_nul_in_company_name_and_user_email(core: Harness, root: dict, acme: Tenant) -> None:
    r = await core.client.post("/api/v1/companies", json={"name": "A\u0000B", "tenant_id": acme.id}, headers=root)
    assert_problem(r, 400, "NUL")
    r = await core.client.post("/api/v1/users", headers=root, json={
        "email": "x\u0000@acme.example", "password": "password123", "tenant_id": acme.id})
    assert_problem(r, 400, "NUL")
    r = await core.client.get("/api/v1/users", params={"nothing": "a\u0000b"}, headers=root)
    assert_problem(r, 400, "NUL")


async def test_an_id_past_int64_answers_400(core: Harness, root: dict) -> None:
    """Found by schemathesis: a dead letter id past PostgreSQL's bigint was a 500."""
    r = await core.client.get("/api/v1/admin/bus/dead-letters/9546973859572273152", headers=root)
    assert_problem(r, 400, "out of the range")
