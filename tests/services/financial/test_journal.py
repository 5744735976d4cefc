"""Double entry: balanced or refused; posted entries never change; reversals correct them."""

import asyncpg
import pytest

from tests.services.financial.conftest import Harness
from tests.services.financial.helpers import company

URL = "/api/v1/financial/transactions"


def entry(company_id: object, *lines: tuple[str, str, str], currency: str = "USD") -> dict[str, object]:
    return {
        "company_id": str(company_id), "currency": currency, "description": "Owner invests",
        "entry_date": "2026-11-01",
        "lines": [{"account_code": code, "debit": d, "credit": c} for code, d, c in lines],
    }


async def test_balanced_entry_is_posted_and_unbalanced_refused(harness: Harness) -> None:
    _, company_id, headers = await company(harness)
    await harness.client.get("/api/v1/financial/accounts", params={"company_id": str(company_id)}, headers=headers)
    # The chart arrives with the first posting if the core event has not yet: make it explicit.
    await harness.client.post(
        "/api/v1/financial/invoices", json={"company_id": str(company_id), "customer": "X", "total": "1.00"},
        headers=headers,
    )
    ok = await harness.client.post(URL, json=entry(company_id, ("1000", "250.00", "0"), ("3000", "0", "250.00")),
                                   headers=headers)
    assert ok.status_code == 201, ok.text
    body = ok.json()
    assert body["total"] == "250.00" and [x["account_code"] for x in body["lines"]] == ["1000", "3000"]

    bad = await harness.client.post(URL, json=entry(company_id, ("1000", "250.00", "0"), ("3000", "0", "249.99")),
                                    headers=headers)
    assert bad.status_code == 422
    assert "does not balance" in bad.json()["detail"] and bad.json()["type"] == "urn:buildify:problem:unbalanced-entry"

    refused: list[tuple[list[tuple[str, str, str]], str]] = [  # lines, what the 400's detail says
        ([("9999", "1", "0"), ("3000", "0", "1")], "unknown account code 9999"),
        ([("1000", "1", "1"), ("3000", "0", "0")], "either a debit or a credit"),
        ([("1000", "-5", "0"), ("3000", "-5", "0")], "negative"),
        ([("1000", "1.005", "0"), ("3000", "0", "1.005")], "more decimals than USD"),
        ([("1000", "1", "0")], "at least two lines"),
    ]
    for lines, why in refused:
        answer = await harness.client.post(URL, json=entry(company_id, *lines), headers=headers)
        assert answer.status_code == 400 and why in answer.json()["detail"], (why, answer.text)

    listed = await harness.client.get(URL, params={"company_id": str(company_id)}, headers=headers)
    assert listed.status_code == 200 and len(listed.json()) == 2  # the invoice's entry and ours


async def test_posted_entries_are_immutable_and_reversed_once(shared: Harness) -> None:
    _, company_id, headers = await company(shared)
    await shared.client.post(
        "/api/v1/financial/invoices", json={"company_id": str(company_id), "customer": "X", "total": "1.00"},
        headers=headers,
    )
    posted = (await shared.client.post(URL, json=entry(company_id, ("6000", "80.00", "0"), ("1000", "0", "80.00")),
                                       headers=headers)).json()
    for method in ("PUT", "PATCH", "DELETE"):
        response = await shared.client.request(method, f"{URL}/{posted['id']}", json={}, headers=headers)
        assert response.status_code == 409, method
        assert "reversing entry" in response.json()["detail"]

    conn = await asyncpg.connect(shared.data_url)
    try:
        with pytest.raises(asyncpg.RaiseError, match="immutable"):
            await conn.execute("UPDATE financial_transaction_lines SET debit = 1 WHERE transaction_id = $1",
                               posted["id"])
        with pytest.raises(asyncpg.RaiseError, match="immutable"):
            await conn.execute("DELETE FROM financial_transactions WHERE id = $1", posted["id"])
    finally:
        await conn.close()

    reversal = await shared.client.post(f"{URL}/{posted['id']}/reverse", json={"entry_date": "2026-11-02"},
                                        headers=headers)
    assert reversal.status_code == 201, reversal.text
    rev = reversal.json()
    assert rev["reverses_id"] == posted["id"]
    assert [(x["account_code"], x["debit"], x["credit"]) for x in rev["lines"]] == [
        ("6000", "0.00", "80.00"), ("1000", "80.00", "0.00"),
    ]
    original = (await shared.client.get(f"{URL}/{posted['id']}", headers=headers)).json()
    assert original["reversed_by"] == rev["id"]
    twice = await shared.client.post(f"{URL}/{posted['id']}/reverse", headers=headers)
    assert twice.status_code == 409 and "already been reversed" in twice.json()["detail"]

    tb = (await shared.client.get("/api/v1/financial/reports/trial-balance",
                                  params={"company_id": str(company_id)}, headers=headers)).json()
    by_code = {a["code"]: a for a in tb["accounts"]}
    assert by_code["6000"]["debit"] == "0.00" and by_code["6000"]["credit"] == "0.00"
    assert tb["balanced"] is True
