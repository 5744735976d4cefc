"""Known default secrets (issue 11, finding 2): no service starts with a missing, known or short secret."""

import jwt
import pytest

from contracts.auth import AUDIENCE, DEV_JWT_SECRET, ISSUER
from services.core.app.settings import Settings as CoreSettings
from services.financial.app.settings import Settings as FinancialSettings

pytestmark = pytest.mark.security

STRONG = "k" * 16 + "Z" * 16  # 32 bytes, not a published value
CORE_ENV = {"DATABASE_URL": "postgresql://x@127.0.0.1/x", "JWT_SECRET_KEY": STRONG,
            "MODULE_API_KEYS": f"financial={STRONG}", "GATEWAY_CONFIG_KEY": STRONG}
FINANCIAL_ENV = {"DATABASE_URL": "postgresql://x@127.0.0.1/x", "JWT_SECRET_KEY": STRONG, "MODULE_API_KEY": STRONG}
WEAK = [None, "", DEV_JWT_SECRET, "change-me-jwt-secret", "secret", "short-but-random-8f3a"]


def environment(monkeypatch: pytest.MonkeyPatch, values: dict[str, str | None]) -> None:
    for name in ("BUILDIFY_DEV_MODE", "JWT_ALGORITHM", "JWT_JWKS_URL", *values):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        if value is not None:
            monkeypatch.setenv(name, value)


CORE_WEAK = [
    *((variable, value) for variable in ("JWT_SECRET_KEY", "GATEWAY_CONFIG_KEY") for value in WEAK),
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


@pytest.mark.parametrize("variable", ["JWT_SECRET_KEY", "MODULE_API_KEY"])
@pytest.mark.parametrize("value", WEAK)
def test_financial_refuses_to_start_with_a_weak_secret(monkeypatch: pytest.MonkeyPatch, variable: str,
                                                       value: str | None) -> None:
    environment(monkeypatch, {**FINANCIAL_ENV, variable: value})
    with pytest.raises(ValueError, match="refuses to start") as refused:
        FinancialSettings.from_env()
    assert variable in str(refused.value)


def test_both_start_with_strong_secrets_and_in_explicit_dev_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    environment(monkeypatch, CORE_ENV)
    assert CoreSettings.from_env().jwt_secret_key == STRONG
    environment(monkeypatch, FINANCIAL_ENV)
    assert FinancialSettings.from_env().jwt_secret_key == STRONG
    environment(monkeypatch, {"DATABASE_URL": "postgresql://x@127.0.0.1/x", "JWT_SECRET_KEY": None,
                              "MODULE_API_KEYS": None, "MODULE_API_KEY": None, "GATEWAY_CONFIG_KEY": None,
                              "BUILDIFY_DEV_MODE": "1"})
    assert CoreSettings.from_env().dev_mode
    assert FinancialSettings.from_env().jwt_secret_key == DEV_JWT_SECRET


def test_a_token_forged_with_the_old_default_secret_is_useless_once_core_started(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The attack: sign `platform_admin` claims with the published fallback. Core no longer has it."""
    forged = jwt.encode({"sub": "00000000-0000-7000-8000-000000000000", "email": "x@evil.example",
                         "platform_admin": True, "iss": ISSUER, "aud": AUDIENCE, "exp": 2**40},
                        DEV_JWT_SECRET, algorithm="HS256")
    environment(monkeypatch, {**CORE_ENV, "JWT_SECRET_KEY": None})
    with pytest.raises(ValueError, match="JWT_SECRET_KEY is not set"):
        CoreSettings.from_env()
    environment(monkeypatch, CORE_ENV)
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(forged, CoreSettings.from_env().jwt_secret_key, algorithms=["HS256"], audience=AUDIENCE)
