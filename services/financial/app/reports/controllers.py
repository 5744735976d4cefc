"""HTTP API of reports: trial balance, income statement, balance sheet, receivables aging."""

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
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


PeriodQuery = Callable[
    [asyncpg.Connection, FinancialDb, UUID, str, date | None, date | None], Awaitable[dict[str, Any]]
]


def header(company_id: UUID, currency: str, **dates: date | None) -> dict[str, Any]:
    return {"company_id": company_id, "currency": currency, **dates}


R = TypeVar("R")


async def period_report(
    kind: type[R], compute: PeriodQuery, request: Request[Any, Any, Any], db: FinancialDb,
    config: FinancialConfigClient, company_id: UUID, date_from: date | None, date_to: date | None,
    currency: str | None,
) -> R:
    """A report over a period (trial balance, income statement): the range checked, then computed in one snapshot."""
    cur = await scope(request, config, company_id, currency)
    service.check_range(date_from, date_to)
    async with db.snapshot() as conn:
        body = await compute(conn, db, company_id, cur, date_from, date_to)
    return out(kind, {**header(company_id, cur, date_from=date_from, date_to=date_to), **body})


class ReportController(Controller):
    path = "/reports"
    guards = [requires(REPORTS_READ)]
    tags = ["reports"]

    @get("/trial-balance")
    async def trial_balance(
        self, request: Request[Any, Any, Any], db: FinancialDb, config: FinancialConfigClient, company_id: UUID,
        date_from: date | None = None, date_to: date | None = None, currency: str | None = None,
    ) -> TrialBalance:
        return await period_report(TrialBalance, service.trial_balance, request, db, config, company_id,
                                   date_from, date_to, currency)

    @get("/income-statement")
    async def income_statement(
        self, request: Request[Any, Any, Any], db: FinancialDb, config: FinancialConfigClient, company_id: UUID,
        date_from: date | None = None, date_to: date | None = None, currency: str | None = None,
    ) -> IncomeStatement:
        return await period_report(IncomeStatement, service.income_statement, request, db, config, company_id,
                                   date_from, date_to, currency)

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
