"""Double-entry journal: balanced entries only, never changed once posted (reversals instead)."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg

from contracts.ids import uuid7
from services.financial.app.db import FinancialDb, fetch_in_tenant, with_lines
from services.financial.app.errors import Conflict, InvalidInput, Unbalanced
from services.financial.app.money import ZERO, exact_money

MAX_LINES = 500


@dataclass(frozen=True, slots=True)
class LineIn:
    """One side of an entry, naming its account by id or by code."""

    debit: Decimal = ZERO
    credit: Decimal = ZERO
    account_id: UUID | None = None
    account_code: str | None = None
    description: str = ""


async def post_entry(
    conn: asyncpg.Connection,
    db: FinancialDb,
    *,
    tenant_id: UUID,
    company_id: UUID,
    entry_date: date,
    description: str,
    currency: str,
    lines: list[LineIn],
    source: str = "manual",
    source_id: UUID | None = None,
    reverses_id: UUID | None = None,
    created_by: str | None = None,
) -> UUID:
    """Validate and insert an entry on `conn` (the caller's transaction); returns its id."""
    if len(lines) < 2:
        raise InvalidInput("a journal entry needs at least two lines (a debit and a credit)")
    if len(lines) > MAX_LINES:
        raise InvalidInput(f"a journal entry may have at most {MAX_LINES} lines")
    accounts = await _resolve_accounts(conn, db, company_id, lines)
    debits = credits = ZERO
    checked: list[tuple[UUID, Decimal, Decimal, str]] = []
    for n, line in enumerate(lines, start=1):
        debit = exact_money(line.debit, currency, f"line {n} debit")
        credit = exact_money(line.credit, currency, f"line {n} credit")
        if debit < 0 or credit < 0:
            raise InvalidInput(f"line {n} has a negative amount; use the other side instead")
        if (debit == 0) == (credit == 0):
            raise InvalidInput(f"line {n} must have either a debit or a credit, not both or neither")
        debits += debit
        credits += credit
        checked.append((accounts[n - 1], debit, credit, line.description))
    if debits != credits:
        raise Unbalanced(
            f"the entry does not balance: debits {debits} and credits {credits} differ by {debits - credits}",
        )
    entry_id = uuid7()
    await conn.execute(
        f"INSERT INTO {db.t('transactions')} (id, tenant_id, company_id, entry_date, description, currency, "
        "source, source_id, reverses_id, created_by, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, now())",
        entry_id, tenant_id, company_id, entry_date, description, currency, source, source_id,
        reverses_id, created_by,
    )
    await conn.executemany(
        f"INSERT INTO {db.t('transaction_lines')} (id, transaction_id, account_id, line_no, debit, credit, "
        "description) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [(uuid7(), entry_id, acc, n, d, c, text) for n, (acc, d, c, text) in enumerate(checked, start=1)],
    )
    return entry_id


async def _resolve_accounts(
    conn: asyncpg.Connection, db: FinancialDb, company_id: UUID, lines: list[LineIn]
) -> list[UUID]:
    rows = await conn.fetch(
        f"SELECT id, code, is_active FROM {db.t('accounts')} WHERE company_id = $1", company_id
    )
    by_id = {r["id"]: r for r in rows}
    by_code = {r["code"]: r for r in rows}
    resolved = []
    for n, line in enumerate(lines, start=1):
        if line.account_id is not None:
            row = by_id.get(line.account_id)
            named = f"account {line.account_id}"
        elif line.account_code:
            row = by_code.get(line.account_code)
            named = f"account code {line.account_code}"
        else:
            raise InvalidInput(f"line {n} names no account (give account_id or account_code)")
        if row is None:
            raise InvalidInput(f"line {n}: unknown {named} in company {company_id}")
        if not row["is_active"]:
            raise InvalidInput(f"line {n}: {named} is inactive")
        resolved.append(row["id"])
    return resolved


ENTRY_COLUMNS = (
    "t.id, t.tenant_id, t.company_id, t.entry_date, t.description, t.currency, t.source, t.source_id, "
    "t.reverses_id, t.created_by, t.created_at"
)


async def get_entry(
    conn: asyncpg.Connection, db: FinancialDb, entry_id: UUID, tenant_id: UUID | None
) -> dict[str, Any]:
    reversed_by = f"(SELECT r.id FROM {db.t('transactions')} r WHERE r.reverses_id = t.id) AS reversed_by"
    row = await fetch_in_tenant(
        conn, f"{db.t('transactions')} t", f"{ENTRY_COLUMNS}, {reversed_by}", entry_id, tenant_id,
        noun="journal entry",
    )
    return await with_lines(
        conn, row,
        f"SELECT l.account_id, a.code AS account_code, a.name AS account_name, l.debit, l.credit, "
        f"l.description FROM {db.t('transaction_lines')} l JOIN {db.t('accounts')} a ON a.id = l.account_id "
        "WHERE l.transaction_id = $1 ORDER BY l.line_no",
    )


async def list_entries(
    conn: asyncpg.Connection, db: FinancialDb, company_id: UUID, *, date_from: date | None, date_to: date | None,
    limit: int, offset: int,
) -> list[UUID]:
    rows = await conn.fetch(
        f"SELECT id FROM {db.t('transactions')} WHERE company_id = $1 "
        "AND ($2::date IS NULL OR entry_date >= $2) AND ($3::date IS NULL OR entry_date <= $3) "
        "ORDER BY entry_date, id LIMIT $4 OFFSET $5",
        company_id, date_from, date_to, limit, offset,
    )
    return [r["id"] for r in rows]


async def reverse_entry(
    conn: asyncpg.Connection, db: FinancialDb, entry: dict[str, Any], *, entry_date: date,
    description: str | None, created_by: str | None,
) -> UUID:
    """Post the mirror image of `entry` (debits become credits), linked to it; once only."""
    if entry["reverses_id"] is not None:
        raise Conflict(f"entry {entry['id']} is itself a reversal; post a new entry instead")
    taken = await conn.fetchval(
        f"SELECT id FROM {db.t('transactions')} WHERE reverses_id = $1 FOR UPDATE", entry["id"]
    )
    if taken is not None or entry.get("reversed_by") is not None:
        raise Conflict(f"entry {entry['id']} has already been reversed by {taken or entry['reversed_by']}")
    if entry["source"] != "manual":
        raise Conflict(
            f"entry {entry['id']} was posted by a {entry['source']}; correct the {entry['source']} instead"
        )
    lines = [
        LineIn(account_id=line["account_id"], debit=line["credit"], credit=line["debit"],
               description=line["description"])
        for line in entry["lines"]
    ]
    quantized = [
        LineIn(account_id=x.account_id, debit=_q(x.debit, entry["currency"]),
               credit=_q(x.credit, entry["currency"]), description=x.description)
        for x in lines
    ]
    try:
        return await post_entry(
            conn, db, tenant_id=entry["tenant_id"], company_id=entry["company_id"], entry_date=entry_date,
            description=description or f"Reversal of {entry['description']}".strip(),
            currency=entry["currency"], lines=quantized, source="manual", reverses_id=entry["id"],
            created_by=created_by,
        )
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(f"entry {entry['id']} has already been reversed") from exc


def _q(amount: Decimal, currency: str) -> Decimal:
    from services.financial.app.money import round_money

    return round_money(amount, currency)
