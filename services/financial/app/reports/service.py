"""Reports computed from the journal itself, so they always agree with it.

Each runs in one repeatable-read snapshot; amounts are in one currency (entries in other
currencies are not mixed in).
"""

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from services.financial.app.db import FinancialDb
from services.financial.app.errors import InvalidInput
from services.financial.app.money import ZERO, round_money

AGING_BUCKETS = ("current", "1_30", "31_60", "61_90", "over_90")


def check_range(date_from: date | None, date_to: date | None) -> None:
    if date_from and date_to and date_from > date_to:
        raise InvalidInput(f"date_from {date_from} is after date_to {date_to}")


async def _balances(
    conn: asyncpg.Connection, db: FinancialDb, company_id: UUID, currency: str,
    date_from: date | None, date_to: date | None,
) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"""SELECT a.id, a.code, a.name, a.type,
                   COALESCE(SUM(l.debit), 0) AS debit, COALESCE(SUM(l.credit), 0) AS credit
            FROM {db.t('accounts')} a
            JOIN {db.t('transaction_lines')} l ON l.account_id = a.id
            JOIN {db.t('transactions')} t ON t.id = l.transaction_id
            WHERE a.company_id = $1 AND t.currency = $2
              AND ($3::date IS NULL OR t.entry_date >= $3) AND ($4::date IS NULL OR t.entry_date <= $4)
            GROUP BY a.id, a.code, a.name, a.type ORDER BY a.code""",
        company_id, currency, date_from, date_to,
    )


async def trial_balance(
    conn: asyncpg.Connection, db: FinancialDb, company_id: UUID, currency: str,
    date_from: date | None, date_to: date | None,
) -> dict[str, Any]:
    """Net debit or credit per account; the two totals are equal when the journal is sound."""
    rows = []
    total_debit = total_credit = ZERO
    for r in await _balances(conn, db, company_id, currency, date_from, date_to):
        net = r["debit"] - r["credit"]
        debit = round_money(net if net > 0 else ZERO, currency)
        credit = round_money(-net if net < 0 else ZERO, currency)
        total_debit += debit
        total_credit += credit
        rows.append({"account_id": r["id"], "code": r["code"], "name": r["name"], "type": r["type"],
                     "debit": debit, "credit": credit})
    return {"accounts": rows, "total_debit": total_debit, "total_credit": total_credit,
            "balanced": total_debit == total_credit}


async def income_statement(
    conn: asyncpg.Connection, db: FinancialDb, company_id: UUID, currency: str,
    date_from: date | None, date_to: date | None,
) -> dict[str, Any]:
    """Revenue minus expenses over the range."""
    revenue, expenses = [], []
    total_revenue = total_expenses = ZERO
    for r in await _balances(conn, db, company_id, currency, date_from, date_to):
        if r["type"] == "revenue":
            amount = round_money(r["credit"] - r["debit"], currency)
            total_revenue += amount
            revenue.append({"account_id": r["id"], "code": r["code"], "name": r["name"], "amount": amount})
        elif r["type"] == "expense":
            amount = round_money(r["debit"] - r["credit"], currency)
            total_expenses += amount
            expenses.append({"account_id": r["id"], "code": r["code"], "name": r["name"], "amount": amount})
    return {"revenue": revenue, "expenses": expenses, "total_revenue": total_revenue,
            "total_expenses": total_expenses, "net_income": total_revenue - total_expenses}


async def balance_sheet(
    conn: asyncpg.Connection, db: FinancialDb, company_id: UUID, currency: str, as_of: date | None
) -> dict[str, Any]:
    """Assets = liabilities + equity (with earnings not yet closed) at `as_of`."""
    sections: dict[str, list[dict[str, Any]]] = {"asset": [], "liability": [], "equity": []}
    totals = {"asset": ZERO, "liability": ZERO, "equity": ZERO}
    earnings = ZERO
    for r in await _balances(conn, db, company_id, currency, None, as_of):
        net = r["debit"] - r["credit"]
        if r["type"] in ("revenue", "expense"):
            earnings -= net
            continue
        amount = round_money(net if r["type"] == "asset" else -net, currency)
        totals[r["type"]] += amount
        sections[r["type"]].append({"account_id": r["id"], "code": r["code"], "name": r["name"], "amount": amount})
    earnings = round_money(earnings, currency)
    equity_total = totals["equity"] + earnings
    return {
        "assets": sections["asset"], "liabilities": sections["liability"], "equity": sections["equity"],
        "current_earnings": earnings, "total_assets": totals["asset"], "total_liabilities": totals["liability"],
        "total_equity": equity_total,
        "balanced": totals["asset"] == totals["liability"] + equity_total,
    }


async def receivables_aging(
    conn: asyncpg.Connection, db: FinancialDb, company_id: UUID, currency: str, as_of: date
) -> dict[str, Any]:
    """What customers owe at `as_of`, by days past the due date."""
    rows = await conn.fetch(
        f"""SELECT i.id, i.number, i.customer, i.due_date, i.total,
                   i.total - COALESCE((SELECT SUM(p.amount) FROM {db.t('payments')} p
                                       WHERE p.invoice_id = i.id AND p.paid_on <= $3), 0) AS outstanding
            FROM {db.t('invoices')} i
            WHERE i.company_id = $1 AND i.currency = $2 AND i.issue_date <= $3
            ORDER BY i.due_date, i.number""",
        company_id, currency, as_of,
    )
    buckets = {name: ZERO for name in AGING_BUCKETS}
    invoices = []
    for r in rows:
        outstanding: Decimal = round_money(r["outstanding"], currency)
        if outstanding <= 0:
            continue
        days = (as_of - r["due_date"]).days
        bucket = (
            "current" if days <= 0 else "1_30" if days <= 30 else "31_60" if days <= 60
            else "61_90" if days <= 90 else "over_90"
        )
        buckets[bucket] += outstanding
        invoices.append({"invoice_id": r["id"], "number": r["number"], "customer": r["customer"],
                         "due_date": r["due_date"], "days_overdue": max(days, 0), "bucket": bucket,
                         "outstanding": outstanding})
    return {"as_of": as_of, "buckets": buckets, "invoices": invoices, "total": sum(buckets.values(), ZERO)}
