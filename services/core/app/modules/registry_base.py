"""The part of the module registry every tier uses: module lookup, tenant rows, audit entries."""

from typing import Any, cast
from uuid import UUID

import asyncpg

from broker import EventBus
from contracts.ids import uuid7
from contracts.manifest import Manifest
from services.core.app.errors import NotFound
from services.core.app.modules.records import Actor, dump_json, manifest_of


class RegistryBase:
    """What every tier of the registry shares: the bus it publishes on, the module lookup and the audit log."""

    def __init__(self, bus: EventBus, platform_version: str) -> None:
        self.bus = bus
        self.platform_version = platform_version

    async def get(self, conn: Any, name: str, *, lock: bool = False) -> asyncpg.Record:
        row = await conn.fetchrow(
            "SELECT * FROM modules WHERE name = $1" + (" FOR UPDATE" if lock else ""), name
        )
        if row is None:
            raise NotFound(f"No module named {name!r} is registered.", field="name")
        return cast(asyncpg.Record, row)

    async def _tenant_setup(
        self, conn: Any, tenant_id: UUID, name: str, *, lock: bool = False
    ) -> tuple[asyncpg.Record, Manifest, Any]:
        """The registered module, its manifest, and the tenant's row for it (None if never set up)."""
        module = await self.get(conn, name)
        return module, manifest_of(module), await self._tenant_row(conn, tenant_id, module["id"], lock=lock)

    async def _tenant_row(self, conn: Any, tenant_id: UUID, module_id: UUID, *, lock: bool = False) -> Any:
        return await conn.fetchrow(
            "SELECT * FROM tenant_modules WHERE tenant_id = $1 AND module_id = $2" + (" FOR UPDATE" if lock else ""),
            tenant_id, module_id,
        )

    async def _audit(self, conn: Any, tenant_id: UUID, company_id: UUID | None, name: str, action: str,
                     actor: Actor, before: dict[str, Any], after: dict[str, Any]) -> None:
        await conn.execute(
            "INSERT INTO module_config_audit (id, tenant_id, company_id, module_name, action, actor_user_id, before,"
            " after) VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8::jsonb)",
            uuid7(), tenant_id, company_id, name, action, actor.user_id, dump_json(before), dump_json(after),
        )
