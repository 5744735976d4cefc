"""Who is calling: a user (from a bearer token) or a module (from its X-Module-Key).

Core builds a user's principal from the database on every request, so a role removed or a
company added shows at once; the token carries the same facts for modules, which trust it
until it expires.
"""

import hmac
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from litestar import Request
from litestar.connection import ASGIConnection

from contracts.auth import AccessClaims
from services.core.app.errors import Forbidden, NotAuthenticated
from services.core.app.rbac.permissions import catalogue, expand
from services.core.app.tables import Company, User, UserCompanyRole


@dataclass(frozen=True, slots=True)
class Principal:
    """A signed-in user and what they may do in each company."""

    user_id: UUID
    email: str
    tenant_id: UUID | None
    platform_admin: bool = False
    tenant_admin: bool = False
    companies: dict[str, list[str]] = field(default_factory=dict)
    roles: dict[str, list[str]] = field(default_factory=dict)  # company id -> role names

    def claims(self) -> AccessClaims:
        names = sorted({r for rs in self.roles.values() for r in rs})
        if self.tenant_admin:
            names = ["tenant_admin", *names]
        if self.platform_admin:
            names = ["platform_admin", *names]
        return AccessClaims(
            sub=str(self.user_id),
            email=self.email,
            tenant_id=self.tenant_id,
            companies=self.companies,
            roles=names,
            platform_admin=self.platform_admin,
            tenant_admin=self.tenant_admin,
        )

    def sees_tenant(self, tenant_id: UUID) -> bool:
        return self.platform_admin or self.tenant_id == tenant_id

    def is_admin_of(self, tenant_id: UUID) -> bool:
        return self.platform_admin or (self.tenant_admin and self.tenant_id == tenant_id)

    def sees_company(self, company_id: UUID, tenant_id: UUID) -> bool:
        if self.platform_admin:
            return True
        return self.tenant_id == tenant_id and (self.tenant_admin or str(company_id) in self.companies)

    def can(self, permission: str, company_id: UUID, tenant_id: UUID) -> bool:
        if self.is_admin_of(tenant_id):
            return True
        return self.tenant_id == tenant_id and permission in self.companies.get(str(company_id), [])

    def require(self, permission: str, company_id: UUID, tenant_id: UUID) -> None:
        if not self.can(permission, company_id, tenant_id):
            raise Forbidden(f"You need the permission `{permission}` in company {company_id}.")

    def permissions(self) -> list[str]:
        return sorted({p for ps in self.companies.values() for p in ps})


@dataclass(frozen=True, slots=True)
class ModuleCaller:
    """A module calling core with its API key."""

    module: str


async def load_principal(user_id: UUID) -> Principal | None:
    """Build the principal of an active user, or None."""
    user = await User.objects().where(User.id == user_id).first()
    if user is None or not user.is_active:
        return None
    known = await catalogue()
    companies: dict[str, list[str]] = {}
    roles: dict[str, list[str]] = {}
    if user.tenant_id is not None:
        rows = await UserCompanyRole.select(
            UserCompanyRole.company_id, UserCompanyRole.role_id.name, UserCompanyRole.role_id.permissions
        ).where(UserCompanyRole.user_id == user.id).output(load_json=True)
        grants: dict[str, set[str]] = {}
        for row in rows:
            cid = str(row["company_id"])
            roles.setdefault(cid, []).append(row["role_id.name"])
            grants.setdefault(cid, set()).update(expand(list(row["role_id.permissions"]), known))
        if user.is_tenant_admin:
            everything = expand(["*"], known)
            for c in await Company.select(Company.id).where(Company.tenant_id == user.tenant_id):
                grants[str(c["id"])] = set(everything)
        companies = {cid: sorted(perms) for cid, perms in grants.items()}
    return Principal(
        user_id=user.id,
        email=user.email,
        tenant_id=user.tenant_id,
        platform_admin=user.is_platform_admin,
        tenant_admin=user.is_tenant_admin,
        companies=companies,
        roles={cid: sorted(names) for cid, names in roles.items()},
    )


def _bearer(request: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def principal_from_request(request: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The signed-in user; 401 without a valid bearer token."""
    token = _bearer(request)
    if token is None:
        raise NotAuthenticated("Send `Authorization: Bearer <access_token>` (from POST /api/v1/auth/login).")
    claims = request.app.state["core"].tokens.verify(token)
    principal = await load_principal(UUID(claims.sub))
    if principal is None:
        raise NotAuthenticated("The user of this token no longer exists or is disabled.")
    return principal


def module_from_request(request: ASGIConnection[Any, Any, Any, Any]) -> ModuleCaller | None:
    """The module whose X-Module-Key was sent; 401 for a wrong key."""
    key = request.headers.get("x-module-key")
    if key is None:
        return None
    keys: dict[str, str] = request.app.state["core"].settings.module_api_keys
    for name, expected in keys.items():
        if hmac.compare_digest(key.encode(), expected.encode()):
            return ModuleCaller(module=name)
    raise NotAuthenticated("The X-Module-Key is not a known module key.")


async def provide_principal(request: Request[Any, Any, Any]) -> Principal:
    return await principal_from_request(request)
