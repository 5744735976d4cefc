"""What the warehouse does when financial or core announce something.

Each handler runs in `ctx.transaction()`: its writes, the events it publishes and the inbox row
commit together, so a redelivered event has no second effect.
"""

from collections.abc import Awaitable, Callable
from uuid import UUID

from broker import Delivery, Reject, Router
from contracts.core import ModuleDisabled as ModuleSwitchedOff
from contracts.financial import InvoiceCreated, InvoicePaid
from modulekit.config import config_for_event
from services.warehouse.app.config import WarehouseConfig
from services.warehouse.app.purge import purge_tenant
from services.warehouse.app.reservations import service as reservations
from services.warehouse.app.schema import Names

MODULE = "warehouse"
ConfigOf = Callable[[UUID], Awaitable[WarehouseConfig]]


def build_router(schema: Names, config_of: ConfigOf) -> Router:
    """Handlers bound to this app's tables and configuration client."""
    router = Router()

    @router.on("financial.invoice.created", priority=6)
    async def reserve_stock(event: InvoiceCreated, ctx: Delivery) -> None:
        """SKU lines hold stock at once, so a paid invoice finds its goods still there."""
        if not any(line.sku for line in event.lines):
            return
        if ctx.tenant_id is None:
            raise Reject("financial.invoice.created without a tenant")
        cfg = await config_for_event(config_of, event.company_id)
        if cfg is None or not cfg.reserve_on_invoice:
            return
        async with ctx.transaction() as conn:
            await reservations.reserve_for_invoice(conn, schema, ctx, event, tenant_id=ctx.tenant_id, cfg=cfg)

    @router.on("financial.invoice.paid", priority=6)
    async def issue_reserved_stock(event: InvoicePaid, ctx: Delivery) -> None:
        """The goods of a paid invoice leave the warehouse; financial books their cost."""
        if ctx.tenant_id is None:
            raise Reject("financial.invoice.paid without a tenant")
        async with ctx.transaction() as conn:
            await reservations.issue_for_invoice(conn, schema, ctx, event, tenant_id=ctx.tenant_id)

    @router.on("core.module.disabled", priority=8)
    async def purge_tenant_data(event: ModuleSwitchedOff, ctx: Delivery) -> None:
        """`mode=purge` in core: the tenant's warehouse rows are deleted, in one transaction."""
        if event.module_name != MODULE or not event.purge or event.company_id is not None:
            return
        async with ctx.transaction() as conn:
            await purge_tenant(conn, schema, event.tenant_id)

    return router
