"""Core's settings. Only `create_app` reads them; tests build their own."""

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from broker import BusSettings

PLATFORM_VERSION = "0.1.0"


def parse_module_keys(raw: str) -> dict[str, str]:
    """`"financial=key1,warehouse=key2"` -> {"financial": "key1", "warehouse": "key2"}."""
    keys: dict[str, str] = {}
    for part in raw.split(","):
        name, sep, key = part.strip().partition("=")
        if sep and name.strip() and key.strip():
            keys[name.strip()] = key.strip()
    return keys


def _csv(raw: str) -> list[str]:
    return [part.strip() for part in raw.split(",") if part.strip()]


@dataclass(frozen=True, slots=True)
class Settings:
    """How core runs.

    Attributes:
        database_url: core's database, also the bus database.
        jwt_algorithm: HS256 (shared secret, the seed's mode) or RS256 (JWKS at /api/v1/auth/jwks).
        jwt_secret_key: the HS256 secret, shared with modules.
        jwt_private_key_path: RS256 PEM private key; without it a key is generated at start.
        access_token_ttl: seconds an access token lives.
        module_api_keys: module name -> key expected in `X-Module-Key`.
        module_upstreams: module name -> base URL, overriding the manifest's upstream/port (gateway, health).
        gateway_config_key: when set, Traefik must send it in `X-Gateway-Key` to read the module routes.
        gateway_middlewares: middlewares (defined in Traefik's file provider) every module router uses.
        gateway_entry_points: Traefik entry points module routers listen on.
        module_health_timeout: seconds core waits for a module's /health when aggregating.
    """

    database_url: str
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_secret_key: str = "dev-secret-change-me-in-production"
    jwt_private_key_path: Path | None = None
    access_token_ttl: int = 3600
    module_api_keys: dict[str, str] = field(default_factory=dict)
    bus: BusSettings = field(default_factory=BusSettings)
    db_pool_size: int = 10
    platform_version: str = PLATFORM_VERSION
    module_upstreams: dict[str, str] = field(default_factory=dict)
    gateway_config_key: str = ""
    gateway_middlewares: list[str] = field(default_factory=lambda: ["security-headers@file", "rate-limit@file"])
    gateway_entry_points: list[str] = field(default_factory=lambda: ["web"])
    module_health_timeout: float = 2.0

    @classmethod
    def from_env(cls) -> "Settings":
        """DATABASE_URL, JWT_ALGORITHM, JWT_SECRET_KEY, JWT_PRIVATE_KEY_FILE, ACCESS_TOKEN_TTL,
        MODULE_API_KEYS, BUS_* (see BusSettings)."""
        algorithm = os.environ.get("JWT_ALGORITHM", "HS256").upper()
        if algorithm not in {"HS256", "RS256"}:
            raise ValueError(f"JWT_ALGORITHM must be HS256 or RS256, not {algorithm!r}")
        key_file = os.environ.get("JWT_PRIVATE_KEY_FILE")
        return cls(
            database_url=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/buildify"),
            jwt_algorithm=algorithm,  # type: ignore[arg-type]
            jwt_secret_key=os.environ.get("JWT_SECRET_KEY", cls.jwt_secret_key),
            jwt_private_key_path=Path(key_file) if key_file else None,
            access_token_ttl=int(os.environ.get("ACCESS_TOKEN_TTL", "3600")),
            module_api_keys=parse_module_keys(os.environ.get("MODULE_API_KEYS", "")),
            module_upstreams=parse_module_keys(os.environ.get("MODULE_UPSTREAMS", "")),
            gateway_config_key=os.environ.get("GATEWAY_CONFIG_KEY", ""),
            gateway_middlewares=_csv(os.environ.get("GATEWAY_MIDDLEWARES", "security-headers@file,rate-limit@file")),
            gateway_entry_points=_csv(os.environ.get("GATEWAY_ENTRY_POINTS", "web")),
            module_health_timeout=float(os.environ.get("MODULE_HEALTH_TIMEOUT", "2")),
            bus=BusSettings.from_env(),
        )
