"""A module cannot mint tokens (issue 11, finding 6): it holds no signing key, and a token signed by
any key other than core's, or HS256-keyed with core's public key, is refused."""

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx
import jwt
import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from jwt.algorithms import OKPAlgorithm

from modulekit.errors import Unauthorized
from modulekit.settings import load_settings
from modulekit.tokens import ASYMMETRIC, TokenVerifier
from services.financial.app.settings import Settings
from tests.services.financial.conftest import ALL, CORE_KEY, CORE_KID, FakeCore, Harness, token
from tests.services.financial.helpers import company

pytestmark = pytest.mark.security

STRONG = "k" * 16 + "Z" * 16


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_the_module_s_settings_carry_no_signing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    names = {f.name for f in msgspec.structs.fields(Settings)}
    assert not {n for n in names if "secret" in n or "private" in n}, names
    for name in ("BUILDIFY_DEV_MODE", "JWKS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://x@127.0.0.1/x")
    monkeypatch.setenv("MODULE_API_KEY", STRONG)
    monkeypatch.setenv("JWT_SECRET_KEY", STRONG)  # left over from an old deployment: not read
    monkeypatch.setenv("CORE_URL", "http://core:8000")
    settings = load_settings(Settings)
    assert STRONG not in {str(getattr(settings, n)) for n in names if n != "module_api_key"}
    assert settings.keys_url == "http://core:8000/api/v1/auth/jwks"
    assert not [a for a in ASYMMETRIC if a.upper().startswith("HS")]  # no setting can add a shared-secret one
    monkeypatch.setenv("MODULE_API_KEY", "changeme")
    with pytest.raises(ValueError, match="refuses to start"):
        load_settings(Settings)


async def test_tokens_signed_by_any_key_but_core_s_are_refused(shared: Harness) -> None:
    tenant_id, company_id, _ = await company(shared)
    params = {"company_id": str(company_id)}
    claims: dict[str, Any] = jwt.decode(token(tenant_id, {company_id: ALL}), options={"verify_signature": False})
    public = CORE_KEY.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    jwk = json.loads(OKPAlgorithm.to_jwk(CORE_KEY.public_key()))
    forged = {
        "another Ed25519 key, core's kid": jwt.encode(claims, ed25519.Ed25519PrivateKey.generate(),
                                                      algorithm="EdDSA", headers={"kid": CORE_KID}),
        "an RSA key, core's kid": jwt.encode(claims, rsa.generate_private_key(public_exponent=65537, key_size=2048),
                                             algorithm="RS256", headers={"kid": CORE_KID}),
        "the old dev secret": jwt.encode(claims, "dev-secret-change-me-in-production", algorithm="HS256",
                                         headers={"kid": CORE_KID}),
    }
    for name, secret in {"HS256 keyed with the PEM": public, "HS256 keyed with x": jwk["x"].encode(),
                         "HS256 keyed with the JWK": json.dumps(jwk).encode()}.items():
        body = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": CORE_KID}).encode()) + "." + \
            b64(json.dumps(claims).encode())
        forged[name] = body + "." + b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())
    for name, bad in forged.items():
        r = await shared.client.get("/api/v1/financial/invoices", params=params,
                                    headers={"Authorization": f"Bearer {bad}"})
        assert r.status_code == 401, (name, r.text)
    ok = await shared.client.get("/api/v1/financial/invoices", params=params,
                                 headers={"Authorization": f"Bearer {token(tenant_id, {company_id: ALL})}"})
    assert ok.status_code == 200, ok.text


async def test_a_key_core_lists_as_previous_verifies_and_not_once_removed(core: FakeCore) -> None:
    """Rotation seen from the module: a second key in core's JWKS verifies; once core drops it (and the
    module's copy of the JWKS is older than max_age) it is refused."""
    tenant_id, company_id = core.add_company()
    old = ed25519.Ed25519PrivateKey.generate()
    core.extra_keys.append({**json.loads(OKPAlgorithm.to_jwk(old.public_key())), "kid": "old", "alg": "EdDSA"})
    signed = token(tenant_id, {company_id: ALL}, key=old, kid="old")
    now = [0.0]
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=core.app()), base_url="http://core")
    verifier = TokenVerifier(http, "http://core/api/v1/auth/jwks", max_age=300, clock=lambda: now[0])
    assert (await verifier.verify(signed)).tenant_id == tenant_id
    core.extra_keys.clear()
    now[0] += 301
    with pytest.raises(Unauthorized):
        await verifier.verify(signed)
    assert (await verifier.verify(token(tenant_id, {company_id: ALL}))).tenant_id == tenant_id
