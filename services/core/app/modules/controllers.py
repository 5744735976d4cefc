"""HTTP face of the module registry: catalogue, tenant and company tiers, resolved config, audit."""

from typing import Annotated, Any, Literal
from uuid import UUID

from litestar import Controller, Request, delete, get, post, put
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.spec import Example
from litestar.params import Body, Parameter

from contracts.api import ResolvedConfig
from contracts.manifest import Manifest
from modulekit.problems import reject_bad_input
from services.core.app.auth.principal import ModuleCaller, Principal, module_from_request, principal_from_request
from services.core.app.companies.controllers import visible_company
from services.core.app.context import CoreContext
from services.core.app.db import engine
from services.core.app.errors import Conflict, Forbidden, NotFound
from services.core.app.modules.manifests import parse_manifest
from services.core.app.modules.records import Actor, module_out
from services.core.app.modules.registry import ModuleRegistry
from services.core.app.modules.schemas import (
    AuditEntry,
    CompanyModuleIn,
    CompanyModuleOut,
    ModuleOut,
    RegisterResult,
    RemovalPlan,
    TenantModuleIn,
    TenantModuleOut,
    TenantPlan,
)
from services.core.app.tables import Company, Tenant
from services.core.app.tenants.controllers import administered_tenant

MANIFEST_EXAMPLE = {
    "name": "financial", "display_name": "Financial", "version": "1.0.0",
    "backend": {"api_prefix": "/api/v1/financial", "port": 8001},
    "frontend": {"entry": "/modules/financial/module.js",
                 "menu": [{"label": "Invoices", "path": "financial/invoices",
                           "permission": "financial.invoices.read"}]},
    "permissions": [{"name": "financial.invoices.read"}, {"name": "financial.invoices.write"}],
    "config_schema": {"type": "object", "properties": {
        "currency": {"type": "string", "default": "USD", "pattern": "^[A-Z]{3}$"},
        "tax_rate": {"type": "number", "minimum": 0, "maximum": 1, "default": 0},
        "invoice_prefix": {"type": "string", "default": "INV"}}},
    "features": [{"name": "recurring_invoices", "default": False}],
    "events": {"publishes": ["financial.invoice.created"], "consumes": ["core.company.created"]},
}


def registry(core: CoreContext) -> ModuleRegistry:
    return ModuleRegistry(core.bus, core.settings.platform_version)


