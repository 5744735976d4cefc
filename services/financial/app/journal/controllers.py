"""HTTP API of the journal: post, read and reverse entries; never edit or delete them."""

from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, delete, get, patch, post, put

from modulekit.auth import principal_of, requires
from modulekit.config import module_enabled
from modulekit.paging import Page
from services.financial.app.access import company_snapshot, load_visible, may_write
from services.financial.app.db import FinancialDb
from services.financial.app.errors import Forbidden, Immutable, InvalidInput
from services.financial.app.journal import service
from services.financial.app.money import ZERO, check_currency, round_money
from services.financial.app.permissions import TRANSACTIONS_READ, TRANSACTIONS_WRITE
from services.financial.app.responses import JournalEntry, out


class JournalLineIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    account_id: UUID | None = None
    account_code: str | None = None
    debit: Decimal = ZERO
    credit: Decimal = ZERO
    description: str = ""


class JournalEntryIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    company_id: UUID
    currency: str
    lines: list[JournalLineIn]
    description: str = ""
    entry_date: date | None = None


class ReversalIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    entry_date: date | None = None
    description: str | None = None


def present(entry: dict[str, Any]) -> JournalEntry:
    currency = entry["currency"]
    lines = [
        {**line, "debit": round_money(line["debit"], currency), "credit": round_money(line["credit"], currency)}
        for line in entry["lines"]
    ]
    return out(JournalEntry, {**entry, "lines": lines, "total": sum((line["debit"] for line in lines), ZERO)})


class JournalController(Controller):
    path = "/transactions"
    tags = ["journal"]

    @post("/")
    async def post_entry(
        self, request: Request[Any, Any, Any], db: FinancialDb, data: JournalEntryIn
    ) -> JournalEntry:
        """Post a balanced entry (debits = credits) on the company's accounts."""
        principal = await may_write(request, TRANSACTIONS_WRITE, data.company_id)
        if principal.claims.tenant_id is None:
            raise Forbidden("a platform admin without a tenant cannot post entries")
        if len(data.description) > 1000:
            raise InvalidInput("description takes at most 1000 characters")
        lines = [service.LineIn(account_id=x.account_id, account_code=x.account_code, debit=x.debit,
                                credit=x.credit, description=x.description) for x in data.lines]
        async with db.transaction() as conn:
            entry_id = await service.post_entry(
                conn, db, tenant_id=principal.claims.tenant_id, company_id=data.company_id,
                entry_date=data.entry_date or date.today(), description=data.description,
                currency=check_currency(data.currency), lines=lines, created_by=principal.user_id,
            )
            return present(await service.get_entry(conn, db, entry_id, principal.claims.tenant_id))

    @get("/", guards=[requires(TRANSACTIONS_READ)])
    async def list_entries(
        self, request: Request[Any, Any, Any], db: FinancialDb, company_id: UUID, page: Page,
        date_from: date | None = None, date_to: date | None = None,
    ) -> list[JournalEntry]:
        async with company_snapshot(request, db, company_id) as conn:
            ids = await service.list_entries(conn, db, company_id, date_from=date_from, date_to=date_to,
                                             limit=page.limit, offset=page.offset)
            return [present(await service.get_entry(conn, db, i, None)) for i in ids]

    @get("/{entry_id:uuid}")
    async def get_entry(self, request: Request[Any, Any, Any], db: FinancialDb, entry_id: UUID) -> JournalEntry:
        return present(await load_visible(request, db, service.get_entry, entry_id, TRANSACTIONS_READ))

    @post("/{entry_id:uuid}/reverse")
    async def reverse_entry(
        self, request: Request[Any, Any, Any], db: FinancialDb, entry_id: UUID, data: ReversalIn | None = None
    ) -> JournalEntry:
        """Cancel a posted entry the accountant's way: a new entry with the sides swapped."""
        principal = principal_of(request)
        body = data or ReversalIn()
        async with db.transaction() as conn:
            entry = await service.get_entry(conn, db, entry_id, principal.tenant_id)
            principal.require(TRANSACTIONS_WRITE, entry["company_id"], hide=True)
            await module_enabled(request, entry["company_id"])
            new_id = await service.reverse_entry(
                conn, db, entry, entry_date=body.entry_date or date.today(), description=body.description,
                created_by=principal.user_id,
            )
            return present(await service.get_entry(conn, db, new_id, None))

    @put("/{entry_id:uuid}", status_code=409)
    async def replace_entry(self, entry_id: UUID) -> None:
        raise Immutable(f"journal entry {entry_id} is posted and immutable; post a reversing entry instead")

    @patch("/{entry_id:uuid}", status_code=409)
    async def change_entry(self, entry_id: UUID) -> None:
        raise Immutable(f"journal entry {entry_id} is posted and immutable; post a reversing entry instead")

    @delete("/{entry_id:uuid}", status_code=409)
    async def delete_entry(self, entry_id: UUID) -> None:
        raise Immutable(f"journal entry {entry_id} is posted and immutable; post a reversing entry instead")
