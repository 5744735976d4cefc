"""Companies belong to one tenant; tenant administrators create them."""

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import Controller, get, post
from litestar.openapi.spec import Example
from litestar.params import Body

from contracts.core import CompanyCreated
from contracts.ids import uuid7
from services.core.app.auth.principal import Principal
from services.core.app.context import CoreContext
from services.core.app.errors import Conflict, NotFound
from services.core.app.paging import DEFAULT_LIMIT, Limit, Offset
from services.core.app.tables import Company
from services.core.app.tenants.controllers import administered_tenant
from services.core.app.unique import unique_as_conflict


class CreateCompany(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    tenant_id: UUID
    currency: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}$", description="ISO 4217")] | None = None


class CompanyOut(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    tenant_id: UUID
    name: str
    currency: str | None
    created_at: datetime
    archived_at: datetime | None = None


def company_out(row: Company) -> CompanyOut:
    return CompanyOut(
        id=row.id, tenant_id=row.tenant_id, name=row.name, currency=row.currency, created_at=row.created_at,
        archived_at=row.archived_at,
    )


async def visible_company(company_id: UUID, principal: Principal) -> Company:
    """The company if the caller may see it; 404 otherwise (never reveals another tenant's ids)."""
    row = await Company.objects().where(Company.id == company_id).first()
    if row is None or not principal.sees_company(row.id, row.tenant_id):
        raise NotFound(f"No company {company_id}.")
    return row


class CompanyController(Controller):
    path = "/api/v1/companies"
    tags = ["companies"]

    @post("/", summary="Create a company in a tenant (tenant administrators)",
          description="Publishes `core.company.created` in the same transaction.")
    async def create_company(
        self,
        data: Annotated[
            CreateCompany,
            Body(examples=[Example(summary="A German subsidiary", value={
                "name": "Acme GmbH", "tenant_id": "0191d7a4-0000-7000-8000-000000000001", "currency": "EUR"})]),
        ],
        principal: Principal,
        core: CoreContext,
    ) -> CompanyOut:
        await administered_tenant(data.tenant_id, principal, field="tenant_id",
                                  forbidden="Only the tenant's administrators create companies.")
        if await Company.exists().where((Company.tenant_id == data.tenant_id) & (Company.name == data.name)):
            raise Conflict(f"`name` {data.name!r} is already a company of this tenant.", field="name")
        company = Company(id=uuid7(), tenant_id=data.tenant_id, name=data.name, currency=data.currency)
        async with unique_as_conflict("name", data.name), Company._meta.db.transaction() as tx:
            await company.save()
            await core.bus.publish(
                tx.connection,
                CompanyCreated(company_id=company.id, tenant_id=data.tenant_id, name=data.name, currency=data.currency),
                tenant_id=data.tenant_id,
                company_id=company.id,
            )
        return company_out(await visible_company(company.id, principal))

    @get("/", summary="Companies you can see (those where you hold `core.companies.read`)")
    async def list_companies(self, principal: Principal, tenant_id: UUID | None = None,
                             limit: Limit = DEFAULT_LIMIT, offset: Offset = 0,
                             include_archived: bool = False) -> list[CompanyOut]:
        query = Company.objects().order_by(Company.created_at, Company.id).limit(limit).offset(offset)
        if not include_archived:
            query = query.where(Company.archived_at.is_null())
        if tenant_id is not None:
            query = query.where(Company.tenant_id == tenant_id)
        if not principal.platform_admin:
            query = query.where(Company.tenant_id == principal.tenant_id)
            if not principal.tenant_admin:
                ids = [UUID(c) for c, ps in principal.companies.items() if "core.companies.read" in ps]
                if not ids:
                    return []
                query = query.where(Company.id.is_in(ids))
        return [company_out(c) for c in await query]

    @get("/{company_id:uuid}", summary="One company (needs `core.companies.read` there)")
    async def get_company(self, company_id: UUID, principal: Principal) -> CompanyOut:
        company = await visible_company(company_id, principal)
        principal.require("core.companies.read", company.id, company.tenant_id)
        return company_out(company)
