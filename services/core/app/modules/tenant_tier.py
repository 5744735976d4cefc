"""The registry's tenant tier: enable, configure, plan and remove a module for one tenant."""

from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from broker import matches
from contracts.core import (
    ModuleConfigured,
    ModuleDisabled,
    ModuleEnabled,
    ModuleRegistered,
)
from contracts.envelope import event_type_of
from contracts.ids import uuid7
from contracts.manifest import Manifest
from modulekit.errors import FieldProblem
from services.core.app.db import engine
from services.core.app.errors import Conflict, Invalid, NotFound
from services.core.app.modules import config_schema, versions
from services.core.app.modules.records import (
    Actor,
    check_configuration,
    dump_json,
    load_json,
    manifest_of,
    resolve_values,
)
from services.core.app.modules.registry_base import RegistryBase
from services.core.app.modules.schemas import (
    Dependency,
    RemovalPlan,
    TenantModuleIn,
    TenantModuleOut,
    TenantPlan,
)

# What core itself publishes: a module consuming these has a publisher even with no module enabled.
CORE_EVENTS = [
    event_type_of(e)
    for e in (ModuleConfigured, ModuleDisabled, ModuleEnabled, ModuleRegistered)
] + ["core.tenant.created", "core.company.created", "core.user.created"]