async def may_register(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: only a module (with its key) or a platform administrator gets its manifest parsed at all.

    Guards run before `before_request` and before the body is decoded, so a stranger's manifest is
    never looked at (a manifest is untrusted input: its patterns, sizes and paths are the attack).
    """
    if module_from_request(connection) is None and not (await principal_from_request(connection)).platform_admin:
        raise Forbidden("Only platform administrators (or the module itself) register modules.")


async def check_manifest(request: Request[Any, Any, Any]) -> None:
    """Validate the raw body first, so a bad manifest is refused with every problem listed."""
    await reject_bad_input(request)  # this hook replaces the app-wide one for this route
    parse_manifest(await request.body())


async def tenant_for_admin(tenant_id: UUID, principal: Principal) -> None:
    await administered_tenant(
        tenant_id, principal, forbidden="Only the tenant's administrators manage its modules (`core.modules.manage`)."
    )


class ModuleController(Controller):
    path = "/api/v1"
    tags = ["modules"]

    @post("/modules", guards=[may_register], before_request=check_manifest, status_code=200,
          summary="Register or upgrade a module from its manifest",
          description="Platform administrators, or the module itself with its `X-Module-Key`. A lower version "
          "than the registered one is refused; an identical manifest changes nothing. "
          "Publishes `core.module.registered`.")
    async def register_module(
        self, request: Request[Any, Any, Any],
        data: Annotated[Manifest, Body(examples=[Example(summary="financial", value=MANIFEST_EXAMPLE)])],
        core: CoreContext,
    ) -> RegisterResult:
        module = module_from_request(request)
        if module is not None:
            if module.module != data.name:
                raise Forbidden(f"The key of module {module.module} cannot register {data.name}.")
        elif not (await principal_from_request(request)).platform_admin:
            raise Forbidden("Only platform administrators (or the module itself) register modules.")
        return await registry(core).register(data)

    @get("/modules", summary="Registered modules")
    async def list_modules(self, principal: Principal) -> list[ModuleOut]:
        async with engine.transaction() as tx:
            rows = await tx.connection.fetch("SELECT * FROM modules ORDER BY name")
        return [module_out(r) for r in rows]

    @get("/modules/{name:str}", summary="One registered module")
    async def get_module(self, name: str, principal: Principal, core: CoreContext) -> ModuleOut:
        async with engine.transaction() as tx:
            row = await registry(core).get(tx.connection, name)
        return module_out(row)

    @get("/tenants/{tenant_id:uuid}/modules", summary="The tenant's modules and their tenant-tier settings")
    async def list_tenant_modules(self, tenant_id: UUID, principal: Principal, core: CoreContext
                                  ) -> list[TenantModuleOut]:
        if not principal.sees_tenant(tenant_id) or not await Tenant.exists().where(Tenant.id == tenant_id):
            raise NotFound(f"No tenant {tenant_id}.")
        return await registry(core).tenant_modules(tenant_id)

    @get("/tenants/{tenant_id:uuid}/modules/{name:str}", summary="A module's tenant-tier settings")
    async def get_tenant_module(self, tenant_id: UUID, name: str, principal: Principal, core: CoreContext
                                ) -> TenantModuleOut:
        if not principal.sees_tenant(tenant_id) or not await Tenant.exists().where(Tenant.id == tenant_id):
            raise NotFound(f"No tenant {tenant_id}.")
        return await registry(core).tenant_module(tenant_id, name)

    @put("/tenants/{tenant_id:uuid}/modules/{name:str}",
         summary="Enable, disable or configure a module for a tenant (the seed's enable_for_tenant)",
         description="Refused with the reasons when `requires` is not met. `?dry_run=true` answers the plan "
         "instead (a TenantPlan): dependencies, permissions and menu entries added, configuration, "
         "subscriptions, warnings. Publishes `core.module.enabled` / `disabled` / `configured`.")
    async def put_tenant_module(
        self, tenant_id: UUID, name: str,
        data: Annotated[TenantModuleIn, Body(examples=[Example(summary="Europe", value={
            "is_enabled": True, "configuration": {"currency": "EUR", "tax_rate": 0.20}})])],
        principal: Principal, core: CoreContext,
        dry_run: Annotated[bool, Parameter(description="answer the plan, change nothing")] = False,
    ) -> TenantModuleOut | TenantPlan:
        await tenant_for_admin(tenant_id, principal)
        reg = registry(core)
        if dry_run:
            async with engine.transaction() as tx:
                return await reg.plan_tenant(tx.connection, tenant_id, name, data)
        return await reg.set_for_tenant(tenant_id, name, data, Actor(principal.user_id))

    @delete("/tenants/{tenant_id:uuid}/modules/{name:str}", status_code=200,
            summary="Remove a module from a tenant, keeping or purging its data",
            description="`mode=keep` removes core's settings and leaves the module's data; `mode=purge` also asks "
            "the module to delete the tenant's data and needs `confirm=true` (without it the answer is 409 with "
            "the plan of what purge deletes). `dry_run=true` answers the plan.")
    async def remove_tenant_module(
        self, tenant_id: UUID, name: str, principal: Principal, core: CoreContext,
        mode: Literal["keep", "purge"] = "keep", dry_run: bool = False, confirm: bool = False,
    ) -> RemovalPlan:
        await tenant_for_admin(tenant_id, principal)
        reg = registry(core)
        actor = Actor(principal.user_id)
        if mode == "purge" and not confirm and not dry_run:
            plan = await reg.remove_for_tenant(tenant_id, name, mode, perform=False, actor=actor)
            raise Conflict("Purging deletes data: repeat with `confirm=true` after reading the plan: it deletes "
                           + "; ".join(plan.deletes) + ", and keeps " + "; ".join(plan.keeps) + ".", field="confirm")
        return await reg.remove_for_tenant(tenant_id, name, mode, perform=not dry_run, actor=actor)

    @get("/tenants/{tenant_id:uuid}/modules/{name:str}/audit", summary="Configuration history of a module")
    async def tenant_module_audit(
        self, tenant_id: UUID, name: str, principal: Principal, core: CoreContext, company_id: UUID | None = None,
    ) -> list[AuditEntry]:
        if not principal.sees_tenant(tenant_id) or not await Tenant.exists().where(Tenant.id == tenant_id):
            raise NotFound(f"No tenant {tenant_id}.")
        companies: list[UUID] | None = None
        if company_id is not None:
            company = await visible_company(company_id, principal)
            principal.require("core.modules.read", company.id, company.tenant_id)
            companies = [company_id]
        elif not principal.is_admin_of(tenant_id):
            companies = [UUID(c) for c, ps in principal.companies.items() if "core.modules.read" in ps]
            if not companies:
                raise Forbidden("You need `core.modules.read` to see configuration history.")
        entries = await registry(core).audit(tenant_id, name, companies)
        if company_id is not None:
            entries = [e for e in entries if e.company_id == company_id]
        return entries

    @put("/companies/{company_id:uuid}/modules/{name:str}",
         summary="Customise a module for a company (the seed's enable_for_company)",
         description="Stores configuration, enabled_features and disabled_features with customized_at/by. "
         "Publishes `core.module.configured` (and enabled/disabled when that changes).")
    async def put_company_module(
        self, company_id: UUID, name: str,
        data: Annotated[CompanyModuleIn, Body(examples=[Example(summary="German subsidiary", value={
            "is_enabled": True, "configuration": {"tax_rate": 0.19, "invoice_prefix": "DE-INV"},
            "enabled_features": ["recurring_invoices"], "disabled_features": []})])],
        principal: Principal, core: CoreContext,
    ) -> CompanyModuleOut:
        company = await visible_company(company_id, principal)
        principal.require("core.modules.manage", company.id, company.tenant_id)
        return await registry(core).set_for_company(company.tenant_id, company.id, name, data,
                                                     Actor(principal.user_id))

    @get("/companies/{company_id:uuid}/modules/{name:str}", summary="A company's customisation of a module")
    async def get_company_module(self, company_id: UUID, name: str, principal: Principal, core: CoreContext
                                 ) -> CompanyModuleOut:
        company = await visible_company(company_id, principal)
        principal.require("core.modules.read", company.id, company.tenant_id)
        return await registry(core).company_module(company.tenant_id, company.id, name)

    @get("/companies/{company_id:uuid}/modules/{name:str}/config",
         summary="Resolved configuration (defaults <- tenant <- company) with each key's tier",
         description="For a user token, or for the module itself with `X-Module-Key` (its own module only).")
    async def resolved_config(self, request: Request[Any, Any, Any], company_id: UUID, name: str,
                              core: CoreContext) -> ResolvedConfig:
        caller: Principal | ModuleCaller | None = module_from_request(request)
        if caller is None:
            caller = await principal_from_request(request)
        company = await Company.objects().where(Company.id == company_id).first()
        if isinstance(caller, ModuleCaller):
            if caller.module != name:
                raise Forbidden(f"The key of module {caller.module} reads only its own configuration.")
            if company is None:
                raise NotFound(f"No company {company_id}.")
        else:
            company = await visible_company(company_id, caller)
            caller.require("core.modules.read", company.id, company.tenant_id)
        return await registry(core).resolve(company.tenant_id, company.id, name)

