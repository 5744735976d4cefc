"""The platform as a user meets it: real processes behind Traefik, everything through the gateway."""

import asyncio
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from tests.e2e.platform import running_platform
from tests.waiting import wait_until_sync

pytestmark = pytest.mark.slow

SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "strict-origin-when-cross-origin",
}


def check_security_headers(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, f"{response.request.url}: {name}"
    assert "default-src 'self'" in response.headers["content-security-policy"]


def test_a_user_works_through_the_gateway_and_ctrl_c_leaves_nothing_behind(database_url: str, tmp_path: Path):
    with running_platform(database_url, tmp_path / "platform") as platform:
        family = platform.pids()
        seen: list[httpx.Response] = []
        with httpx.Client(base_url=platform.gateway, timeout=10, event_hooks={"response": [seen.append]}) as http:
            login = http.post("/api/v1/auth/login", json={"email": platform.admin_email,
                                                          "password": platform.admin_password})
            assert login.status_code == 200, login.text
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
            me = http.get("/api/v1/me", headers=auth).json()
            tenant_id = me["tenant"]["id"]
            gmbh = next(c["company"]["id"] for c in me["companies"] if c["company"]["name"] == "Acme GmbH")

            # a new company gets its default chart of accounts through the event bus
            created = http.post("/api/v1/companies", json={"name": "Acme Logistik", "tenant_id": tenant_id},
                                headers={**auth, "X-Request-ID": "e2e-create-company"})
            assert created.status_code == 201, created.text
            assert created.headers["x-request-id"] == "e2e-create-company"
            new_company = created.json()["id"]
            login = http.post("/api/v1/auth/login", json={"email": platform.admin_email,
                                                          "password": platform.admin_password})
            auth = {"Authorization": f"Bearer {login.json()['access_token']}"}

            def chart_of_new_company() -> httpx.Response | None:
                r = http.get("/api/v1/financial/accounts", params={"company_id": new_company}, headers=auth)
                return r if r.status_code == 200 and len(r.json()) > 0 else None

            accounts = wait_until_sync(chart_of_new_company, timeout=20, interval=0.2,
                                       what="financial created the new company's accounts")
            assert accounts.status_code == 200 and {"1000", "1200"} <= {a["code"] for a in accounts.json()}
            assert {a["currency"] for a in accounts.json()} == {"EUR"}  # the tenant's configured currency

            # the German subsidiary's invoice: its prefix, 19 % and EUR from the three tiers
            invoice = http.post("/api/v1/financial/invoices", headers=auth, json={
                "company_id": gmbh, "customer": "Globex AG",
                "lines": [{"description": "Consulting", "quantity": "10", "unit_price": "100.00"}],
            })
            assert invoice.status_code == 201, invoice.text
            body = invoice.json()
            assert body["number"].startswith("DE-INV-")
            assert (body["currency"], Decimal(body["tax"]), Decimal(body["total"])) == (
                "EUR", Decimal("190.00"), Decimal("1190.00"))

            paid = http.post("/api/v1/financial/payments", headers=auth,
                             json={"invoice_id": body["id"], "amount": "1190.00"})
            assert paid.status_code == 201, paid.text
            again = http.get(f"/api/v1/financial/invoices/{body['id']}", headers=auth).json()
            assert again["status"] == "paid"

            trial = http.get("/api/v1/financial/reports/trial-balance", params={"company_id": gmbh}, headers=auth)
            assert trial.status_code == 200, trial.text
            totals = trial.json()
            assert Decimal(str(totals["total_debit"])) == Decimal(str(totals["total_credit"])) > 0

            def financial_up() -> bool:  # anonymous health is cached for 2 s: it may predate the demo tenant
                health = http.get("/health")
                return health.status_code == 200 and health.json()["checks"].get("module:financial") == {"status": "up"}

            wait_until_sync(financial_up, timeout=10, what="core's public health lists financial up")
            assert http.get("/health/financial").json()["status"] in {"ok", "healthy"}
            assert http.get("/api/v1/financialx").status_code == 404  # a prefix is not a word match

        for response in seen:
            check_security_headers(response)
        assert burst_hits_the_rate_limit(platform.gateway)
        platform.process.send_signal(__import__("signal").SIGINT)
        platform.process.wait(30)

    def still_alive() -> list[int]:
        return [pid for pid in family if Path(f"/proc/{pid}").exists()]

    wait_until_sync(lambda: not still_alive(), timeout=5, what="every process of the platform ended")


def burst_hits_the_rate_limit(gateway: str) -> bool:
    async def burst() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=400, max_keepalive_connections=400)
        async with httpx.AsyncClient(base_url=gateway, timeout=httpx.Timeout(10, pool=None), limits=limits) as client:
            return await asyncio.gather(*(client.get("/health", headers={"Origin": gateway})
                                          for _ in range(400)))

    responses = asyncio.run(burst())
    limited = [r for r in responses if r.status_code == 429]
    for response in limited:  # a 429 still carries the security and CORS headers
        check_security_headers(response)
        assert response.headers.get("access-control-allow-origin") == gateway
    return len(limited) > 0


def test_a_second_run_reuses_the_data_and_the_logins(database_url: str, tmp_path: Path):
    data_dir = tmp_path / "platform"
    with running_platform(database_url, data_dir) as first:
        password = first.admin_password
    with running_platform(database_url, data_dir) as second, httpx.Client(base_url=second.gateway) as http:
        assert second.admin_password == password  # secrets are generated once
        login = http.post("/api/v1/auth/login", json={"email": second.admin_email, "password": password})
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        me = http.get("/api/v1/me", headers=auth).json()
        assert [c["company"]["name"] for c in me["companies"]] == ["Acme GmbH"]  # the demo was not loaded twice
        modules = http.get("/api/v1/me/modules", params={"company_id": me["companies"][0]["company"]["id"]},
                           headers=auth).json()
        assert [m["name"] for m in modules] == ["financial", "warehouse"]
