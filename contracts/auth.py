"""What an access token says. Core signs it; every module verifies it locally."""

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
