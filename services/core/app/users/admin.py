"""Changing users after creation (issue 16): roles per company, deactivation, password reset.

Core reads a user's memberships from the database on every request, so a change shows at once in
core; a module trusts the access token until it expires (`access_token_ttl`, 5 minutes). Deactivating
a user, removing a membership and resetting a password revoke the user's refresh tokens, so no new
access token is issued on the old facts.
"""

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import patch, post, put

from contracts.ids import uuid7
from services.core.app.auth.principal import Principal
from services.core.app.companies.controllers import visible_company
from services.core.app.errors import Forbidden, Invalid
from services.core.app.tables import User, UserCompanyRole
from services.core.app.users.controllers import (
    UserController,
    UserOut,
    grants_within_own,
    hashed,
    resolve_roles,
    user_out,
    visible_user,
)


class CompanyRoles(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The user's complete role list in one company; an empty list removes them from it."""

    roles: list[Annotated[str, msgspec.Meta(max_length=100)]]


class UpdateUser(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    is_active: bool | None = None
    tenant_admin: bool | None = None


class NewPassword(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    password: Annotated[str, msgspec.Meta(min_length=8, max_length=1024)]


async def managed_user(user_id: UUID, principal: Principal) -> User:
    """A user of the caller's tenant that only its administrators change (404 for another tenant's)."""
    user = await visible_user(user_id, principal)
    if user.tenant_id is None or not principal.sees_tenant(user.tenant_id):
        raise Forbidden("Platform accounts are managed with `buildify-core` commands, not here.")
    if not principal.is_admin_of(user.tenant_id):
        raise Forbidden("Only the tenant's administrators change accounts.")
    return user


async def revoke_sessions(conn: object, user_id: UUID) -> None:
    await conn.execute(  # type: ignore[attr-defined]
        "UPDATE refresh_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL", user_id)


class UserAdminController(UserController):
    """Core's user routes plus the changes: one controller per path, as Litestar adds one OPTIONS each."""

    @put("/{user_id:uuid}/companies/{company_id:uuid}", summary="Set a user's roles in one company",
         description="Tenant administrators, or a holder of `core.users.manage` there who grants only what "
         "they hold. An empty list removes the user from the company.")
    async def set_company_roles(self, user_id: UUID, company_id: UUID, data: CompanyRoles,
                                principal: Principal) -> UserOut:
        company = await visible_company(company_id, principal)
        user = await visible_user(user_id, principal)
        if user.tenant_id != company.tenant_id:
            raise Invalid(f"User {user_id} is not of this company's tenant.", field="user_id")
        principal.require("core.users.manage", company.id, company.tenant_id)
        if user.id == principal.user_id and not principal.is_admin_of(company.tenant_id):
            raise Forbidden("You cannot change your own roles.")
        roles = await resolve_roles(list(data.roles), company.tenant_id)
        if not principal.is_admin_of(company.tenant_id):
            await grants_within_own(principal, roles, [company.id], company.tenant_id)
        async with UserCompanyRole._meta.db.transaction():
            await UserCompanyRole.delete().where(
                (UserCompanyRole.user_id == user.id) & (UserCompanyRole.company_id == company.id))
            if roles:
                await UserCompanyRole.insert(*[UserCompanyRole(id=uuid7(), user_id=user.id, company_id=company.id,
                                                               role_id=r.id) for r in roles])
        return await user_out(user)

    @patch("/{user_id:uuid}", summary="Deactivate or reactivate a user, or change tenant administration",
           description="Tenant administrators only. A deactivated user can neither sign in nor refresh.")
    async def update_user(self, user_id: UUID, data: UpdateUser, principal: Principal) -> UserOut:
        user = await managed_user(user_id, principal)
        if user.id == principal.user_id and (data.is_active is False or data.tenant_admin is False):
            raise Forbidden("You cannot deactivate yourself or drop your own administration.")
        if data.is_active is not None:
            user.is_active = data.is_active
        if data.tenant_admin is not None:
            user.is_tenant_admin = data.tenant_admin
        await user.save([User.is_active, User.is_tenant_admin])  # the 0003 trigger revokes refresh tokens
        return await user_out(user)

    @post("/{user_id:uuid}/password", status_code=204, summary="Set a new password for a user",
          description="Tenant administrators only; the user's refresh tokens are revoked (sign in again).")
    async def reset_password(self, user_id: UUID, data: NewPassword, principal: Principal) -> None:
        user = await managed_user(user_id, principal)
        password_hash = await hashed(data.password)
        async with User._meta.db.transaction() as tx:
            await User.update({User.password_hash: password_hash}).where(User.id == user.id)
            await revoke_sessions(tx.connection, user.id)
