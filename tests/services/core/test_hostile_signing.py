"""Core signs access tokens with an asymmetric key by default (issue 11, finding 6).

The attacks: verify-with-the-public-key confusion (HS256 keyed with the published key), a token
signed by any key that is not core's, and a rotated-out key that keeps working forever.
"""

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from litestar.testing import AsyncTestClient

from contracts.auth import AUDIENCE, ISSUER
from services.core.app.auth.tokens import TokenService
from services.core.app.errors import NotAuthenticated
from services.core.app.main import create_app
from services.core.app.settings import Settings, SettingsError
from tests.services.core.conftest import FAST_BUS, Harness, Tenant

pytestmark = pytest.mark.security

FAR_FUTURE = 4_102_444_800  # 2100-01-01: these tests never depend on today's date


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638: SHA-256 of the required members, sorted, no whitespace."""
    required = {"OKP": ("crv", "kty", "x"), "RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y")}[jwk["kty"]]
    canonical = json.dumps({k: jwk[k] for k in required}, separators=(",", ":"), sort_keys=True)
    return b64(hashlib.sha256(canonical.encode()).digest())


def pem(key: Any) -> bytes:
    return bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                   serialization.NoEncryption()))


def public_pem(key: Any) -> bytes:
    return bytes(key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo))


async def claims_of(headers: dict[str, str]) -> dict[str, Any]:
    return dict(jwt.decode(headers["Authorization"].split(" ", 1)[1], options={"verify_signature": False}))


async def test_core_signs_with_an_asymmetric_key_named_by_its_thumbprint(core: Harness, acme: Tenant) -> None:
    token = acme.member["Authorization"].split(" ", 1)[1]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA", header
    keys = (await core.client.get("/api/v1/auth/jwks")).json()["keys"]
    assert [k["kid"] for k in keys] == [header["kid"]]
    assert header["kid"] == thumbprint(keys[0])
    assert "d" not in keys[0] and "k" not in keys[0], "the JWKS publishes private or symmetric material"
    jwt.decode(token, jwt.PyJWK(keys[0]).key, algorithms=["EdDSA"], audience=AUDIENCE, issuer=ISSUER)


@pytest.mark.parametrize("algorithm", ["EdDSA", "RS256"])
async def test_hs256_signed_with_core_s_public_key_is_refused(database_url: str, algorithm: str) -> None:
    """Algorithm confusion: the published key (PEM and raw JWK forms) used as an HMAC secret."""
    app = create_app(Settings(database_url=database_url, jwt_algorithm=algorithm, bus=FAST_BUS))  # type: ignore[arg-type]
    async with AsyncTestClient(app=app) as client:
        jwk = (await client.get("/api/v1/auth/jwks")).json()["keys"][0]
        public = jwt.PyJWK(jwk).key.public_bytes(serialization.Encoding.PEM,
                                                 serialization.PublicFormat.SubjectPublicKeyInfo)
        claims = {"sub": "00000000-0000-7000-8000-000000000001", "email": "x@evil.example", "platform_admin": True,
                  "iss": ISSUER, "aud": AUDIENCE, "exp": FAR_FUTURE, "iat": 1}
        for secret in (public, json.dumps(jwk).encode(), (jwk.get("x") or jwk["n"]).encode()):
            body = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": jwk["kid"]}).encode()) + "." + \
                b64(json.dumps(claims).encode())
            forged = body + "." + b64(hmac.new(secret, body.encode(), hashlib.sha256).digest())
            r = await client.get("/api/v1/me", headers=bearer(forged))
            assert r.status_code == 401, r.text


async def test_a_token_signed_by_any_other_key_is_refused(core: Harness, acme: Tenant) -> None:
    """Even with core's own key id in the header: a module (or anyone) has no key core accepts."""
    claims = {**await claims_of(acme.member), "exp": FAR_FUTURE}
    kid = jwt.get_unverified_header(acme.member["Authorization"].split(" ", 1)[1])["kid"]
    forged = {
        "other Ed25519": jwt.encode(claims, ed25519.Ed25519PrivateKey.generate(), algorithm="EdDSA",
                                    headers={"kid": kid}),
        "other RSA": jwt.encode(claims, rsa.generate_private_key(public_exponent=65537, key_size=2048),
                                algorithm="RS256", headers={"kid": kid}),
        "HS256 old default": jwt.encode(claims, "dev-secret-change-me-in-production", algorithm="HS256",
                                        headers={"kid": kid}),
    }
    for name, token in forged.items():
        r = await core.client.get("/api/v1/me", headers=bearer(token))
        assert r.status_code == 401, (name, r.text)


async def test_a_rotated_out_key_verifies_while_listed_and_not_once_removed(
    database_url: str, tmp_path: Path
) -> None:
    old, new = ed25519.Ed25519PrivateKey.generate(), ed25519.Ed25519PrivateKey.generate()
    (tmp_path / "new.pem").write_bytes(pem(new))
    (tmp_path / "old.pub.pem").write_bytes(public_pem(old))
    settings = Settings(database_url=database_url, bus=FAST_BUS, jwt_private_key_path=str(tmp_path / "new.pem"),
                        jwt_previous_key_paths=(str(tmp_path / "old.pub.pem"),))
    old_jwk = json.loads(jwt.algorithms.OKPAlgorithm.to_jwk(old.public_key()))
    claims = {"sub": "00000000-0000-7000-8000-000000000001", "email": "x@a.example", "iss": ISSUER,
              "aud": AUDIENCE, "exp": FAR_FUTURE, "iat": 1}
    signed_by_old = jwt.encode(claims, old, algorithm="EdDSA", headers={"kid": thumbprint(old_jwk)})

    rotated = TokenService(settings)
    assert rotated.verify(signed_by_old).sub == claims["sub"]
    assert {k["kid"] for k in rotated.jwks()["keys"]} == {thumbprint(old_jwk), rotated.kid}
    assert jwt.get_unverified_header(rotated.issue(rotated.verify(signed_by_old)))["kid"] == rotated.kid

    removed = TokenService(Settings(database_url=database_url, jwt_private_key_path=str(tmp_path / "new.pem")))
    with pytest.raises(NotAuthenticated):
        removed.verify(signed_by_old)
    assert [k["kid"] for k in removed.jwks()["keys"]] == [rotated.kid]  # same file, same kid: replicas agree


def test_outside_dev_mode_core_needs_a_key_file_every_replica_shares(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    strong = "k" * 16 + "Z" * 16
    for name in ("BUILDIFY_DEV_MODE", "JWT_PRIVATE_KEY_FILE", "JWT_PREVIOUS_KEY_FILES", "JWT_ALGORITHM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql://x@127.0.0.1/x")
    monkeypatch.setenv("GATEWAY_CONFIG_KEY", strong)
    with pytest.raises(SettingsError, match="JWT_PRIVATE_KEY_FILE"):
        Settings.from_env()
    key = tmp_path / "core.pem"
    key.write_bytes(pem(ed25519.Ed25519PrivateKey.generate()))
    monkeypatch.setenv("JWT_PRIVATE_KEY_FILE", str(key))
    assert Settings.from_env().jwt_private_key_path == str(key)
