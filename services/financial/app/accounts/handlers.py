"""Events that shape the chart of accounts."""

from typing import Any

from broker import Delivery, Reject, Retry, Router
from contracts.core import CompanyCreated, ModuleConfigured, ModuleEnabled
from services.financial.app.accounts.service import adopt_currency, create_default_chart
from services.financial.app.config_client import ConfigClient
from services.financial.app.db import Database
from services.financial.app.errors import CoreUnavailable, InvalidInput, ModuleDisabled, NotFound
from services.financial.app.money import check_currency


def build_router(db: Database, config: ConfigClient | None = None) -> Router:
    """Handlers bound to this app's database and (when given) its core client."""
    router = Router()

    async def configured_currency(company_id: Any) -> str | None:
        """The currency core's configuration resolves to for the company, None if not enabled."""
        if config is None:
            return None
        try:
            return (await config.get(company_id)).currency
        except (NotFound, ModuleDisabled):
            return None
        except CoreUnavailable as exc:
            raise Retry(str(exc), after=5) from exc

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
