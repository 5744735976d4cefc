"""Events that shape the chart of accounts."""

from typing import Any

from broker import Delivery, Reject, Router
from contracts.core import CompanyCreated, ModuleConfigured, ModuleEnabled
from contracts.core import ModuleDisabled as ModuleWasDisabled
from modulekit.config import config_for_event
from modulekit.database import purging
from services.financial.app.accounts.service import adopt_currency, create_default_chart
from services.financial.app.config import FinancialConfigClient
from services.financial.app.db import FinancialDb
from services.financial.app.errors import InvalidInput
from services.financial.app.money import check_currency

PURGE_ORDER = ("payments", "invoice_lines", "invoices", "transaction_lines", "transactions", "accounts")


async def purge_tenant(conn: Any, db: FinancialDb, tenant_id: Any) -> dict[str, int]:
    """Delete every row of the tenant in this module's tables; the counts deleted per table."""
    async with purging(conn):  # lets the immutability trigger allow it
        return await _delete_tenant_rows(conn, db, tenant_id)


async def _delete_tenant_rows(conn: Any, db: FinancialDb, tenant_id: Any) -> dict[str, int]:
    companies = [r["company_id"] for r in await conn.fetch(
        f"SELECT DISTINCT company_id FROM {db.t('accounts')} WHERE tenant_id = $1 UNION "
        f"SELECT DISTINCT company_id FROM {db.t('invoices')} WHERE tenant_id = $1", tenant_id)]
    counts: dict[str, int] = {}
    for short in PURGE_ORDER:
        if short == "invoice_lines":
            sql = (f"DELETE FROM {db.t(short)} WHERE invoice_id IN "
                   f"(SELECT id FROM {db.t('invoices')} WHERE tenant_id = $1)")
        elif short == "transaction_lines":
            sql = (f"DELETE FROM {db.t(short)} WHERE transaction_id IN "
                   f"(SELECT id FROM {db.t('transactions')} WHERE tenant_id = $1)")
        else:
            sql = f"DELETE FROM {db.t(short)} WHERE tenant_id = $1"
        counts[short] = int((await conn.execute(sql, tenant_id)).split()[-1])
    done = await conn.execute(f"DELETE FROM {db.t('invoice_sequences')} WHERE company_id = ANY($1::uuid[])",
                              companies)
    counts["invoice_sequences"] = int(done.split()[-1])
    return counts


def build_router(db: FinancialDb, config: FinancialConfigClient | None = None) -> Router:
    """Handlers bound to this app's database and (when given) its core client."""
    router = Router()

    @router.on("core.module.disabled", priority=8)
    async def purge_tenant_data(event: ModuleWasDisabled, ctx: Delivery) -> None:
        """`mode=purge` in core: the tenant's financial rows are deleted, in one transaction."""
        if event.module_name != "financial" or not event.purge or event.company_id is not None:
            return
        async with ctx.transaction() as conn:
            await purge_tenant(conn, db, event.tenant_id)
        if config is not None:
            config.invalidate(tenant_id=event.tenant_id)

    async def configured_currency(company_id: Any) -> str | None:
        """The currency core's configuration resolves to for the company, None if not enabled."""
        resolved = await config_for_event(config.get, company_id) if config is not None else None
        return resolved.currency if resolved is not None else None

    @router.on("core.company.created", priority=8)
    async def create_default_accounts(event: CompanyCreated, ctx: Delivery) -> None:
        """A new company gets the default chart once, even if the event arrives twice."""
        # The company's own currency, else what its configuration resolves to (the module may be
        # enabled for the tenant already), else USD; core.module.* events adjust unused accounts.
        wanted = event.currency or await configured_currency(event.company_id) or "USD"
        try:
            currency = check_currency(wanted)
        except InvalidInput as exc:
            raise Reject(f"company {event.company_id} has an unusable currency {wanted!r}") from exc
        async with ctx.transaction() as conn:
            await create_default_chart(
                conn, db, tenant_id=event.tenant_id, company_id=event.company_id, currency=currency
            )

    if config is None:
        return router

    @router.on("core.module.enabled", priority=7, name="adopt_currency_on_enable")
    @router.on("core.module.configured", priority=7)
    async def adopt_configured_currency(event: ModuleEnabled | ModuleConfigured, ctx: Delivery) -> None:
        """Unused default accounts follow the currency the company's configuration resolves to."""
        if event.module_name != "financial":
            return
        async with db.transaction() as conn:
            if event.company_id is not None:
                companies = [event.company_id]
            else:  # a tenant-tier change reaches every company of the tenant
                rows = await conn.fetch(
                    f"SELECT DISTINCT company_id FROM {db.t('accounts')} WHERE tenant_id = $1", event.tenant_id
                )
                companies = [row["company_id"] for row in rows]
        for company_id in companies:
            config.invalidate(company_id=company_id)
            currency = await configured_currency(company_id)
            if currency is not None:  # else: not a company of ours (yet), or the module is off for it
                async with db.transaction() as conn:
                    await adopt_currency(conn, db, company_id, currency)

    return router
