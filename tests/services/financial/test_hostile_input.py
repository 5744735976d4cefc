"""Bad input that answered 500 (issue 11, finding 14), and the same answer shape as core's."""

import pytest

from tests.services.financial.conftest import Harness
from tests.services.financial.helpers import company
from tests.services.problems import DEEP, JSON, assert_problem

pytestmark = pytest.mark.security

URL = "/api/v1/financial/invoices"


async def test_a_deeply_nested_body_answers_400(shared: Harness) -> None:
    _, _company_id, headers = await company(shared)
    r = await shared.client.post(URL, content=DEEP, headers={**headers, **JSON})
    assert_problem(r, 400, "nested")


async def test_a_nul_character_answers_400_naming_where(shared: Harness) -> None:
    _, company_id, headers = await company(shared)
    r = await shared.client.post(URL, json={"company_id": str(company_id), "customer": "Evil\u0000Corp",
                                            "total": "10"}, headers=headers)
    assert_problem(r, 400, "NUL", "customer")
    r = await shared.client.get(URL, params={"company_id": str(company_id), "status": "a\u0000"}, headers=headers)
    assert_problem(r, 400, "NUL")


async def test_an_issue_date_at_the_end_of_time_answers_400(shared: Harness) -> None:
    _, company_id, headers = await company(shared)
    r = await shared.client.post(URL, json={"company_id": str(company_id), "customer": "Acme",
                                            "total": "10", "issue_date": "9999-12-31"}, headers=headers)
    assert_problem(r, 400, "issue_date", "9999-12-31")


async def test_a_customer_longer_than_the_column_is_refused_by_validation(shared: Harness) -> None:
    _, company_id, headers = await company(shared)
    r = await shared.client.post(URL, json={"company_id": str(company_id), "customer": "A" * 300,
                                            "total": "10"}, headers=headers)
    assert_problem(r, 400, "customer")
    assert "character varying" not in r.text


def test_database_errors_do_not_reach_the_client() -> None:
    """Whatever DataError slips past validation, its PostgreSQL text stays in the log."""
    from types import SimpleNamespace

    import asyncpg
    import msgspec

    from modulekit.problems import database_error

    exc = asyncpg.exceptions.StringDataRightTruncationError("value too long for type character varying(200)")
    response = database_error(SimpleNamespace(url=SimpleNamespace(path="/x")), exc)  # type: ignore[arg-type]
    body = msgspec.to_builtins(response.content)
    assert response.status_code == 400 and body["type"] == "urn:buildify:problem:invalid-input"
    assert "character varying" not in body["detail"]
