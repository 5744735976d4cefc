"""Roles (named sets of permissions, assigned per company) and the permission catalogue."""

from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, get, post
from litestar.openapi.spec import Example
from litestar.params import Body

from contracts.ids import uuid7
from services.core.app.auth.principal import Principal
from services.core.app.errors import Conflict, Invalid
from services.core.app.rbac.permissions import CORE_PERMISSIONS, PermissionOut, catalogue, is_valid_pattern
from services.core.app.tables import Role
from services.core.app.tenants.controllers import administered_tenant
from services.core.app.unique import unique_as_conflict


class CreateRole(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_-]{1,99}$")]
    tenant_id: UUID
    permissions: list[str]
    description: str = ""


class RoleOut(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    name: str
    tenant_id: UUID | None
    permissions: list[str]
    description: str
    built_in: bool


def role_out(row: dict) -> RoleOut:  # type: ignore[type-arg]
    return RoleOut(id=row["id"], name=row["name"], tenant_id=row["tenant_id"], permissions=list(row["permissions"]),
                   description=row["description"], built_in=row["tenant_id"] is None)


class RoleController(Controller):
    path = "/api/v1"
    tags = ["roles"]

    @get("/permissions", summary="Every permission: core's own and each registered module's")
    async def list_permissions(self, principal: Principal) -> list[PermissionOut]:
        known = await catalogue()
        return [PermissionOut(name=n, description=d, source="core" if n in CORE_PERMISSIONS else n.split(".")[0])
                for n, d in sorted(known.items())]

    @get("/roles", summary="Roles you can assign: built-in ones and your tenant's")
    async def list_roles(self, principal: Principal) -> list[RoleOut]:
        query = Role.select().order_by(Role.name).output(load_json=True)
        if not principal.platform_admin:
            query = query.where(Role.tenant_id.is_null() | (Role.tenant_id == principal.tenant_id))
        return [role_out(r) for r in await query]

    @post("/roles", summary="Create a tenant role (tenant administrators)")
    async def create_role(
        self,
        data: Annotated[CreateRole, Body(examples=[Example(summary="An accountant", value={
            "name": "accountant", "tenant_id": "0191d7a4-0000-7000-8000-000000000001",
            "permissions": ["financial.*", "core.companies.read"]})])],
        principal: Principal,
    ) -> RoleOut:
        await administered_tenant(data.tenant_id, principal, field="tenant_id",
                                  forbidden="Only the tenant's administrators create roles.")
        if await Role.exists().where((Role.name == data.name) & Role.tenant_id.is_null()):
            raise Conflict(f"`name` {data.name!r} is a built-in role's name; choose another (a tenant role may not "
                           "shadow a built-in one).", field="name")
        known = await catalogue()
        bad = [p for p in data.permissions if not is_valid_pattern(p, known)]
        if bad:
            raise Invalid(f"`permissions`: unknown permission(s) {', '.join(bad)}.",
                          field="permissions")
        if await Role.exists().where((Role.name == data.name) & (Role.tenant_id == data.tenant_id)):
            raise Conflict(f"`name` {data.name!r} is already a role of this tenant.", field="name")
        role = Role(id=uuid7(), tenant_id=data.tenant_id, name=data.name, description=data.description,
                    permissions=list(data.permissions))
        async with unique_as_conflict("name", data.name):
            await role.save()
        row = await Role.select().where(Role.id == role.id).output(load_json=True).first()
        assert row is not None
        return role_out(row)
