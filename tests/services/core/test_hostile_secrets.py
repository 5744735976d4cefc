"""Known default secrets (issue 11, finding 2): no service starts with a missing, known or short secret."""

import tempfile
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from contracts.auth import AUDIENCE, DEV_JWT_SECRET, ISSUER
from modulekit.settings import load_settings
from services.core.app.settings import Settings as CoreSettings
from services.financial.app.settings import Settings as FinancialSettings

pytestmark = pytest.mark.security

STRONG = "k" * 16 + "Z" * 16  # 32 bytes, not a published value
KEY_FILE = Path(tempfile.mkdtemp()) / "core.pem"
KEY_FILE.write_bytes(ed25519.Ed25519PrivateKey.generate().private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
CORE_ENV = {"DATABASE_URL": "postgresql://x@127.0.0.1/x", "JWT_PRIVATE_KEY_FILE": str(KEY_FILE),
            "MODULE_API_KEYS": f"financial={STRONG}", "GATEWAY_CONFIG_KEY": STRONG}
FINANCIAL_ENV = {"DATABASE_URL": "postgresql://x@127.0.0.1/x", "MODULE_API_KEY": STRONG}
WEAK = [None, "", DEV_JWT_SECRET, "change-me-jwt-secret", "secret", "short-but-random-8f3a"]


def environment(monkeypatch: pytest.MonkeyPatch, values: dict[str, str | None]) -> None:
    for name in ("BUILDIFY_DEV_MODE", "JWT_ALGORITHM", "JWT_JWKS_URL", "JWT_SECRET_KEY", *values):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        if value is not None:
            monkeypatch.setenv(name, value)


CORE_WEAK = [
    *(("GATEWAY_CONFIG_KEY", value) for value in WEAK),
    # no module keys at all is a valid configuration (no module may call core); a weak key is not
    *(("MODULE_API_KEYS", f"financial={value}") for value in WEAK if value),
]


@pytest.mark.parametrize(("variable", "value"), CORE_WEAK)
def test_core_refuses_to_start_with_a_weak_secret(monkeypatch: pytest.MonkeyPatch, variable: str,
                                                  value: str | None) -> None:
    environment(monkeypatch, {**CORE_ENV, variable: value})
    with pytest.raises(ValueError, match="refuses to start") as refused:
        CoreSettings.from_env()
    assert variable.rstrip("S") in str(refused.value)


@pytest.mark.parametrize("variable", ["MODULE_API_KEY"])
@pytest.mark.parametrize("value", WEAK)
def test_financial_refuses_to_start_with_a_weak_secret(monkeypatch: pytest.MonkeyPatch, variable: str,
                                                       value: str | None) -> None:
    environment(monkeypatch, {**FINANCIAL_ENV, variable: value})
    with pytest.raises(ValueError, match="refuses to start") as refused:
        load_settings(FinancialSettings, service="financial")
    assert variable in str(refused.value)


def test_both_start_with_strong_secrets_and_in_explicit_dev_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    environment(monkeypatch, CORE_ENV)
    assert CoreSettings.from_env().jwt_private_key_path == str(KEY_FILE)
    environment(monkeypatch, FINANCIAL_ENV)
    assert load_settings(FinancialSettings, service="financial").module_api_key == STRONG
    environment(monkeypatch, {"DATABASE_URL": "postgresql://x@127.0.0.1/x", "JWT_PRIVATE_KEY_FILE": None,
                              "MODULE_API_KEYS": None, "MODULE_API_KEY": None, "GATEWAY_CONFIG_KEY": None,
                              "BUILDIFY_DEV_MODE": "1"})
    assert CoreSettings.from_env().jwt_private_key_path is None  # dev mode: a generated key
    assert load_settings(FinancialSettings, service="financial").keys_url.endswith("/api/v1/auth/jwks")


def test_a_token_forged_with_the_old_default_secret_is_useless(database_url: str) -> None:
    """The attack: sign `platform_admin` claims with the published fallback. Core has no HS256 at all now."""
    from services.core.app.auth.tokens import TokenService
    from services.core.app.errors import NotAuthenticated

    forged = jwt.encode({"sub": "00000000-0000-7000-8000-000000000000", "email": "x@evil.example",
                         "platform_admin": True, "iss": ISSUER, "aud": AUDIENCE, "exp": 2**40, "iat": 1},
                        DEV_JWT_SECRET, algorithm="HS256")
    with pytest.raises(NotAuthenticated):
        TokenService(CoreSettings(database_url=database_url, jwt_private_key_path=str(KEY_FILE))).verify(forged)
