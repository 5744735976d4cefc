"""Reading the way every financial controller does: 404 for a record the caller may not see, and
nothing of a company the module is disabled for."""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Protocol, TypeVar
from uuid import UUID

import asyncpg
from litestar import Request

from modulekit.auth import Principal, principal_of
from modulekit.config import module_enabled
from services.financial.app.db import FinancialDb


class Row(Protocol):
    def __getitem__(self, key: str, /) -> Any: ...


R = TypeVar("R", bound=Row)


async def load_visible(
    request: Request[Any, Any, Any], db: FinancialDb,
    fetch: Callable[[asyncpg.Connection, FinancialDb, UUID, UUID | None], Awaitable[R]],
    record_id: UUID, permission: str,
) -> R:
    """The record if it is in the caller's tenant and companies (404 otherwise, revealing nothing),
    and the module is enabled for its company."""
    principal = principal_of(request)
    async with db.snapshot() as conn:
        row = await fetch(conn, db, record_id, principal.tenant_id)
    principal.require(permission, row["company_id"], hide=True)
    await module_enabled(request, row["company_id"])
    return row


async def may_write(request: Request[Any, Any, Any], permission: str, company_id: UUID) -> Principal:
    """The caller, once they hold `permission` in the company and the module is enabled there."""
    principal = principal_of(request)
    principal.require(permission, company_id)
    await module_enabled(request, company_id)
    return principal


@asynccontextmanager
async def company_snapshot(
    request: Request[Any, Any, Any], db: FinancialDb, company_id: UUID
) -> AsyncIterator[asyncpg.Connection]:
    """One consistent read of a company's records, once the module is enabled there (the route's
    guard has checked the read permission)."""
    await module_enabled(request, company_id)
    async with db.snapshot() as conn:
        yield conn