class TenantTier(RegistryBase):
    """Enable, configure and remove modules per tenant (rows locked FOR UPDATE)."""

    async def _enabled_manifests(self, conn: Any, tenant_id: UUID) -> dict[str, Manifest]:
        rows = await conn.fetch(
            "SELECT m.* FROM tenant_modules t JOIN modules m ON m.id = t.module_id"
            " WHERE t.tenant_id = $1 AND t.is_enabled", tenant_id,
        )
        return {r["name"]: manifest_of(r) for r in rows}

    async def _dependencies(self, conn: Any, tenant_id: UUID, manifest: Manifest) -> list[Dependency]:
        enabled = await self._enabled_manifests(conn, tenant_id)
        deps = []
        for name, spec in manifest.requires.modules.items():
            row = await conn.fetchrow("SELECT version FROM modules WHERE name = $1", name)
            version = row["version"] if row else None
            ok = version is not None and name in enabled and versions.satisfies(version, spec)
            deps.append(Dependency(name=name, range=spec, registered_version=version,
                                   enabled_for_tenant=name in enabled, satisfied=ok))
        return deps

    def _requirement_problems(self, manifest: Manifest, deps: list[Dependency]) -> list[str]:
        problems = []
        if manifest.requires.platform and not versions.satisfies(self.platform_version, manifest.requires.platform):
            problems.append(f"needs platform {manifest.requires.platform}, this is {self.platform_version}")
        for d in deps:
            if d.registered_version is None:
                problems.append(f"needs module {d.name} {d.range}, which is not registered")
            elif not versions.satisfies(d.registered_version, d.range):
                problems.append(f"needs module {d.name} {d.range}, registered is {d.registered_version}")
            elif not d.enabled_for_tenant:
                problems.append(f"needs module {d.name} {d.range} enabled for this tenant first")
        return problems

    async def _dependants(self, conn: Any, tenant_id: UUID, name: str) -> list[str]:
        enabled = await self._enabled_manifests(conn, tenant_id)
        return sorted(n for n, m in enabled.items() if name in m.requires.modules)

    async def plan_tenant(self, conn: Any, tenant_id: UUID, name: str, data: TenantModuleIn) -> TenantPlan:
        """What enabling/changing/disabling `name` for the tenant does, without doing it."""
        _module, manifest, current = await self._tenant_setup(conn, tenant_id, name)
        was_enabled = bool(current and current["is_enabled"])
        before = load_json(current["configuration"], {}) if current else {}
        after = before if data.configuration is None else data.configuration
        if data.is_enabled and not was_enabled:
            action: Literal["enable", "update", "disable", "none"] = "enable"
        elif not data.is_enabled and was_enabled:
            action = "disable"
        elif data.is_enabled and after != before:
            action = "update"
        else:
            action = "none"
        deps = await self._dependencies(conn, tenant_id, manifest)
        problems = self._requirement_problems(manifest, deps) if data.is_enabled else []
        if action == "disable":
            problems += [f"module {d} requires {name}; disable {d} first" for d in
                         await self._dependants(conn, tenant_id, name)]
        try:
            merged = {**config_schema.defaults(manifest.config_schema), **after}
            check_configuration(manifest, after, merged)
        except Invalid as exc:
            problems.append(exc.detail)
        enabled = await self._enabled_manifests(conn, tenant_id)
        enabled[name] = manifest
        published = list(CORE_EVENTS) + [e for m in enabled.values() for e in m.events.publishes]
        warnings = [
            f"{name} consumes {p!r}, which no enabled module publishes"
            for p in manifest.events.consumes if not any(matches(p, e) for e in published)
        ]
        adding = action == "enable"
        return TenantPlan(
            module=name, version=manifest.version, tenant_id=tenant_id, action=action, allowed=not problems,
            problems=problems, depends_on=deps,
            permissions_added=[p.name for p in manifest.permissions] if adding else [],
            menu_entries_added=list(manifest.frontend.menu) if adding and manifest.frontend else [],
            configuration=resolve_values(manifest, after, {}),
            configuration_keys_changed=sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k)),
            subscriptions=list(manifest.events.consumes) if adding else [],
            warnings=warnings,
        )

    async def set_for_tenant(self, tenant_id: UUID, name: str, data: TenantModuleIn, actor: Actor) -> TenantModuleOut:
        """The seed's enable_for_tenant (and disable, and reconfigure)."""
        async with engine.transaction() as tx:
            conn = tx.connection
            module, manifest, current = await self._tenant_setup(conn, tenant_id, name, lock=True)
            before = load_json(current["configuration"], {}) if current else {}
            after = before if data.configuration is None else data.configuration
            merged = {**config_schema.defaults(manifest.config_schema), **after}
            check_configuration(manifest, after, merged)
            was_enabled = bool(current and current["is_enabled"])
            if data.is_enabled:
                problems = self._requirement_problems(manifest, await self._dependencies(conn, tenant_id, manifest))
                if problems:
                    raise Conflict(f"{name} cannot be enabled: " + "; ".join(problems) + ".",
                                   errors=[FieldProblem(field="requires", message=p) for p in problems])
            elif was_enabled:
                dependants = await self._dependants(conn, tenant_id, name)
                if dependants:
                    raise Conflict(f"{name} cannot be disabled: {', '.join(dependants)} require(s) it.",
                                   field="is_enabled")
            now = datetime.now(UTC)
            if current is None:
                row = await conn.fetchrow(
                    "INSERT INTO tenant_modules (id, tenant_id, module_id, is_enabled, configuration, enabled_at,"
                    " updated_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $6) RETURNING *",
                    uuid7(), tenant_id, module["id"], data.is_enabled, dump_json(after),
                    now if data.is_enabled else None,
                )
            else:
                row = await conn.fetchrow(
                    "UPDATE tenant_modules SET is_enabled = $2, configuration = $3::jsonb, updated_at = $4,"
                    " enabled_at = CASE WHEN $2 AND NOT is_enabled THEN $4 ELSE enabled_at END"
                    " WHERE id = $1 RETURNING *",
                    current["id"], data.is_enabled, dump_json(after), now,
                )
            events: list[Any] = []
            if data.is_enabled and not was_enabled:
                events.append(ModuleEnabled(module_name=name, tenant_id=tenant_id, configuration=after))
            elif not data.is_enabled and was_enabled:
                events.append(ModuleDisabled(module_name=name, tenant_id=tenant_id))
            if after != before and (was_enabled or current is not None) and not (data.is_enabled and not was_enabled):
                events.append(ModuleConfigured(module_name=name, tenant_id=tenant_id, before=before, after=after))
            state_before = {"is_enabled": was_enabled, "configuration": before} if current else {}
            state_after = {"is_enabled": data.is_enabled, "configuration": after}
            if state_before != state_after:
                action = "enabled" if events and isinstance(events[0], ModuleEnabled) else (
                    "disabled" if events and isinstance(events[0], ModuleDisabled) else "configured")
                await self._audit(conn, tenant_id, None, name, f"tenant.{action}", actor, state_before, state_after)
            for event in events:
                await self.bus.publish(conn, event, tenant_id=tenant_id)
        return self._tenant_out(name, manifest.version, row)

    @staticmethod
    def _tenant_out(name: str, version: str, row: Any) -> TenantModuleOut:
        return TenantModuleOut(module=name, version=version, tenant_id=row["tenant_id"], is_enabled=row["is_enabled"],
                               configuration=load_json(row["configuration"], {}), enabled_at=row["enabled_at"],
                               updated_at=row["updated_at"])

    async def tenant_modules(self, tenant_id: UUID) -> list[TenantModuleOut]:
        async with engine.transaction() as tx:
            rows = await tx.connection.fetch(
                "SELECT t.*, m.name, m.version FROM tenant_modules t JOIN modules m ON m.id = t.module_id"
                " WHERE t.tenant_id = $1 ORDER BY m.name", tenant_id,
            )
        return [self._tenant_out(r["name"], r["version"], r) for r in rows]

    async def tenant_module(self, tenant_id: UUID, name: str) -> TenantModuleOut:
        for item in await self.tenant_modules(tenant_id):
            if item.module == name:
                return item
        raise NotFound(f"{name} is not set up for this tenant.")

    async def remove_for_tenant(
        self, tenant_id: UUID, name: str, data: Literal["keep", "purge"], *, perform: bool, actor: Actor
    ) -> RemovalPlan:
        """Remove the module from the tenant; `purge` also asks the module to delete its data."""
        async with engine.transaction() as tx:
            conn = tx.connection
            _module, manifest, current = await self._tenant_setup(conn, tenant_id, name, lock=True)
            if current is None:
                raise NotFound(f"{name} is not set up for this tenant.")
            companies = await conn.fetchval(
                "SELECT count(*) FROM company_modules WHERE tenant_module_id = $1", current["id"])
            deletes = [f"core: the tenant's {name} configuration",
                       f"core: {companies} company customisation(s) of {name}"]
            keeps = [f"core: the configuration audit history of {name}"]
            prefix = manifest.database.schema_prefix or f"{name}_"
            module_data = f"{name}: every row of this tenant in its tables ({prefix}*)"
            if data == "purge":
                deletes.append(module_data + ", deleted by the module on core.module.disabled with purge=true")
            else:
                keeps.append(module_data)
            if perform:
                dependants = await self._dependants(conn, tenant_id, name)
                if dependants and current["is_enabled"]:
                    raise Conflict(f"{name} cannot be removed: {', '.join(dependants)} require(s) it.")
                await conn.execute("DELETE FROM tenant_modules WHERE id = $1", current["id"])
                before = {"is_enabled": current["is_enabled"], "configuration": load_json(current["configuration"], {})}
                await self._audit(conn, tenant_id, None, name, f"tenant.removed.{data}", actor, before, {})
                await self.bus.publish(
                    conn, ModuleDisabled(module_name=name, tenant_id=tenant_id, purge=data == "purge"),
                    tenant_id=tenant_id,
                )
        return RemovalPlan(module=name, tenant_id=tenant_id, data=data, performed=perform, deletes=deletes, keeps=keeps)
