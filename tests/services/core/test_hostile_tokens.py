"""Hostile tokens against core (issue 11's JWT list; finding 6's "core must require exp")."""

import base64
import hashlib
import hmac
import json
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jwt.algorithms import RSAAlgorithm
from litestar.testing import AsyncTestClient

from contracts.auth import AUDIENCE, DEV_JWT_SECRET, ISSUER
from services.core.app.main import create_app
from services.core.app.settings import Settings
from tests.services.core.conftest import FAST_BUS, MODULE_KEYS, Harness, Tenant

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
    without_exp = {k: v for k, v in claims.items() if k != "exp"}
    cases = {
        "no exp": jwt.encode(without_exp, DEV_JWT_SECRET, algorithm="HS256"),
        "expired": jwt.encode({**claims, "exp": LONG_AGO, "iat": LONG_AGO - 60}, DEV_JWT_SECRET, algorithm="HS256"),
        "wrong key": jwt.encode({**claims, "exp": FAR_FUTURE}, "x" * 40, algorithm="HS256"),
        "alg none": b64({"alg": "none", "typ": "JWT"}) + "." + b64({**claims, "exp": FAR_FUTURE}) + ".",
        "wrong audience": jwt.encode({**claims, "aud": "someone-else"}, DEV_JWT_SECRET, algorithm="HS256"),
        "wrong issuer": jwt.encode({**claims, "iss": "evil"}, DEV_JWT_SECRET, algorithm="HS256"),
        "module key as a token": MODULE_KEYS["financial"],
    }
    for name, token in cases.items():
        r = await core.client.get("/api/v1/me", headers=bearer(token))
        assert r.status_code == 401, (name, r.text)
        assert r.json()["code"] == "not_authenticated", name


async def test_claims_for_another_tenant_grant_nothing(core: Harness, acme: Tenant, globex: Tenant) -> None:
    """Core rebuilds the caller from the database: a token's own tenant and role claims are not believed."""
    claims = await claims_of(core, acme.member)
    forged = jwt.encode({**claims, "tenant_id": globex.id, "tenant_admin": True, "platform_admin": True,
                         "roles": ["platform_admin"]}, DEV_JWT_SECRET, algorithm="HS256")
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


async def test_rs256_core_refuses_hs256_tokens_signed_with_its_public_key(database_url: str) -> None:
    """Algorithm confusion: the public key from the JWKS used as an HMAC secret."""
    app = create_app(Settings(database_url=database_url, jwt_algorithm="RS256", bus=FAST_BUS))
    async with AsyncTestClient(app=app) as client:
        jwk = (await client.get("/api/v1/auth/jwks")).json()["keys"][0]
        public_pem = RSAAlgorithm.from_jwk(json.dumps(jwk)).public_bytes(  # type: ignore[union-attr]
            encoding=Encoding.PEM, format=PublicFormat.SubjectPublicKeyInfo)
        claims = {"sub": "00000000-0000-7000-8000-000000000001", "email": "x@evil.example", "platform_admin": True,
                  "iss": ISSUER, "aud": AUDIENCE, "exp": FAR_FUTURE, "iat": LONG_AGO}
        header = b64({"alg": "HS256", "typ": "JWT", "kid": jwk["kid"]})
        body = header + "." + b64(claims)
        signature = base64.urlsafe_b64encode(hmac.new(public_pem, body.encode(), hashlib.sha256).digest())
        forged = body + "." + signature.rstrip(b"=").decode()
        r = await client.get("/api/v1/me", headers=bearer(forged))
        assert r.status_code == 401, r.text
