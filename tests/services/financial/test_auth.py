"""Every endpoint wants a valid token from core and the manifest's permission."""

import socket
import time
from uuid import uuid4

import jwt
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.services.financial.conftest import CORE_KEY, CORE_KID, Harness, HarnessFactory, auth, token
from tests.services.financial.helpers import company, invoice


async def test_health_needs_no_token(shared: Harness) -> None:
    response = await shared.client.get("/health")
    assert response.status_code == 200 and response.json()["status"] == "healthy"
    assert response.json()["bus"]["status"] == "ok"  # the bus's own state is shown alongside
    assert response.json()["database"]["status"] == "ok"
    assert response.json()["dependencies"]["core"]["status"] == "ok"


async def test_health_shows_core_away_but_keeps_serving(make_harness: HarnessFactory) -> None:
    """Core unreachable: the module still answers 200 (it serves what it can), and says core is down."""
    with socket.socket() as closed:  # a port nothing listens on: core is away
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    harness = await make_harness("shared", core_url=f"http://127.0.0.1:{port}")
    response = await harness.client.get("/health")
    assert response.status_code == 200 and response.json()["status"] == "healthy"
    assert response.json()["dependencies"]["core"] == {"status": "down", "detail": "ConnectError"}


async def test_tokens_are_checked(shared: Harness) -> None:
    tenant_id, company_id, _ = await company(shared)
    url, params = "/api/v1/financial/accounts", {"company_id": str(company_id)}
    missing = await shared.client.get(url, params=params)
    assert missing.status_code == 401 and "Bearer" in missing.json()["detail"]
    forged = token(tenant_id, {company_id: ["financial.accounts.read"]}, key=ed25519.Ed25519PrivateKey.generate())
    bad = await shared.client.get(url, params=params, headers={"Authorization": f"Bearer {forged}"})
    assert bad.status_code == 401 and "not valid" in bad.json()["detail"]
    expired = jwt.encode({"sub": "u", "email": "e", "tenant_id": str(tenant_id), "iss": "buildify-core",
                          "aud": "buildify", "exp": int(time.time()) - 10}, CORE_KEY,
                         algorithm="EdDSA", headers={"kid": CORE_KID})
    old = await shared.client.get(url, params=params, headers={"Authorization": f"Bearer {expired}"})
    assert old.status_code == 401 and "expired" in old.json()["detail"]
    wrong_aud = jwt.encode({"sub": "u", "email": "e", "iss": "buildify-core", "aud": "elsewhere",
                            "exp": int(time.time()) + 60}, CORE_KEY,
                           algorithm="EdDSA", headers={"kid": CORE_KID})
    aud = await shared.client.get(url, params=params, headers={"Authorization": f"Bearer {wrong_aud}"})
    assert aud.status_code == 401


async def test_permissions_per_endpoint_and_company(shared: Harness) -> None:
    tenant_id, company_id, full = await company(shared)
    inv = await invoice(shared, company_id, full, total="10")
    reader = auth(tenant_id, company_id, ["financial.invoices.read"])
    assert (await shared.client.get(f"/api/v1/financial/invoices/{inv['id']}", headers=reader)).status_code == 200
    write = await shared.client.post("/api/v1/financial/invoices",
                                     json={"company_id": str(company_id), "customer": "X", "total": "1"},
                                     headers=reader)
    assert write.status_code == 403 and "financial.invoices.write" in write.json()["detail"]
    payment = await shared.client.post("/api/v1/financial/payments", json={"invoice_id": inv["id"], "amount": "1"},
                                       headers=reader)
    assert payment.status_code == 403 and "financial.payments.write" in payment.json()["detail"]
    report = await shared.client.get("/api/v1/financial/reports/trial-balance",
                                     params={"company_id": str(company_id)}, headers=reader)
    assert report.status_code == 403 and "financial.reports.read" in report.json()["detail"]
    other_company = await shared.client.get("/api/v1/financial/accounts", params={"company_id": str(uuid4())},
                                            headers=full)
    assert other_company.status_code == 403
    bad_id = await shared.client.get("/api/v1/financial/accounts", params={"company_id": "nope"}, headers=full)
    assert bad_id.status_code == 400 and "company_id" in bad_id.json()["detail"]
    nowhere = await shared.client.get("/api/v1/financial/nowhere", headers=full)
    assert nowhere.status_code == 404 and nowhere.json()["detail"]
