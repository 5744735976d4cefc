"""Settings of the financial service, read once by `create_app` (tests build their own)."""

import os
from dataclasses import dataclass, field
from typing import Literal

from broker import BusSettings
from contracts.auth import is_dev_mode, secret_problem

Strategy = Literal["shared", "separate"]


class SettingsError(ValueError):
    """The financial service's configuration is incomplete or contradictory."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Where the module keeps its data, how it reaches core and how it checks tokens.

    `shared`: tables (named with `schema_prefix`) and outbox live in `database_url`.
    `separate`: they live in `module_database_url`; the bus stays in `bus_url`.
    """

    database_url: str
    database_strategy: Strategy = "shared"
    module_database_url: str | None = None
    schema_prefix: str = "financial_"
    core_platform_url: str = "http://127.0.0.1:8000"
    module_api_key: str = ""
    jwt_jwks_url: str | None = None  # core's JWKS; default: <core_platform_url>/api/v1/auth/jwks
    jwt_algorithms: tuple[str, ...] = ("EdDSA", "RS256")
    event_bus_url: str | None = None
    config_cache_seconds: float = 300.0
    pool_size: int = 10
    run_migrations: bool = True
    bus: BusSettings = field(default_factory=BusSettings)

    def __post_init__(self) -> None:
        if self.database_strategy not in ("shared", "separate"):
            raise SettingsError(f"DATABASE_STRATEGY must be 'shared' or 'separate', not {self.database_strategy!r}")
        if self.database_strategy == "separate" and not self.module_database_url:
            raise SettingsError("DATABASE_STRATEGY=separate needs MODULE_DATABASE_URL")
        if not self.schema_prefix.replace("_", "").isalnum() or not self.schema_prefix[0].isalpha():
            raise SettingsError(f"SCHEMA_PREFIX must be letters, digits and underscores, not {self.schema_prefix!r}")

    @property
    def data_url(self) -> str:
        """The database holding the module's tables and its outbox."""
        if self.database_strategy == "separate":
            assert self.module_database_url is not None
            return self.module_database_url
        return self.database_url

    @property
    def jwks_url(self) -> str:
        """Where core publishes the public keys tokens are verified with (the module has no signing key)."""
        return self.jwt_jwks_url or self.core_platform_url.rstrip("/") + "/api/v1/auth/jwks"

    @property
    def bus_url(self) -> str:
        """The database holding the shared event log and subscriptions."""
        return self.event_bus_url or self.database_url

    @classmethod
    def from_env(cls) -> "Settings":
        """Read the variables the seed documents (DATABASE_STRATEGY, DATABASE_URL, ...)."""
        env = os.environ
        database_url = env.get("DATABASE_URL") or env.get("EVENT_BUS_CONNECTION_STRING")
        if not database_url:
            raise SettingsError("set DATABASE_URL (the shared database) to start the financial service")
        dev_mode = is_dev_mode(env)
        settings = cls(
            database_url=database_url,
            database_strategy=env.get("DATABASE_STRATEGY", "shared"),  # type: ignore[arg-type]
            module_database_url=env.get("MODULE_DATABASE_URL") or None,
            schema_prefix=env.get("SCHEMA_PREFIX", "financial_"),
            core_platform_url=env.get("CORE_PLATFORM_URL", "http://127.0.0.1:8000"),
            module_api_key=env.get("MODULE_API_KEY", ""),
            jwt_jwks_url=env.get("JWT_JWKS_URL") or None,
            jwt_algorithms=tuple(env.get("JWT_ALGORITHMS", "EdDSA,RS256").split(",")),
            event_bus_url=env.get("EVENT_BUS_CONNECTION_STRING") or None,
            config_cache_seconds=float(env.get("FINANCIAL_CONFIG_CACHE_SECONDS", "300")),
            bus=BusSettings.from_env(),
        )
        problems = settings.secret_problems()
        if problems and not dev_mode:
            raise SettingsError(
                "financial refuses to start: " + "; ".join(problems) + ". Give each a random value of at least "
                "32 bytes, or set BUILDIFY_DEV_MODE=1 on a development machine."
            )
        return settings

    def secret_problems(self) -> list[str]:
        """Every secret that is missing, a published value or too short (refused outside dev mode)."""
        problems = [secret_problem("MODULE_API_KEY", self.module_api_key)]
        if any(a.upper().startswith("HS") for a in self.jwt_algorithms):
            problems.append("JWT_ALGORITHMS names a shared-secret algorithm; tokens are verified with core's JWKS only")
        return [p for p in problems if p]
