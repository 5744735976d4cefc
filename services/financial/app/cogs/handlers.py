"""`warehouse.stock.issued` -> a journal entry: debit Cost of Goods Sold, credit Inventory.

The two modules talk by event only: the warehouse knows what the goods cost, financial owns the
books. The entry is posted in `ctx.transaction()`, so a redelivered event books nothing twice.
"""

from broker import Delivery, Reject, Router
from contracts.warehouse import StockIssued
from services.financial.app.accounts.service import COGS, INVENTORY, create_default_chart
from services.financial.app.db import FinancialDb
from services.financial.app.journal.service import LineIn, post_entry
from services.financial.app.money import check_currency, round_money


def build_router(db: FinancialDb) -> Router:
    """The handler bound to this app's database."""
    router = Router()

    @router.on("warehouse.stock.issued", priority=6)
    async def post_cost_of_goods_sold(event: StockIssued, ctx: Delivery) -> None:
        """Goods that left for a paid invoice move from inventory to expense, at their cost."""
        if ctx.tenant_id is None:
            raise Reject("warehouse.stock.issued without a tenant")
        currency = check_currency(event.currency)
        cost = round_money(event.total_cost, currency)
        if cost <= 0:
            return  # items without a cost: nothing to book
        text = f"Cost of goods sold, invoice {event.invoice_id}"
        async with ctx.transaction() as conn:
            await create_default_chart(conn, db, tenant_id=ctx.tenant_id, company_id=event.company_id,
                                       currency=currency)
            await post_entry(
                conn, db, tenant_id=ctx.tenant_id, company_id=event.company_id,
                entry_date=ctx.occurred_at.date(), description=text, currency=currency,
                lines=[LineIn(account_code=COGS, debit=cost, description=text),
                       LineIn(account_code=INVENTORY, credit=cost, description=text)],
                source="cogs", source_id=event.invoice_id,
            )

    return router
