"""Tenant and company isolation over every endpoint of the financial module (issue 11's hostile suite).

The same shape as tests/services/core/test_isolation.py: the routes are read from the module's Litestar
app and each is either aimed at the victim's ids in MATRIX or listed in NOT_SCOPED, so a new endpoint
fails test_every_financial_endpoint_is_in_the_matrix until it is classified. Victims: a company of
another tenant, and a company of the caller's own tenant the caller does not belong to (financial
authorises from the token's companies, so both must look the same). Records named by id answer 404;
a company named in the query or body answers 403 ("you do not belong to company ...", documented in
docs/security.md). Every answer names none of the victim's ids beyond what was asked, and no row changes.
"""

import json
from collections.abc import Callable
from typing import Any

import asyncpg
import pytest

from tests.services.financial.conftest import ALL, Harness, auth
from tests.services.financial.helpers import company, invoice, pay

pytestmark = pytest.mark.security

Target = dict[str, str]
HIDDEN, NAMED = {404}, {403, 404}
NOT_SCOPED: dict[tuple[str, str], str] = {
    ("PUT", "/api/v1/financial/transactions/{entry_id:uuid}"): "always 409: posted entries are immutable",
    ("PATCH", "/api/v1/financial/transactions/{entry_id:uuid}"): "always 409: posted entries are immutable",
    ("DELETE", "/api/v1/financial/transactions/{entry_id:uuid}"): "always 409: posted entries are immutable",
}


def entry(v: Target) -> dict[str, Any]:
    return {"company_id": v["company"], "currency": "USD", "lines": [
        {"account_code": "1000", "debit": "1"}, {"account_code": "4000", "credit": "1"}]}


MATRIX: dict[tuple[str, str], Callable[[Target], tuple[str, Any, set[int]]]] = {
    ("GET", "/api/v1/financial/accounts"): lambda v: (f"/api/v1/financial/accounts?company_id={v['company']}",
                                                      None, NAMED),
    ("POST", "/api/v1/financial/accounts"): lambda v: ("/api/v1/financial/accounts", {
        "company_id": v["company"], "code": "9999", "name": "Intruder", "type": "asset"}, NAMED),
    ("GET", "/api/v1/financial/accounts/{account_id:uuid}"):
        lambda v: (f"/api/v1/financial/accounts/{v['account']}", None, HIDDEN),
    ("GET", "/api/v1/financial/transactions"):
        lambda v: (f"/api/v1/financial/transactions?company_id={v['company']}", None, NAMED),
    ("POST", "/api/v1/financial/transactions"): lambda v: ("/api/v1/financial/transactions", entry(v), NAMED),
    ("GET", "/api/v1/financial/transactions/{entry_id:uuid}"):
        lambda v: (f"/api/v1/financial/transactions/{v['entry']}", None, HIDDEN),
    ("POST", "/api/v1/financial/transactions/{entry_id:uuid}/reverse"):
        lambda v: (f"/api/v1/financial/transactions/{v['entry']}/reverse", {}, HIDDEN),
    ("GET", "/api/v1/financial/invoices"): lambda v: (f"/api/v1/financial/invoices?company_id={v['company']}",
                                                      None, NAMED),
    ("POST", "/api/v1/financial/invoices"): lambda v: ("/api/v1/financial/invoices", {
        "company_id": v["company"], "customer": "Intruder", "total": "1"}, NAMED),
    ("GET", "/api/v1/financial/invoices/{invoice_id:uuid}"):
        lambda v: (f"/api/v1/financial/invoices/{v['invoice']}", None, HIDDEN),
    ("GET", "/api/v1/financial/payments"): lambda v: (f"/api/v1/financial/payments?company_id={v['company']}",
                                                      None, NAMED),
    ("POST", "/api/v1/financial/payments"): lambda v: ("/api/v1/financial/payments", {
        "invoice_id": v["invoice"], "amount": "1"}, HIDDEN),
    ("GET", "/api/v1/financial/payments/{payment_id:uuid}"):
        lambda v: (f"/api/v1/financial/payments/{v['payment']}", None, HIDDEN),
    **{("GET", f"/api/v1/financial/reports/{report}"):
       (lambda r: lambda v: (f"/api/v1/financial/reports/{r}?company_id={v['company']}", None, NAMED))(report)
       for report in ("trial-balance", "income-statement", "balance-sheet", "receivables-aging")},
}


