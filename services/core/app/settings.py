"""Core's settings, read by the kit's one loader (`modulekit.load_settings`). Only `create_app`
reads them; tests build their own."""

from collections.abc import Mapping
from typing import ClassVar, Literal

import msgspec

from broker import BusSettings
from contracts.auth import is_dev_mode, secret_problem
from modulekit.settings import Secret, SettingsError, load_settings

PLATFORM_VERSION = "0.1.0"

__all__ = ["PLATFORM_VERSION", "Settings", "SettingsError"]


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """How core runs; each field is read from the variable of its name upper-cased (`DATABASE_URL`).

    Attributes:
        database_url: core's database, also the bus database.
        jwt_algorithm: EdDSA or RS256, the kind of key generated when no key file is given (tests, dev).
        jwt_private_key_path (`JWT_PRIVATE_KEY_FILE`): PEM private key (Ed25519 or RSA) every core replica
            signs with; without it (tests, dev mode only) a key is generated at start.
        jwt_previous_key_paths (`JWT_PREVIOUS_KEY_FILES`): PEM keys rotated out but still verifying.
        access_token_ttl: seconds an access token lives (short: modules trust its claims until then).
        refresh_token_ttl: seconds a refresh token lives; each is used once and replaced.
        module_api_keys: module name -> key expected in `X-Module-Key` (`financial=key1,warehouse=key2`).
        module_upstreams: module name -> base URL, overriding the manifest's upstream/port (gateway, health).
        gateway_config_key: when set, Traefik must send it in `X-Gateway-Key` to read the module routes.
        gateway_middlewares: middlewares (defined in Traefik's file provider) every module router uses.
        gateway_entry_points: Traefik entry points module routers listen on.
        module_health_timeout: seconds core waits for a module's /health when aggregating.
        login_failures_per_account / _per_address / login_failure_window: failed logins allowed per account
            and per client address within the window (seconds) before login answers 429 with Retry-After.
    """

    database_url: str
    jwt_algorithm: Literal["EdDSA", "RS256"] = "EdDSA"
    jwt_private_key_path: str | None = msgspec.field(default=None, name="jwt_private_key_file")
    jwt_previous_key_paths: tuple[str, ...] = msgspec.field(default=(), name="jwt_previous_key_files")
    access_token_ttl: int = 300
    refresh_token_ttl: int = 12 * 3600
    module_api_keys: dict[str, str] = msgspec.field(default_factory=dict)
    bus: BusSettings = msgspec.field(default_factory=BusSettings)
    db_pool_size: int = 10
    platform_version: ClassVar[str] = PLATFORM_VERSION  # the code's version, never configured
    module_upstreams: dict[str, str] = msgspec.field(default_factory=dict)
    gateway_config_key: Secret = ""
    gateway_middlewares: list[str] = msgspec.field(
        default_factory=lambda: ["security-headers@file", "rate-limit@file"])
    gateway_entry_points: list[str] = msgspec.field(default_factory=lambda: ["web"])
    module_health_timeout: float = 2.0
    login_failures_per_account: int = 5
    login_failures_per_address: int = 20
    login_failure_window: float = 300.0

    def secret_problems(self) -> list[str]:
        """Core's secrets the kit's `Secret` type cannot express: the signing key file, each module key."""
        problems: list[str] = []
        if self.jwt_private_key_path is None:
            problems.append("JWT_PRIVATE_KEY_FILE is not set (every core replica must sign with the same key)")
        for name, key in self.module_api_keys.items():
            problems.append(secret_problem(f"MODULE_API_KEYS entry {name!r}", key) or "")
        return [p for p in problems if p]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        """Core's settings from the environment: every missing or invalid variable named at once, and
        missing, published or short secrets refused outside BUILDIFY_DEV_MODE (=1 lets core start with
        development defaults, such as a generated signing key)."""
        settings = load_settings(cls, env, service="core")
        problems = settings.secret_problems()
        if problems and not is_dev_mode(env):
            raise SettingsError(
                "core refuses to start: " + "; ".join(problems) + ". Give each a random value of at least 32 bytes "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`), or set BUILDIFY_DEV_MODE=1 "
                "on a development machine."
            )
        return settings
