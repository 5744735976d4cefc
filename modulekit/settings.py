"""One settings loader for every service: a msgspec Struct whose field `core_url` is read from
the variable `CORE_URL`, and so on. Every missing or invalid variable is named in one error,
and secrets that are missing, published or short are refused outside `BUILDIFY_DEV_MODE`.
"""

import os
from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin

import msgspec

from broker import BusSettings
from contracts.auth import is_dev_mode, secret_problem

S = TypeVar("S", bound=msgspec.Struct)

SECRET = msgspec.Meta(extra={"secret": True})
Secret = Annotated[str, SECRET]
"""A field type whose value must be a real secret outside dev mode."""

Strategy = Literal["shared", "separate"]


class SettingsError(ValueError):
    """The service's configuration is incomplete or invalid."""


def _is_secret(annotation: object) -> bool:
    return get_origin(annotation) is Annotated and any(
        isinstance(m, msgspec.Meta) and (m.extra or {}).get("secret") for m in get_args(annotation)[1:]
    )


def _text_value(raw: str, annotation: object) -> object:
    """A variable's text as its field's shape: `a,b` for a list or tuple, `name=value,...` for a dict."""
    origin = get_origin(annotation)
    if origin in (list, tuple):
        return [part.strip() for part in raw.split(",") if part.strip()]
    if origin is dict:
        pairs = (part.strip().partition("=") for part in raw.split(",") if part.strip())
        return {name.strip(): value.strip() if sep else None for name, sep, value in pairs}
    return raw


def load_settings(kind: type[S], env: Mapping[str, str] | None = None, *, service: str = "the service") -> S:
    """Build `kind` from environment variables named after its fields, upper-cased.

    Raises `SettingsError` naming every missing or invalid variable at once, and every unsafe
    secret unless `BUILDIFY_DEV_MODE` is set.
    """
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    problems: list[str] = []
    for field in msgspec.structs.fields(kind):
        if field.type is BusSettings:  # the bus reads its own `BUS_*` variables
            values[field.name] = BusSettings.from_env()
            continue
        name = field.encode_name.upper()
        raw = env.get(name)
        if raw is None or raw == "":
            if field.required:
                problems.append(f"{name} is missing")
            continue
        try:
            values[field.name] = msgspec.convert(_text_value(raw, field.type), type=field.type, strict=False)
        except msgspec.ValidationError as exc:
            problems.append(f"{name}={raw[:60]!r} is invalid ({exc})")
    if not problems:
        try:
            settings = kind(**values)
        except (TypeError, ValueError) as exc:
            problems.append(str(exc))
    if problems:
        raise SettingsError(f"{service} cannot start: " + "; ".join(problems))
    unsafe = secret_problems(settings)
    if unsafe and not is_dev_mode(env):
        raise SettingsError(
            f"{service} refuses to start: " + "; ".join(unsafe) + ". Give each a random value of at least "
            "32 bytes, or set BUILDIFY_DEV_MODE=1 on a development machine."
        )
    return settings


def secret_problems(settings: msgspec.Struct) -> list[str]:
    """Every `Secret` field that is missing, a published value or too short."""
    problems = [
        secret_problem(f.encode_name.upper(), getattr(settings, f.name))
        for f in msgspec.structs.fields(type(settings)) if _is_secret(f.type)
    ]
    return [p for p in problems if p]


class ModuleSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The variables every module reads, under the same names everywhere.

    `shared`: the module's tables (named with `schema_prefix`) and its outbox live in `database_url`.
    `separate`: they live in `module_database_url`; the bus stays in `event_bus_connection_string`
    (default: `database_url`). A module subclasses this to add its own variables.
    """

    database_url: str
    database_strategy: Strategy = "shared"
    module_database_url: str | None = None
    schema_prefix: str = ""
    core_url: str = "http://127.0.0.1:8000"
    jwks_url: str | None = None  # default: <core_url>/api/v1/auth/jwks
    module_api_key: Secret = ""
    event_bus_connection_string: str | None = None
    config_cache_seconds: float = 300.0
    pool_size: int = 10
    run_migrations: bool = True
    bus: BusSettings = msgspec.field(default_factory=BusSettings)

    def __post_init__(self) -> None:
        if self.database_strategy == "separate" and not self.module_database_url:
            raise ValueError("DATABASE_STRATEGY=separate needs MODULE_DATABASE_URL")
        if self.schema_prefix and (not self.schema_prefix.replace("_", "").isalnum()
                                   or not self.schema_prefix[0].isalpha()):
            raise ValueError(f"SCHEMA_PREFIX must be letters, digits and underscores, not {self.schema_prefix!r}")

    @property
    def data_url(self) -> str:
        """The database holding the module's tables and its outbox."""
        if self.database_strategy == "separate" and self.module_database_url:
            return self.module_database_url
        return self.database_url

    @property
    def bus_url(self) -> str:
        """The database holding the shared event log and subscriptions."""
        return self.event_bus_connection_string or self.database_url

    @property
    def keys_url(self) -> str:
        """Where core publishes the public keys tokens are verified with (modules hold no signing key)."""
        return self.jwks_url or self.core_url.rstrip("/") + "/api/v1/auth/jwks"