def financial_api_routes(h: Harness) -> set[tuple[str, str]]:
    return {(method, route.path) for route in h.app.routes for handler in getattr(route, "route_handlers", [])
            for method in handler.http_methods - {"OPTIONS", "HEAD"} if route.path.startswith("/api/")}


async def test_every_financial_endpoint_is_in_the_matrix(shared: Harness) -> None:
    routes = financial_api_routes(shared)
    assert not routes - set(MATRIX) - set(NOT_SCOPED), "classify the new endpoint in MATRIX or NOT_SCOPED"
    assert not (set(MATRIX) | set(NOT_SCOPED)) - routes, "the matrix names an endpoint financial no longer has"


async def snapshot(url: str) -> dict[str, str]:
    conn = await asyncpg.connect(url)
    try:
        tables = [r["t"] for r in await conn.fetch(
            "SELECT table_name AS t FROM information_schema.tables WHERE table_name LIKE 'financial\\_%' "
            "AND table_schema = 'public' ORDER BY 1")]
        return {t: await conn.fetchval(f'SELECT md5(coalesce(string_agg(x::text, \',\' ORDER BY x::text), \'\')) '
                                       f'FROM "{t}" x') for t in tables}
    finally:
        await conn.close()


async def records(h: Harness, tenant_id: Any, company_id: Any) -> Target:
    """A company with an account, an invoice, a payment and a journal entry."""
    headers = auth(tenant_id, company_id)
    inv = await invoice(h, company_id, headers, total="100")
    payment = await pay(h, inv["id"], "10", headers)
    assert payment.status_code == 201, payment.text
    accounts = (await h.client.get("/api/v1/financial/accounts", params={"company_id": str(company_id)},
                                   headers=headers)).json()
    entries = (await h.client.get("/api/v1/financial/transactions", params={"company_id": str(company_id)},
                                  headers=headers)).json()
    entries = entries["items"] if isinstance(entries, dict) else entries
    return {"tenant": str(tenant_id), "company": str(company_id), "account": accounts[0]["id"],
            "invoice": inv["id"], "payment": payment.json()["id"], "entry": entries[0]["id"]}


@pytest.mark.parametrize("scope", ["tenant", "company"])
async def test_isolation_matrix_over_every_financial_endpoint(shared: Harness, scope: str) -> None:
    tenant_a, company_a, _ = await company(shared)
    if scope == "tenant":
        victim_tenant, victim_company, _ = await company(shared)
    else:  # the same tenant, a company the caller is not in
        victim_tenant, victim_company = tenant_a, shared.core.add_company(tenant_a)[1]
    await records(shared, tenant_a, company_a)
    victim = await records(shared, victim_tenant, victim_company)
    headers = auth(tenant_a, company_a, ALL)
    failures = []
    for (method, _path), case in sorted(MATRIX.items()):
        before = await snapshot(shared.data_url)
        url, body, allowed = case(victim)
        asked = url + json.dumps(body)
        r = await shared.client.request(method, url, json=body, headers=headers)
        if r.status_code not in allowed:
            failures.append(f"{method} {url}: {r.status_code} not in {sorted(allowed)}: {r.text[:160]}")
        leaked = {v for k, v in victim.items() if k != "tenant" and v in r.text and v not in asked}
        if leaked:
            failures.append(f"{method} {url}: the answer names {sorted(leaked)}")
        if await snapshot(shared.data_url) != before:
            failures.append(f"{method} {url}: changed financial's tables")
    assert not failures, "\n".join(failures)
