"""Core's settings. Only `create_app` reads them; tests build their own."""

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from broker import BusSettings
from contracts.auth import is_dev_mode, secret_problem

PLATFORM_VERSION = "0.1.0"


def parse_module_keys(raw: str) -> dict[str, str]:
    """`"financial=key1,warehouse=key2"` -> {"financial": "key1", "warehouse": "key2"}."""
    keys: dict[str, str] = {}
    for part in raw.split(","):
        name, sep, key = part.strip().partition("=")
        if sep and name.strip() and key.strip():
            keys[name.strip()] = key.strip()
    return keys


class SettingsError(ValueError):
    """Core's configuration is incomplete or unsafe; core does not start."""


def _csv(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


@dataclass(frozen=True, slots=True)
class Settings:
    """How core runs.

    Attributes:
        database_url: core's database, also the bus database.
        jwt_algorithm: EdDSA or RS256, the kind of key generated when no key file is given (tests, dev).
        jwt_private_key_path: PEM private key (Ed25519 or RSA) every core replica signs with; without it
            (tests, dev mode only) a key is generated at start.
        jwt_previous_key_paths: PEM keys (public or private) rotated out but still verifying until removed.
        access_token_ttl: seconds an access token lives (short: modules trust its claims until then).
        refresh_token_ttl: seconds a refresh token lives; each is used once and replaced.
        module_api_keys: module name -> key expected in `X-Module-Key`.
        module_upstreams: module name -> base URL, overriding the manifest's upstream/port (gateway, health).
        gateway_config_key: when set, Traefik must send it in `X-Gateway-Key` to read the module routes.
        gateway_middlewares: middlewares (defined in Traefik's file provider) every module router uses.
        gateway_entry_points: Traefik entry points module routers listen on.
        module_health_timeout: seconds core waits for a module's /health when aggregating.
        login_failures_per_account / _per_address / login_failure_window: failed logins allowed per account
            and per client address within the window (seconds) before login answers 429 with Retry-After.
        dev_mode: BUILDIFY_DEV_MODE=1 lets core start with development defaults (a generated signing key).
    """

    database_url: str
    jwt_algorithm: Literal["EdDSA", "RS256"] = "EdDSA"
    jwt_private_key_path: Path | None = None
    jwt_previous_key_paths: tuple[Path, ...] = ()
    access_token_ttl: int = 300
    refresh_token_ttl: int = 12 * 3600
    module_api_keys: dict[str, str] = field(default_factory=dict)
    bus: BusSettings = field(default_factory=BusSettings)
    db_pool_size: int = 10
    platform_version: str = PLATFORM_VERSION
    module_upstreams: dict[str, str] = field(default_factory=dict)
    gateway_config_key: str = ""
    gateway_middlewares: list[str] = field(default_factory=lambda: ["security-headers@file", "rate-limit@file"])
    gateway_entry_points: list[str] = field(default_factory=lambda: ["web"])
    module_health_timeout: float = 2.0
    dev_mode: bool = False
    login_failures_per_account: int = 5
    login_failures_per_address: int = 20
    login_failure_window: float = 300.0

    def secret_problems(self) -> list[str]:
        """Every secret that is missing, a published value or too short (refused outside dev mode)."""
        problems: list[str] = []
        if self.jwt_private_key_path is None:
            problems.append("JWT_PRIVATE_KEY_FILE is not set (every core replica must sign with the same key)")
        for name, key in self.module_api_keys.items():
            problems.append(secret_problem(f"MODULE_API_KEYS entry {name!r}", key) or "")
        problems.append(secret_problem("GATEWAY_CONFIG_KEY", self.gateway_config_key) or "")
        return [p for p in problems if p]

    @classmethod
    def from_env(cls) -> "Settings":
        """DATABASE_URL, JWT_PRIVATE_KEY_FILE, JWT_PREVIOUS_KEY_FILES, JWT_ALGORITHM, ACCESS_TOKEN_TTL,
        REFRESH_TOKEN_TTL, MODULE_API_KEYS, BUS_* (see BusSettings)."""
        algorithm = {"EDDSA": "EdDSA", "RS256": "RS256"}.get(os.environ.get("JWT_ALGORITHM", "EdDSA").upper())
        if algorithm is None:
            raise SettingsError("JWT_ALGORITHM must be EdDSA or RS256 (core signs asymmetrically; HS256 is gone)")
        key_file = os.environ.get("JWT_PRIVATE_KEY_FILE")
        dev_mode = is_dev_mode()
        settings = cls(
            database_url=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/buildify"),
            jwt_algorithm=algorithm,  # type: ignore[arg-type]
            jwt_private_key_path=Path(key_file) if key_file else None,
            jwt_previous_key_paths=tuple(Path(p) for p in _csv(os.environ.get("JWT_PREVIOUS_KEY_FILES", ""))),
            access_token_ttl=int(os.environ.get("ACCESS_TOKEN_TTL", "300")),
            refresh_token_ttl=int(os.environ.get("REFRESH_TOKEN_TTL", str(12 * 3600))),
            module_api_keys=parse_module_keys(os.environ.get("MODULE_API_KEYS", "")),
            module_upstreams=parse_module_keys(os.environ.get("MODULE_UPSTREAMS", "")),
            gateway_config_key=os.environ.get("GATEWAY_CONFIG_KEY", ""),
            gateway_middlewares=_csv(os.environ.get("GATEWAY_MIDDLEWARES", "security-headers@file,rate-limit@file")),
            gateway_entry_points=_csv(os.environ.get("GATEWAY_ENTRY_POINTS", "web")),
            module_health_timeout=float(os.environ.get("MODULE_HEALTH_TIMEOUT", "2")),
            bus=BusSettings.from_env(),
            dev_mode=dev_mode,
            login_failures_per_account=int(os.environ.get("LOGIN_FAILURES_PER_ACCOUNT", "5")),
            login_failures_per_address=int(os.environ.get("LOGIN_FAILURES_PER_ADDRESS", "20")),
            login_failure_window=float(os.environ.get("LOGIN_FAILURE_WINDOW", "300")),
        )
        problems = settings.secret_problems()
        if problems and not dev_mode:
            raise SettingsError(
                "core refuses to start: " + "; ".join(problems) + ". Give each a random value of at least 32 bytes "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`), or set BUILDIFY_DEV_MODE=1 "
                "on a development machine."
            )
        return settings
