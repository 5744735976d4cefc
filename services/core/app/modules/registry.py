"""The seed's ModuleRegistry: register manifests, enable per tenant, customise per company,
resolve configuration in three tiers, and keep an audit history of every configuration change.

Each change and its core.* event are written in one transaction (rows locked FOR UPDATE, so
two concurrent changes of one module's settings serialise).
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

import asyncpg
import msgspec

from broker import EventBus, matches
from contracts.api import ResolvedConfig, Tier
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
from services.core.app.modules.schemas import (
    AuditEntry,
    CompanyModuleIn,
    CompanyModuleOut,
    ConfigValue,
    Dependency,
    ModuleOut,
    RegisterResult,
    RemovalPlan,
    TenantModuleIn,
    TenantModuleOut,
    TenantPlan,
)

CORE_EVENTS = [
    event_type_of(e)
    for e in (ModuleConfigured, ModuleDisabled, ModuleEnabled, ModuleRegistered)
] + ["core.tenant.created", "core.company.created", "core.user.created"]


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


def _load(value: Any, default: Any) -> Any:
    if value is None:
        return default
    return msgspec.json.decode(value) if isinstance(value, str | bytes) else value


def _manifest(row: asyncpg.Record) -> Manifest:
    return msgspec.convert(_load(row["manifest"], {}), Manifest)


def module_out(row: asyncpg.Record) -> ModuleOut:
    return ModuleOut(name=row["name"], display_name=row["display_name"], version=row["version"],
                     manifest=_manifest(row), registered_at=row["registered_at"], updated_at=row["updated_at"])


def resolve_values(manifest: Manifest, tenant: dict[str, Any], company: dict[str, Any]) -> dict[str, ConfigValue]:
    """Manifest defaults <- tenant <- company, with the tier each key came from."""
    resolved: dict[str, ConfigValue] = {}
    tiers: list[tuple[Tier, dict[str, Any]]] = [
        ("default", config_schema.defaults(manifest.config_schema)), ("tenant", tenant), ("company", company)
    ]
    for tier, values in tiers:
        for key, value in values.items():
            resolved[key] = ConfigValue(value=value, source=tier)
    return resolved


def check_configuration(manifest: Manifest, overrides: dict[str, Any], merged: dict[str, Any]) -> None:
    """Refuse a configuration that breaks the manifest's config_schema, naming every failing key."""
    schema = config_schema.known_keys_only(manifest.config_schema)
    problems = config_schema.validate(overrides, {**schema, "required": []})
    problems += [p for p in config_schema.validate(merged, schema) if p[1] == "is required"]
    if problems:
        detail = "; ".join(f"`configuration.{path}` {message}" for path, message in problems)
        raise Invalid(f"The configuration breaks {manifest.name}'s config_schema: {detail}.",
                      errors=[FieldProblem(field=f"configuration.{path}", message=m) for path, m in problems])


def features_on(manifest: Manifest, enabled: list[str], disabled: list[str]) -> list[str]:
    on = {f.name for f in manifest.features if f.default} | set(enabled)
    return [f.name for f in manifest.features if f.name in on and f.name not in disabled]


@dataclass(slots=True)
class Actor:
    user_id: UUID | None


