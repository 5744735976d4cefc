"""The audit trail of operator actions that changed deliveries."""

from uuid import UUID

from broker.ops.connection import Db, connection, json_of
from broker.ops.results import AuditEntry
from broker.queries import query


async def list_audit(db: Db, *, limit: int = 50, tenant: UUID | None = None) -> list[AuditEntry]:
    """The latest replays, redrives and purges: who did what to which selection."""
    async with connection(db) as conn:
        rows = await conn.fetch(query("list_audit"), tenant, limit)
    return [AuditEntry(**{**dict(r), "selection": json_of(r["selection"])}) for r in rows]
