"""Events that shape the chart of accounts."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from broker import Delivery, Reject, Router
from contracts.core import CompanyCreated
from services.financial.app.accounts.service import create_default_chart
from services.financial.app.db import Database
from services.financial.app.money import check_currency


@asynccontextmanager
async def effectively_once(ctx: Delivery, db: Database) -> AsyncIterator[Any]:
    """The delivery's inbox transaction on our database (the in-memory test bus has no
    connection, so there we fall back to a plain transaction of our own)."""
    async with ctx.transaction() as conn:
        if conn is not None:
            yield conn
        else:
            async with db.transaction() as own:
                yield own


def build_router(db: Database) -> Router:
    """Handlers bound to this app's database."""
    router = Router()

    @router.on("core.company.created", priority=8)
    async def create_default_accounts(event: CompanyCreated, ctx: Delivery) -> None:
        """A new company gets the default chart once, even if the event arrives twice."""
        try:
            currency = check_currency(event.currency or "USD")
        except Exception as exc:
            raise Reject(f"company {event.company_id} has an unusable currency {event.currency!r}") from exc
        async with effectively_once(ctx, db) as conn:
            await create_default_chart(
                conn, db, tenant_id=event.tenant_id, company_id=event.company_id, currency=currency
            )

    return router
