"""HTTP API of reports: trial balance, income statement, balance sheet, receivables aging."""

from datetime import date
from typing import Any
from uuid import UUID

from litestar import Controller, Request, get

from modulekit.auth import requires
from modulekit.config import module_enabled
from services.financial.app.config import FinancialConfigClient
from services.financial.app.db import FinancialDb
from services.financial.app.money import check_currency
from services.financial.app.permissions import REPORTS_READ
from services.financial.app.reports import service
from services.financial.app.responses import BalanceSheet, IncomeStatement, ReceivablesAging, TrialBalance, out


async def scope(
    request: Request[Any, Any, Any], config: FinancialConfigClient, company_id: UUID, currency: str | None
) -> str:
    """The report's currency: the one asked for, or the company's (the guard checked the permission)."""
    await module_enabled(request, company_id)
    return check_currency(currency) if currency else (await config.get(company_id)).currency


def header(company_id: UUID, currency: str, **dates: date | None) -> dict[str, Any]:
    return {"company_id": company_id, "currency": currency, **dates}


class ReportController(Controller):
    path = "/api/v1/financial/reports"
    guards = [requires(REPORTS_READ)]
    tags = ["reports"]

    @get("/trial-balance")
    async def trial_balance(
        self, request: Request[Any, Any, Any], db: FinancialDb, config: FinancialConfigClient, company_id: UUID,
        date_from: date | None = None, date_to: date | None = None, currency: str | None = None,
    ) -> TrialBalance:
        cur = await scope(request, config, company_id, currency)
        service.check_range(date_from, date_to)
        async with db.snapshot() as conn:
            body = await service.trial_balance(conn, db, company_id, cur, date_from, date_to)
        return out(TrialBalance, {**header(company_id, cur, date_from=date_from, date_to=date_to), **body})

    @get("/income-statement")
    async def income_statement(
        self, request: Request[Any, Any, Any], db: FinancialDb, config: FinancialConfigClient, company_id: UUID,
        date_from: date | None = None, date_to: date | None = None, currency: str | None = None,
    ) -> IncomeStatement:
        cur = await scope(request, config, company_id, currency)
        service.check_range(date_from, date_to)
        async with db.snapshot() as conn:
            body = await service.income_statement(conn, db, company_id, cur, date_from, date_to)
        return out(IncomeStatement, {**header(company_id, cur, date_from=date_from, date_to=date_to), **body})

    @get("/balance-sheet")
    async def balance_sheet(
        self, request: Request[Any, Any, Any], db: FinancialDb, config: FinancialConfigClient, company_id: UUID,
        as_of: date | None = None, currency: str | None = None,
    ) -> BalanceSheet:
        cur = await scope(request, config, company_id, currency)
        async with db.snapshot() as conn:
            body = await service.balance_sheet(conn, db, company_id, cur, as_of)
        return out(BalanceSheet, {**header(company_id, cur, as_of=as_of), **body})

    @get("/receivables-aging")
    async def receivables_aging(
        self, request: Request[Any, Any, Any], db: FinancialDb, config: FinancialConfigClient, company_id: UUID,
        as_of: date | None = None, currency: str | None = None,
    ) -> ReceivablesAging:
        cur = await scope(request, config, company_id, currency)
        async with db.snapshot() as conn:
            return out(ReceivablesAging, {**header(company_id, cur), **await service.receivables_aging(
                conn, db, company_id, cur, as_of or date.today())})
