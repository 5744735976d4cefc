"""The seed's ModuleRegistry: register manifests, enable per tenant, customise per company,
resolve configuration in three tiers, and keep an audit history of every configuration change.

Each change and its core.* event are written in one transaction (rows locked FOR UPDATE, so
two concurrent changes of one module's settings serialise).
"""

from uuid import UUID

from contracts.core import (
    ModuleRegistered,
)
from contracts.ids import uuid7
from contracts.manifest import Manifest
from services.core.app.db import engine
from services.core.app.errors import Conflict
from services.core.app.modules import versions
from services.core.app.modules.company_tier import CompanyTier
from services.core.app.modules.records import dump_json, load_json, manifest_of, module_out
from services.core.app.modules.schemas import (
    AuditEntry,
    RegisterResult,
)
from services.core.app.modules.tenant_tier import TenantTier


class ModuleRegistry(TenantTier, CompanyTier):
    """Registry operations over core's tables; publishes through `bus`."""

    async def register(self, manifest: Manifest) -> RegisterResult:
        """Register a new module or upgrade it; a lower version than the registered one is refused."""
        if manifest.requires.platform and not versions.satisfies(self.platform_version, manifest.requires.platform):
            raise Conflict(
                f"{manifest.name} requires platform {manifest.requires.platform}; this is {self.platform_version}.",
                field="requires.platform",
            )
        body = dump_json(manifest)
        async with engine.transaction() as tx:
            conn = tx.connection
            await conn.execute("SELECT pg_advisory_xact_lock(hashtext('module:' || $1))", manifest.name)
            current = await conn.fetchrow("SELECT * FROM modules WHERE name = $1 FOR UPDATE", manifest.name)
            previous = current["version"] if current else None
            if current is not None:
                if versions.is_lower(manifest.version, current["version"]):
                    raise Conflict(
                        f"`version` {manifest.version} is lower than the registered {previous}; "
                        "downgrades are refused.",
                        field="version",
                    )
                if manifest_of(current) == manifest:
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
                           action=r["action"], actor_user_id=r["actor_user_id"], before=load_json(r["before"], {}),
                           after=load_json(r["after"], {}), changed_at=r["changed_at"]) for r in rows]
