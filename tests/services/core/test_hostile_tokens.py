"""Hostile tokens against core (issue 11's JWT list; finding 6's "core must require exp")."""

import base64
import json
from typing import Any

import jwt
import pytest

from tests.services.core.conftest import MODULE_KEYS, Harness, Tenant

pytestmark = pytest.mark.security

FAR_FUTURE = 4_102_444_800  # 2100-01-01: these tests never depend on today's date
LONG_AGO = 946_684_800  # 2000-01-01


async def claims_of(core: Harness, headers: dict[str, str]) -> dict[str, Any]:
    token = headers["Authorization"].split(" ", 1)[1]
    return dict(jwt.decode(token, options={"verify_signature": False}))


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


async def test_tokens_without_exp_expired_badly_signed_or_unsigned_are_refused(core: Harness, acme: Tenant) -> None:
    claims = await claims_of(core, acme.admin)
    sign = core.app.state["core"].tokens.sign  # core's own key: only the claims are wrong
    without_exp = {k: v for k, v in claims.items() if k != "exp"}
    cases = {
        "no exp": sign(without_exp),
        "expired": sign({**claims, "exp": LONG_AGO, "iat": LONG_AGO - 60}),
        "wrong key": jwt.encode({**claims, "exp": FAR_FUTURE}, "x" * 40, algorithm="HS256"),
        "alg none": b64({"alg": "none", "typ": "JWT"}) + "." + b64({**claims, "exp": FAR_FUTURE}) + ".",
        "wrong audience": sign({**claims, "aud": "someone-else"}),
        "wrong issuer": sign({**claims, "iss": "evil"}),
        "module key as a token": MODULE_KEYS["financial"],
    }
    for name, token in cases.items():
        r = await core.client.get("/api/v1/me", headers=bearer(token))
        assert r.status_code == 401, (name, r.text)
        assert r.json()["type"] == "urn:buildify:problem:not-authenticated", name


async def test_claims_for_another_tenant_grant_nothing(core: Harness, acme: Tenant, globex: Tenant) -> None:
    """Core rebuilds the caller from the database: a token's own tenant and role claims are not believed."""
    claims = await claims_of(core, acme.member)
    forged = core.app.state["core"].tokens.sign({**claims, "tenant_id": globex.id, "tenant_admin": True,
                                                 "platform_admin": True, "roles": ["platform_admin"]})
    assert (await core.client.get(f"/api/v1/tenants/{globex.id}", headers=bearer(forged))).status_code == 404
    r = await core.client.post("/api/v1/companies", json={"name": "Mine now", "tenant_id": acme.id},
                               headers=bearer(forged))
    assert r.status_code == 403, r.text


async def test_a_module_key_cannot_act_as_a_user(core: Harness, acme: Tenant) -> None:
    key = {"X-Module-Key": MODULE_KEYS["financial"]}
    assert (await core.client.get("/api/v1/me", headers=key)).status_code == 401
    r = await core.client.post("/api/v1/companies", json={"name": "X", "tenant_id": acme.id}, headers=key)
    assert r.status_code == 401
    r = await core.client.get(f"/api/v1/companies/{acme.company_id}/modules/warehouse/config", headers=key)
    assert r.status_code == 403  # its own configuration only
