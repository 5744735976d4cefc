"""Hostile tokens against the financial module (issue 11's JWT list)."""

import base64
import json
from typing import Any

import jwt
import pytest

from tests.services.financial.conftest import ALL, CORE_KEY, CORE_KID, Harness, token
from tests.services.financial.helpers import company, invoice

pytestmark = pytest.mark.security

LONG_AGO = 946_684_800  # 2000-01-01


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_unsigned_expired_unexpiring_or_foreign_tokens_are_refused(shared: Harness) -> None:
    tenant_id, company_id, _ = await company(shared)
    good = jwt.decode(token(tenant_id, {company_id: ALL}), options={"verify_signature": False})
    kid = {"kid": CORE_KID}
    cases = {
        "alg none": b64({"alg": "none", "typ": "JWT"}) + "." + b64(good) + ".",
        "no exp": jwt.encode({k: v for k, v in good.items() if k != "exp"}, CORE_KEY, algorithm="EdDSA",
                             headers=kid),
        "expired": jwt.encode({**good, "exp": LONG_AGO}, CORE_KEY, algorithm="EdDSA", headers=kid),
        "other key": jwt.encode(good, "y" * 40, algorithm="HS256", headers=kid),
    }
    for name, forged in cases.items():
        r = await shared.client.get("/api/v1/financial/invoices", params={"company_id": str(company_id)},
                                    headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 401, (name, r.text)


async def test_another_tenant_s_records_answer_404_and_stay_unchanged(shared: Harness) -> None:
    _, acme_company, acme = await company(shared)
    globex_tenant, globex_company, _ = await company(shared)
    mine = await invoice(shared, acme_company, acme)
    other = {"Authorization": f"Bearer {token(globex_tenant, {globex_company: ALL})}"}
    assert (await shared.client.get(f"/api/v1/financial/invoices/{mine['id']}", headers=other)).status_code == 404
    r = await shared.client.post("/api/v1/financial/payments", json={"invoice_id": mine["id"], "amount": "1"},
                                 headers=other)
    assert r.status_code == 404, r.text
    assert (await shared.client.get(f"/api/v1/financial/invoices/{mine['id']}", headers=acme)).json() == mine
    r = await shared.client.get("/api/v1/financial/invoices", params={"company_id": str(acme_company)},
                                headers=other)
    assert r.status_code in (403, 404), r.text
