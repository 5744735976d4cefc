"""Tenants: the top of the hierarchy. Only platform administrators create them."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, get, post
from litestar.openapi.spec import Example
from litestar.params import Body

from contracts.core import TenantCreated
from contracts.ids import uuid7
from services.core.app.auth.principal import Principal
from services.core.app.context import CoreContext
from services.core.app.errors import Conflict, Forbidden, NotFound
from services.core.app.paging import DEFAULT_LIMIT, Limit, Offset
from services.core.app.tables import Tenant
from services.core.app.unique import unique_as_conflict

SLUG = r"^[a-z0-9][a-z0-9-]{1,62}$"


class CreateTenant(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    slug: Annotated[str, msgspec.Meta(pattern=SLUG, description="lower-case letters, digits and dashes")]


class TenantOut(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    name: str
    slug: str
    created_at: datetime


def tenant_out(row: Tenant) -> TenantOut:
    return TenantOut(id=row.id, name=row.name, slug=row.slug, created_at=row.created_at)


async def administered_tenant(tenant_id: UUID, principal: Principal, *, forbidden: str,
                              field: str | None = None) -> None:
    """Pass if the caller administers the tenant: 404 if they may not see it (or it does not exist), else 403
    with `forbidden`; `field` names the body field the id came from."""
    if not principal.sees_tenant(tenant_id) or not await Tenant.exists().where(Tenant.id == tenant_id):
        raise NotFound(f"No tenant {tenant_id}" + (f" (field `{field}`)." if field else "."), field=field)
    if not principal.is_admin_of(tenant_id):
        raise Forbidden(forbidden)


class TenantController(Controller):
    path = "/api/v1/tenants"
    tags = ["tenants"]

    @post(
        "/",
        summary="Create a tenant (platform administrators)",
        description="Publishes `core.tenant.created` in the same transaction.",
    )
    async def create_tenant(
        self,
        data: Annotated[
            CreateTenant,
            Body(examples=[Example(summary="A tenant", value={"name": "Acme Group", "slug": "acme"})]),
        ],
        principal: Principal,
        core: CoreContext,
    ) -> TenantOut:
        if not principal.platform_admin:
            raise Forbidden("Only platform administrators create tenants (`core.tenants.manage`).")
        if await Tenant.exists().where(Tenant.slug == data.slug):
            raise Conflict(f"`slug` {data.slug!r} is already taken.", field="slug")
        tenant = Tenant(id=uuid7(), name=data.name, slug=data.slug)
        async with unique_as_conflict("slug", data.slug), Tenant._meta.db.transaction() as tx:
            await tenant.save()
            await core.bus.publish(
                tx.connection, TenantCreated(tenant_id=tenant.id, name=data.name, slug=data.slug), tenant_id=tenant.id
            )
        saved = await Tenant.objects().where(Tenant.id == tenant.id).first()
        assert saved is not None
        return tenant_out(saved)

    @get("/", summary="Tenants you can see (all for platform administrators, else your own)")
    async def list_tenants(self, principal: Principal, limit: Limit = DEFAULT_LIMIT, offset: Offset = 0
                           ) -> list[TenantOut]:
        query = Tenant.objects().order_by(Tenant.created_at, Tenant.id).limit(limit).offset(offset)
        if not principal.platform_admin:
            query = query.where(Tenant.id == principal.tenant_id)
        return [tenant_out(t) for t in await query]

    @get("/{tenant_id:uuid}", summary="One tenant")
    async def get_tenant(self, tenant_id: UUID, principal: Principal) -> TenantOut:
        row = await Tenant.objects().where(Tenant.id == tenant_id).first()
        if row is None or not principal.sees_tenant(tenant_id):
            raise NotFound(f"No tenant {tenant_id}.")
        return tenant_out(row)
