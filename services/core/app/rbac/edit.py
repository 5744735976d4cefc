"""Editing and deleting tenant roles (issue 16); built-in roles are read-only."""

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, delete, patch

from services.core.app.auth.principal import Principal
from services.core.app.errors import Conflict, Forbidden, Invalid, NotFound
from services.core.app.rbac.controllers import RoleOut, role_out
from services.core.app.rbac.permissions import catalogue, is_valid_pattern
from services.core.app.tables import Role, UserCompanyRole


class UpdateRole(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Each field omitted keeps its value."""

    permissions: list[Annotated[str, msgspec.Meta(max_length=200)]] | None = None
    description: Annotated[str, msgspec.Meta(max_length=2000)] | None = None


async def tenant_role(role_id: UUID, principal: Principal) -> Role:
    """A role the caller administers: 404 for another tenant's, 403 for a built-in one."""
    role = await Role.objects().where(Role.id == role_id).first()
    if role is None or (role.tenant_id is not None and not principal.sees_tenant(role.tenant_id)):
        raise NotFound(f"No role {role_id}.")
    if role.tenant_id is None:
        raise Forbidden(f"{role.name!r} is a built-in role: create a tenant role instead.")
    if not principal.is_admin_of(role.tenant_id):
        raise Forbidden("Only the tenant's administrators change roles.")
    return role


class RoleEditController(Controller):
    path = "/api/v1/roles"
    tags = ["roles"]

    @patch("/{role_id:uuid}", summary="Change a tenant role's permissions or description",
           description="Takes effect at once in core, and in modules with the next access token.")
    async def update_role(self, role_id: UUID, data: UpdateRole, principal: Principal) -> RoleOut:
        role = await tenant_role(role_id, principal)
        if data.permissions is not None:
            known = await catalogue()
            bad = [p for p in data.permissions if not is_valid_pattern(p, known)]
            if bad:
                raise Invalid(f"`permissions`: unknown permission(s) {', '.join(bad)}.",
                              field="permissions")
            role.permissions = list(dict.fromkeys(data.permissions))  # type: ignore[assignment]  # JSONB column
        if data.description is not None:
            role.description = data.description
        await role.save([Role.permissions, Role.description])
        row = await Role.select().where(Role.id == role.id).output(load_json=True).first()
        assert row is not None
        return role_out(row)

    @delete("/{role_id:uuid}", status_code=204, summary="Delete a tenant role nobody holds",
            description="409 with the number of memberships while users still hold it.")
    async def delete_role(self, role_id: UUID, principal: Principal) -> None:
        role = await tenant_role(role_id, principal)
        held = await UserCompanyRole.count().where(UserCompanyRole.role_id == role.id)
        if held:
            raise Conflict(f"Role {role.name!r} is held {held} time(s): change those users' roles first.",
                           field="role")
        await Role.delete().where(Role.id == role.id)