class ModuleRegistry:
    """Registry operations over core's tables; publishes through `bus`."""

    def __init__(self, bus: EventBus, platform_version: str) -> None:
        self.bus = bus
        self.platform_version = platform_version

    # -- catalogue ------------------------------------------------------------------------

    async def get(self, conn: Any, name: str, *, lock: bool = False) -> asyncpg.Record:
        row = await conn.fetchrow(
            "SELECT * FROM modules WHERE name = $1" + (" FOR UPDATE" if lock else ""), name
        )
        if row is None:
            raise NotFound(f"No module named {name!r} is registered.", field="name")
        return row

    async def register(self, manifest: Manifest) -> RegisterResult:
        """Register a new module or upgrade it; a lower version than the registered one is refused."""
        if manifest.requires.platform and not versions.satisfies(self.platform_version, manifest.requires.platform):
            raise Conflict(
                f"{manifest.name} requires platform {manifest.requires.platform}; this is {self.platform_version}.",
                field="requires.platform",
            )
        body = _json(manifest)
        async with engine.transaction() as tx:
            conn = tx.connection
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('module:' || $1))", manifest.name)
            current = await conn.fetchrow("SELECT * FROM modules WHERE name = $1 FOR UPDATE", manifest.name)
            previous = current["version"] if current else None
            if current is not None:
                if versions.is_lower(manifest.version, previous):
                    raise Conflict(
                        f"`version` {manifest.version} is lower than the registered {previous}; "
                        "downgrades are refused.",
                        field="version",
                    )
                if _manifest(current) == manifest:
                    return RegisterResult(module=module_out(current), previous_version=previous, changed=False)
                row = await conn.fetchrow(
                    "UPDATE modules SET display_name = $2, version = $3, manifest = $4::jsonb, updated_at = now()"
                    " WHERE name = $1 RETURNING *",
                    manifest.name, manifest.display_name, manifest.version, body,
                )
            else:
                row = await conn.fetchrow(
                    "INSERT INTO modules (id, name, display_name, version, manifest) VALUES ($1, $2, $3, $4, $5::jsonb)"
                    " RETURNING *",
                    uuid7(), manifest.name, manifest.display_name, manifest.version, body,
                )
            await self.bus.publish(
                conn, ModuleRegistered(name=manifest.name, version=manifest.version, previous_version=previous)
            )
        return RegisterResult(module=module_out(row), previous_version=previous, changed=True)

    # -- tenant tier ----------------------------------------------------------------------

    async def _tenant_row(self, conn: Any, tenant_id: UUID, module_id: UUID, *, lock: bool = False) -> Any:
        return await conn.fetchrow(
            "SELECT * FROM tenant_modules WHERE tenant_id = $1 AND module_id = $2" + (" FOR UPDATE" if lock else ""),
            tenant_id, module_id,
        )

    async def _enabled_manifests(self, conn: Any, tenant_id: UUID) -> dict[str, Manifest]:
        rows = await conn.fetch(
            "SELECT m.* FROM tenant_modules t JOIN modules m ON m.id = t.module_id"
            " WHERE t.tenant_id = $1 AND t.is_enabled", tenant_id,
        )
        return {r["name"]: _manifest(r) for r in rows}

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
        module = await self.get(conn, name)
        manifest = _manifest(module)
        current = await self._tenant_row(conn, tenant_id, module["id"])
        was_enabled = bool(current and current["is_enabled"])
        before = _load(current["configuration"], {}) if current else {}
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
            module = await self.get(conn, name)
            manifest = _manifest(module)
            current = await self._tenant_row(conn, tenant_id, module["id"], lock=True)
            before = _load(current["configuration"], {}) if current else {}
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
                    uuid7(), tenant_id, module["id"], data.is_enabled, _json(after), now if data.is_enabled else None,
                )
            else:
                row = await conn.fetchrow(
                    "UPDATE tenant_modules SET is_enabled = $2, configuration = $3::jsonb, updated_at = $4,"
                    " enabled_at = CASE WHEN $2 AND NOT is_enabled THEN $4 ELSE enabled_at END"
                    " WHERE id = $1 RETURNING *",
                    current["id"], data.is_enabled, _json(after), now,
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
                               configuration=_load(row["configuration"], {}), enabled_at=row["enabled_at"],
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
            module = await self.get(conn, name)
            manifest = _manifest(module)
            current = await self._tenant_row(conn, tenant_id, module["id"], lock=True)
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
                before = {"is_enabled": current["is_enabled"], "configuration": _load(current["configuration"], {})}
                await self._audit(conn, tenant_id, None, name, f"tenant.removed.{data}", actor, before, {})
                await self.bus.publish(
                    conn, ModuleDisabled(module_name=name, tenant_id=tenant_id, purge=data == "purge"),
                    tenant_id=tenant_id,
                )
        return RemovalPlan(module=name, tenant_id=tenant_id, data=data, performed=perform, deletes=deletes, keeps=keeps)

    # -- company tier ---------------------------------------------------------------------

    async def set_for_company(
        self, tenant_id: UUID, company_id: UUID, name: str, data: CompanyModuleIn, actor: Actor
    ) -> CompanyModuleOut:
        """The seed's enable_for_company: customise a tenant-enabled module for one company."""
        async with engine.transaction() as tx:
            conn = tx.connection
            module = await self.get(conn, name)
            manifest = _manifest(module)
            tenant_row = await self._tenant_row(conn, tenant_id, module["id"], lock=True)
            if tenant_row is None or not tenant_row["is_enabled"]:
                raise Conflict(f"{name} is not enabled for this company's tenant; enable it for the tenant first.",
                               field="name")
            current = await conn.fetchrow(
                "SELECT * FROM company_modules WHERE company_id = $1 AND tenant_module_id = $2 FOR UPDATE",
                company_id, tenant_row["id"],
            )
            old = self._company_state(current)
            new = {
                "is_enabled": data.is_enabled,
                "configuration": old["configuration"] if data.configuration is None else data.configuration,
                "enabled_features": old["enabled_features"] if data.enabled_features is None else data.enabled_features,
                "disabled_features": (
                    old["disabled_features"] if data.disabled_features is None else data.disabled_features),
            }
            self._check_features(manifest, new["enabled_features"], new["disabled_features"])
            tenant_config = _load(tenant_row["configuration"], {})
            merged = {**config_schema.defaults(manifest.config_schema), **tenant_config, **new["configuration"]}
            check_configuration(manifest, new["configuration"], merged)
            now = datetime.now(UTC)
            args = (new["is_enabled"], _json(new["configuration"]), _json(new["enabled_features"]),
                    _json(new["disabled_features"]), now, actor.user_id)
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
                                  old if current else {}, new)
            scope = {"module_name": name, "tenant_id": tenant_id, "company_id": company_id}
            if new["is_enabled"] != old["is_enabled"]:
                event: Any = ModuleEnabled(**scope, configuration=new["configuration"]) if new["is_enabled"] \
                    else ModuleDisabled(**scope)
                await self.bus.publish(conn, event, tenant_id=tenant_id, company_id=company_id)
            features_changed = (new["enabled_features"], new["disabled_features"]) != (
                old["enabled_features"], old["disabled_features"])
            if new["configuration"] != old["configuration"] or features_changed:
                await self.bus.publish(
                    conn, ModuleConfigured(**scope, before=old, after=new), tenant_id=tenant_id, company_id=company_id
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
    def _company_state(row: Any) -> dict[str, Any]:
        if row is None:
            return {"is_enabled": True, "configuration": {}, "enabled_features": [], "disabled_features": []}
        return {
            "is_enabled": bool(row["is_enabled"]) if row["is_enabled"] is not None else True,
            "configuration": _load(row["configuration"], {}),
            "enabled_features": _load(row["enabled_features"], []),
            "disabled_features": _load(row["disabled_features"], []),
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
            module = await self.get(conn, name)
            manifest = _manifest(module)
            tenant_row = await self._tenant_row(conn, tenant_id, module["id"])
            if tenant_row is None:
                raise NotFound(f"{name} is not enabled for this company's tenant.")
            row = await conn.fetchrow(
                "SELECT * FROM company_modules WHERE company_id = $1 AND tenant_module_id = $2",
                company_id, tenant_row["id"],
            )
        state = self._company_state(row)
        resolved = resolve_values(manifest, _load(tenant_row["configuration"], {}), state["configuration"])
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
            manifest = _manifest(r)
            out.append((manifest, features_on(manifest, _load(r["enabled_features"], []),
                                              _load(r["disabled_features"], []))))
        return out

    # -- audit ----------------------------------------------------------------------------

    async def _audit(self, conn: Any, tenant_id: UUID, company_id: UUID | None, name: str, action: str,
                     actor: Actor, before: dict[str, Any], after: dict[str, Any]) -> None:
        await conn.execute(
            "INSERT INTO module_config_audit (id, tenant_id, company_id, module_name, action, actor_user_id, before,"
            " after) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb)",
            uuid7(), tenant_id, company_id, name, action, actor.user_id, _json(before), _json(after),
        )

    async def audit(self, tenant_id: UUID, name: str | None = None, company_ids: list[UUID] | None = None,
                    limit: int = 100) -> list[AuditEntry]:
        """Configuration history, newest first; `company_ids` limits company-tier entries (tenant ones stay)."""
        async with engine.transaction() as tx:
            rows = await tx.connection.fetch(
                "SELECT * FROM module_config_audit WHERE tenant_id = $1 AND ($2::text IS NULL OR module_name = $2)"
                " AND ($3::uuid[] IS NULL OR company_id = ANY($3) OR company_id IS NULL)"
                " ORDER BY changed_at DESC, id DESC LIMIT $4",
                tenant_id, name, company_ids, limit,
            )
        return [AuditEntry(id=r["id"], module=r["module_name"], tenant_id=r["tenant_id"], company_id=r["company_id"],
                           action=r["action"], actor_user_id=r["actor_user_id"], before=_load(r["before"], {}),
                           after=_load(r["after"], {}), changed_at=r["changed_at"]) for r in rows]
