"""HTTP API of the chart of accounts."""

from typing import Any
from uuid import UUID

import msgspec
from litestar import Controller, Request, get, post

from modulekit.auth import requires
from services.financial.app.access import company_snapshot, load_visible, may_write
from services.financial.app.accounts import service
from services.financial.app.config import FinancialConfigClient
from services.financial.app.db import FinancialDb
from services.financial.app.errors import Forbidden
from services.financial.app.money import check_currency
from services.financial.app.permissions import ACCOUNTS_READ, ACCOUNTS_WRITE
from services.financial.app.responses import Account, out


class AccountIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    company_id: UUID
    code: str
    name: str
    type: str
    currency: str | None = None


class AccountController(Controller):
    path = "/accounts"
    tags = ["accounts"]

    @get("/", guards=[requires(ACCOUNTS_READ)])
    async def list_accounts(
        self, request: Request[Any, Any, Any], db: FinancialDb, company_id: UUID
    ) -> list[Account]:
        """The company's chart of accounts, by code."""
        async with company_snapshot(request, db, company_id) as conn:
            return [out(Account, r) for r in await service.list_accounts(conn, db, company_id)]

    @get("/{account_id:uuid}")
    async def get_account(self, request: Request[Any, Any, Any], db: FinancialDb, account_id: UUID) -> Account:
        return out(Account, await load_visible(request, db, service.get_account, account_id, ACCOUNTS_READ))

    @post("/")
    async def create_account(
        self, request: Request[Any, Any, Any], db: FinancialDb, config: FinancialConfigClient, data: AccountIn
    ) -> Account:
        """Add an account to the chart; the code must be new in the company."""
        principal = await may_write(request, ACCOUNTS_WRITE, data.company_id)
        if data.currency:
            currency = check_currency(data.currency)
            tenant_id = principal.claims.tenant_id
        else:
            resolved = await config.get(data.company_id)
            currency, tenant_id = resolved.currency, resolved.tenant_id
        if tenant_id is None:
            raise Forbidden("a platform admin without a tenant cannot create accounts")
        async with db.transaction() as conn:
            row = await service.create_account(
                conn, db, tenant_id=tenant_id, company_id=data.company_id, code=data.code,
                name=data.name, kind=data.type, currency=currency,
            )
        return out(Account, row)
