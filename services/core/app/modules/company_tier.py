"""The registry's company tier: customise a tenant's module for one company, and resolve the
configuration a module uses for a company.
"""

from datetime import UTC, datetime
from typing import Any, TypedDict
from uuid import UUID

from contracts.api import ResolvedConfig
from contracts.core import (
    ModuleConfigured,
    ModuleDisabled,
    ModuleEnabled,
)
from contracts.ids import uuid7
from contracts.manifest import Manifest
from services.core.app.db import engine
from services.core.app.errors import Conflict, Invalid, NotFound
from services.core.app.modules import config_schema
from services.core.app.modules.records import (
    Actor,
    check_configuration,
    dump_json,
    features_on,
    load_json,
    manifest_of,
    resolve_values,
)
from services.core.app.modules.registry_base import RegistryBase
from services.core.app.modules.schemas import (
    CompanyModuleIn,
    CompanyModuleOut,
)


class CompanyState(TypedDict):
    """A company's customisation of a module, as stored (and as published in `before`/`after`)."""

    is_enabled: bool
    configuration: dict[str, Any]
    enabled_features: list[str]
    disabled_features: list[str]


class CompanyTier(RegistryBase):
    """Customise per company and resolve the three tiers."""

    async def set_for_company(
        self, tenant_id: UUID, company_id: UUID, name: str, data: CompanyModuleIn, actor: Actor
    ) -> CompanyModuleOut:
        """The seed's enable_for_company: customise a tenant-enabled module for one company."""
        async with engine.transaction() as tx:
            conn = tx.connection
            _module, manifest, tenant_row = await self._tenant_setup(conn, tenant_id, name, lock=True)
            if tenant_row is None or not tenant_row["is_enabled"]:
                raise Conflict(f"{name} is not enabled for this company's tenant; enable it for the tenant first.",
                               field="name")
            current = await conn.fetchrow(
                "SELECT * FROM company_modules WHERE company_id = $1 AND tenant_module_id = $2 FOR UPDATE",
                company_id, tenant_row["id"],
            )
            old = self._company_state(current)
            new: CompanyState = {
                "is_enabled": data.is_enabled,
                "configuration": old["configuration"] if data.configuration is None else data.configuration,
                "enabled_features": old["enabled_features"] if data.enabled_features is None else data.enabled_features,
                "disabled_features": (
                    old["disabled_features"] if data.disabled_features is None else data.disabled_features),
            }
            self._check_features(manifest, new["enabled_features"], new["disabled_features"])
            tenant_config = load_json(tenant_row["configuration"], {})
            merged = {**config_schema.defaults(manifest.config_schema), **tenant_config, **new["configuration"]}
            check_configuration(manifest, new["configuration"], merged)
            now = datetime.now(UTC)
            args = (new["is_enabled"], dump_json(new["configuration"]), dump_json(new["enabled_features"]),
                    dump_json(new["disabled_features"]), now, actor.user_id)
            if current is None:
                row = await conn.fetchrow(
                    "INSERT INTO company_modules (id, company_id, tenant_module_id, is_enabled, configuration,"
                    " enabled_features, disabled_features, customized_at, customized_by_user_id, updated_at)"
                    " VALUES ($7, $8, $9, $1, $2::jsonb, $3::jsonb, $4::jsonb, $5, $6, $5) RETURNING *",
                    *args, uuid7(), company_id, tenant_row["id"],
                )
            else:
                row = await conn.fetchrow(
                    "UPDATE company_modules SET is_enabled = $1, configuration = $2::jsonb,"
                    " enabled_features = $3::jsonb,"
                    " disabled_features = $4::jsonb, customized_at = $5, customized_by_user_id = $6, updated_at = $5"
                    " WHERE id = $7 RETURNING *",
                    *args, current["id"],
                )
            if new != old or current is None:
                await self._audit(conn, tenant_id, company_id, name, "company.customized", actor,
                                  dict(old) if current else {}, dict(new))
            if new["is_enabled"] != old["is_enabled"]:
                event = ModuleEnabled(module_name=name, tenant_id=tenant_id, company_id=company_id,
                                      configuration=new["configuration"]) if new["is_enabled"] \
                    else ModuleDisabled(module_name=name, tenant_id=tenant_id, company_id=company_id)
                await self.bus.publish(conn, event, tenant_id=tenant_id, company_id=company_id)
            features_changed = (new["enabled_features"], new["disabled_features"]) != (
                old["enabled_features"], old["disabled_features"])
            if new["configuration"] != old["configuration"] or features_changed:
                await self.bus.publish(
                    conn, ModuleConfigured(module_name=name, tenant_id=tenant_id, company_id=company_id,
                                           before=dict(old), after=dict(new)),
                    tenant_id=tenant_id, company_id=company_id,
                )
        return self._company_out(name, tenant_id, row)

    @staticmethod
    def _check_features(manifest: Manifest, enabled: list[str], disabled: list[str]) -> None:
        known = {f.name for f in manifest.features}
        for field, names in (("enabled_features", enabled), ("disabled_features", disabled)):
            unknown = [n for n in names if n not in known]
            if unknown:
                raise Invalid(f"`{field}`: {manifest.name} has no feature(s) {', '.join(unknown)} (it has: "
                              f"{', '.join(sorted(known)) or 'none'}).",
                              field=field)
        both = sorted(set(enabled) & set(disabled))
        if both:
            raise Invalid(f"`enabled_features` and `disabled_features` both list {', '.join(both)}.",
                          field="disabled_features")

    @staticmethod
    def _company_state(row: Any) -> CompanyState:
        if row is None:
            return {"is_enabled": True, "configuration": {}, "enabled_features": [], "disabled_features": []}
        return {
            "is_enabled": bool(row["is_enabled"]) if row["is_enabled"] is not None else True,
            "configuration": load_json(row["configuration"], {}),
            "enabled_features": load_json(row["enabled_features"], []),
            "disabled_features": load_json(row["disabled_features"], []),
        }

    def _company_out(self, name: str, tenant_id: UUID, row: Any) -> CompanyModuleOut:
        state = self._company_state(row)
        return CompanyModuleOut(module=name, tenant_id=tenant_id, company_id=row["company_id"], **state,
                                customized_at=row["customized_at"], customized_by_user_id=row["customized_by_user_id"])

    async def company_module(self, tenant_id: UUID, company_id: UUID, name: str) -> CompanyModuleOut:
        async with engine.transaction() as tx:
            conn = tx.connection
            module = await self.get(conn, name)
            row = await conn.fetchrow(
                "SELECT c.* FROM company_modules c JOIN tenant_modules t ON t.id = c.tenant_module_id"
                " WHERE c.company_id = $1 AND t.module_id = $2", company_id, module["id"],
            )
        if row is None:
            raise NotFound(f"{name} has no customisation for company {company_id}.")
        return self._company_out(name, tenant_id, row)

    async def resolve(self, tenant_id: UUID, company_id: UUID, name: str) -> ResolvedConfig:
        """The configuration a module uses for one company, and where each key came from."""
        async with engine.transaction() as tx:
            conn = tx.connection
            _module, manifest, tenant_row = await self._tenant_setup(conn, tenant_id, name)
            if tenant_row is None:
                raise NotFound(f"{name} is not enabled for this company's tenant.")
            row = await conn.fetchrow(
                "SELECT * FROM company_modules WHERE company_id = $1 AND tenant_module_id = $2",
                company_id, tenant_row["id"],
            )
        state = self._company_state(row)
        resolved = resolve_values(manifest, load_json(tenant_row["configuration"], {}), state["configuration"])
        return ResolvedConfig(
            module=name, tenant_id=tenant_id, company_id=company_id,
            values={k: v.value for k, v in resolved.items()},
            sources={k: v.source for k, v in resolved.items()},
            enabled_features=features_on(manifest, state["enabled_features"], state["disabled_features"]),
            is_enabled=bool(tenant_row["is_enabled"]) and state["is_enabled"],
        )

    async def modules_for_company(self, tenant_id: UUID, company_id: UUID) -> list[tuple[Manifest, list[str]]]:
        """Manifests enabled for the company, with the features on."""
        async with engine.transaction() as tx:
            rows = await tx.connection.fetch(
                "SELECT m.manifest, c.is_enabled AS c_enabled, c.enabled_features, c.disabled_features"
                " FROM tenant_modules t JOIN modules m ON m.id = t.module_id"
                " LEFT JOIN company_modules c ON c.tenant_module_id = t.id AND c.company_id = $2"
                " WHERE t.tenant_id = $1 AND t.is_enabled ORDER BY m.name", tenant_id, company_id,
            )
        out = []
        for r in rows:
            if r["c_enabled"] is False:
                continue
            manifest = manifest_of(r)
            out.append((manifest, features_on(manifest, load_json(r["enabled_features"], []),
                                              load_json(r["disabled_features"], []))))
        return out
