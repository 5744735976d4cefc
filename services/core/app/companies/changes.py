"""Renaming and archiving companies (issue 16): the changes an administrator makes after creation."""

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

import msgspec
from litestar import patch

from services.core.app.auth.principal import Principal
from services.core.app.companies.controllers import CompanyController, CompanyOut, company_out, visible_company
from services.core.app.errors import Conflict, Invalid
from services.core.app.tables import Company
from services.core.app.unique import unique_as_conflict


class UpdateCompany(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Each field omitted keeps its value; `archived: false` restores an archived company."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None
    archived: bool | None = None


class CompanyAdminController(CompanyController):
    """Core's company routes plus the changes: one controller per path, as Litestar adds one OPTIONS each."""

    @patch("/{company_id:uuid}", summary="Rename, archive or restore a company (needs `core.companies.manage`)",
           description="An archived company keeps its data; it leaves /me and the lists "
           "(`include_archived=true` shows it).")
    async def update_company(self, company_id: UUID, data: UpdateCompany, principal: Principal) -> CompanyOut:
        company = await visible_company(company_id, principal)
        principal.require("core.companies.manage", company.id, company.tenant_id)
        if data.name is None and data.archived is None:
            raise Invalid("Send `name` or `archived`.", field="name")
        name = data.name.strip() if data.name is not None else None
        if name is not None and name != company.name:
            if not name:
                raise Invalid("`name` must not be blank.", field="name")
            if await Company.exists().where((Company.tenant_id == company.tenant_id) & (Company.name == name)):
                raise Conflict(f"`name` {name!r} is already a company of this tenant.", field="name")
            company.name = name
        if data.archived is not None and data.archived != (company.archived_at is not None):
            company.archived_at = datetime.now(UTC) if data.archived else None
        async with unique_as_conflict("name", name):
            await company.save([Company.name, Company.archived_at])
        return company_out(company)
