"""What an access token says. Core signs it; every module verifies it locally."""

import os
from collections.abc import Mapping
from uuid import UUID

import msgspec

ISSUER = "buildify-core"
AUDIENCE = "buildify"


class AccessClaims(msgspec.Struct, frozen=True, kw_only=True):
    """JWT claims of a Buildify access token.

    `companies` maps each company id (string) the user belongs to onto the permissions the
    user holds there, so a module can authorise a request without asking core.
    """

    sub: str  # user id
    email: str
    tenant_id: UUID | None = None
    companies: dict[str, list[str]] = msgspec.field(default_factory=dict)
    roles: list[str] = msgspec.field(default_factory=list)
    platform_admin: bool = False
    tenant_admin: bool = False
    iss: str = ISSUER
    aud: str = AUDIENCE
    iat: int = 0
    exp: int = 0

    def can(self, permission: str, company_id: UUID | str) -> bool:
        """Whether the user holds `permission` in `company_id` (tenant admins hold all in their tenant)."""
        if self.platform_admin or self.tenant_admin:
            return str(company_id) in self.companies or self.platform_admin
        return permission in self.companies.get(str(company_id), [])


# -- secrets every service refuses outside dev mode ------------------------------------------

MIN_SECRET_BYTES = 32
DEV_MODE_VARIABLE = "BUILDIFY_DEV_MODE"
DEV_JWT_SECRET = "dev-secret-change-me-in-production"  # the old published HS256 default: refused as any secret
KNOWN_SECRETS = frozenset({
    DEV_JWT_SECRET, "secret", "changeme", "change-me", "password", "jwt-secret", "your-secret-key",
    "supersecret", "fin-key", "wh-key", "traefik-only",
})
_PLACEHOLDER_WORDS = ("change-me", "changeme", "change_me", "replace-me", "replace_me")


def is_dev_mode(environ: Mapping[str, str] | None = None) -> bool:
    """Whether BUILDIFY_DEV_MODE explicitly asks for development defaults (1, true, yes)."""
    env = os.environ if environ is None else environ
    return env.get(DEV_MODE_VARIABLE, "").strip().lower() in {"1", "true", "yes"}


def secret_problem(name: str, value: str, *, min_bytes: int = MIN_SECRET_BYTES) -> str | None:
    """Why `value` is not acceptable as the secret `name` (missing, a known or placeholder value,
    or shorter than `min_bytes`), or None when it is."""
    if not value:
        return f"{name} is not set"
    lowered = value.strip().lower()
    if lowered in KNOWN_SECRETS or any(word in lowered for word in _PLACEHOLDER_WORDS):
        return f"{name} is a published example or placeholder value"
    if len(value.encode()) < min_bytes:
        return f"{name} is shorter than {min_bytes} bytes"
    return None
