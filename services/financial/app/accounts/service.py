"""The chart of accounts: a default chart per company, and accounts people add."""

from typing import Any
from uuid import UUID

import asyncpg

from contracts.ids import uuid7
from services.financial.app.db import FinancialDb, fetch_in_tenant
from services.financial.app.errors import Conflict, InvalidInput

ACCOUNT_TYPES = ("asset", "liability", "equity", "revenue", "expense")

# Codes the module posts to by itself; they are part of every default chart.
CASH, RECEIVABLE, TAX_PAYABLE, REVENUE = "1000", "1200", "2200", "4000"
INVENTORY, COGS = "1300", "5000"  # booked when the warehouse issues stock (cogs.handlers)

DEFAULT_CHART: list[tuple[str, str, str]] = [
    ("1000", "Cash", "asset"),
    ("1100", "Bank", "asset"),
    ("1200", "Accounts Receivable", "asset"),
    ("1300", "Inventory", "asset"),
    ("2000", "Accounts Payable", "liability"),
    ("2200", "Sales Tax Payable", "liability"),
    ("3000", "Owner's Equity", "equity"),
    ("3900", "Retained Earnings", "equity"),
    ("4000", "Sales Revenue", "revenue"),
    ("5000", "Cost of Goods Sold", "expense"),
    ("6000", "Operating Expenses", "expense"),
]

COLUMNS = "id, tenant_id, company_id, code, name, type, currency, is_active, is_system, created_at"


async def create_default_chart(
    conn: asyncpg.Connection, db: FinancialDb, *, tenant_id: UUID, company_id: UUID, currency: str
) -> int:
    """Insert the default chart for a company; accounts already there are kept, so running
    it again (a redelivery, an invoice racing the event) changes nothing. Returns rows added."""
    rows = [(uuid7(), tenant_id, company_id, code, name, kind, currency) for code, name, kind in DEFAULT_CHART]
    added = 0
    for row in rows:
        result = await conn.execute(
            f"INSERT INTO {db.t('accounts')} (id, tenant_id, company_id, code, name, type, currency, "
            "is_active, is_system, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, true, true, now()) "
            "ON CONFLICT (company_id, code) DO NOTHING",
            *row,
        )
        added += int(result.split()[-1])
    return added


async def adopt_currency(conn: asyncpg.Connection, db: FinancialDb, company_id: UUID, currency: str) -> int:
    """Move the default accounts of a company to `currency` while nothing is booked on them yet.

    The chart is made when core announces the company, often before the module is configured
    for it; until an account is used it should follow the company's configured currency.
    Returns how many accounts changed."""
    result = await conn.execute(
        f"UPDATE {db.t('accounts')} a SET currency = $2 WHERE a.company_id = $1 AND a.is_system "
        f"AND a.currency <> $2 AND NOT EXISTS "
        f"(SELECT 1 FROM {db.t('transaction_lines')} l WHERE l.account_id = a.id)",
        company_id, currency,
    )
    return int(result.split()[-1])


async def list_accounts(conn: asyncpg.Connection, db: FinancialDb, company_id: UUID) -> list[asyncpg.Record]:
    return await conn.fetch(
        f"SELECT {COLUMNS} FROM {db.t('accounts')} WHERE company_id = $1 ORDER BY code", company_id
    )


async def get_account(conn: asyncpg.Connection, db: FinancialDb, account_id: UUID, tenant_id: UUID | None) -> Any:
    return await fetch_in_tenant(conn, db.t("accounts"), COLUMNS, account_id, tenant_id, noun="account")


async def create_account(
    conn: asyncpg.Connection, db: FinancialDb, *, tenant_id: UUID, company_id: UUID,
    code: str, name: str, kind: str, currency: str,
) -> asyncpg.Record:
    if kind not in ACCOUNT_TYPES:
        raise InvalidInput(f"account type must be one of {', '.join(ACCOUNT_TYPES)}, not {kind!r}")
    code, name = code.strip(), name.strip()
    if not code or len(code) > 20:
        raise InvalidInput("account code must be 1 to 20 characters")
    if not name or len(name) > 200:
        raise InvalidInput("account name must be 1 to 200 characters")
    row = await conn.fetchrow(
        f"INSERT INTO {db.t('accounts')} (id, tenant_id, company_id, code, name, type, currency, "
        "is_active, is_system, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, true, false, now()) "
        f"ON CONFLICT (company_id, code) DO NOTHING RETURNING {COLUMNS}",
        uuid7(), tenant_id, company_id, code, name, kind, currency,
    )
    if row is None:
        raise Conflict(f"company {company_id} already has an account with code {code}")
    return row

