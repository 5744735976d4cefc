"""Disable and purge are enforced (issue 11, finding 10)."""

from typing import Any
from uuid import UUID

import asyncpg
import pytest

from broker import EventBus
from broker.testing import run_until_idle
from contracts.core import ModuleDisabled
from modulekit.database import Database
from services.financial.app.accounts.handlers import purge_tenant
from tests.services.financial.conftest import FAST, Harness
from tests.services.financial.helpers import company, invoice, pay

pytestmark = pytest.mark.security

ENTRY = "/api/v1/financial/transactions"


def entry(company_id: UUID) -> dict[str, Any]:
    return {"company_id": str(company_id), "currency": "USD", "description": "Owner invests",
            "entry_date": "2026-11-01", "lines": [{"account_code": "1000", "debit": "5", "credit": "0"},
                                                  {"account_code": "3000", "debit": "0", "credit": "5"}]}


async def announce(h: Harness, event: ModuleDisabled) -> None:
    """Core publishes `core.module.disabled`; the module's bus delivers it."""
    core_bus = EventBus(service="core", dsn=h.bus_url, settings=FAST)
    await core_bus.open()
    try:
        await core_bus.publish(None, event, tenant_id=event.tenant_id)
        await run_until_idle(core_bus)
    finally:
        await core_bus.close()
    await run_until_idle(h.bus)


async def a_company_with_data(h: Harness) -> tuple[UUID, UUID, dict[str, str]]:
    tenant_id, company_id, headers = await company(h)
    first = await invoice(h, company_id, headers, total="100")
    assert (await pay(h, first["id"], "40", headers)).status_code == 201
    r = await h.client.post(ENTRY, json=entry(company_id), headers=headers)
    assert r.status_code == 201, r.text
    return tenant_id, company_id, headers


async def test_after_disabling_nothing_works_for_that_company(shared: Harness) -> None:
    tenant_id, company_id, headers = await a_company_with_data(shared)
    shared.core.set(tenant_id, company_id, is_enabled=False)
    await announce(shared, ModuleDisabled(module_name="financial", tenant_id=tenant_id))
    params = {"company_id": str(company_id)}
    for method, url, kwargs in [
        ("post", ENTRY, {"json": entry(company_id)}),
        ("post", "/api/v1/financial/accounts", {"json": {"company_id": str(company_id), "code": "1999",
                                                          "name": "Petty cash", "type": "asset"}}),
        ("get", "/api/v1/financial/reports/trial-balance", {"params": params}),
        ("get", "/api/v1/financial/invoices", {"params": params}),
        ("get", "/api/v1/financial/accounts", {"params": params}),
        ("post", "/api/v1/financial/invoices", {"json": {"company_id": str(company_id), "customer": "X",
                                                          "total": "1"}}),
    ]:
        r = await getattr(shared.client, method)(url, headers=headers, **kwargs)
        assert r.status_code == 403, (url, r.text)
        assert r.json()["type"] == "urn:buildify:problem:module-disabled", (url, r.text)


async def count_rows(h: Harness, tenant_id: UUID) -> dict[str, int]:
    conn = await asyncpg.connect(h.data_url)
    try:
        counts = {}
        for short in ("accounts", "transactions", "invoices", "payments"):
            counts[short] = await conn.fetchval(f'SELECT count(*) FROM "financial_{short}" WHERE tenant_id = $1',
                                                tenant_id)
        counts["lines"] = await conn.fetchval(
            'SELECT count(*) FROM "financial_transaction_lines" l JOIN "financial_transactions" t '
            "ON t.id = l.transaction_id WHERE t.tenant_id = $1", tenant_id)
        return counts
    finally:
        await conn.close()


async def test_purge_deletes_the_tenant_s_rows_and_only_theirs(shared: Harness) -> None:
    doomed, _, _ = await a_company_with_data(shared)
    kept, _, _ = await a_company_with_data(shared)
    assert all(await count_rows(shared, doomed))  # data in every table
    before = await count_rows(shared, kept)
    await announce(shared, ModuleDisabled(module_name="financial", tenant_id=doomed, purge=True))
    assert await count_rows(shared, doomed) == dict.fromkeys(before, 0)
    assert await count_rows(shared, kept) == before


async def test_a_purge_for_another_module_or_without_purge_deletes_nothing(shared: Harness) -> None:
    tenant_id, _, _ = await a_company_with_data(shared)
    before = await count_rows(shared, tenant_id)
    await announce(shared, ModuleDisabled(module_name="warehouse", tenant_id=tenant_id, purge=True))
    await announce(shared, ModuleDisabled(module_name="financial", tenant_id=tenant_id, purge=False))
    assert await count_rows(shared, tenant_id) == before


async def test_posted_entries_stay_immutable_outside_a_purge(shared: Harness) -> None:
    tenant_id, _, _ = await a_company_with_data(shared)
    conn = await asyncpg.connect(shared.data_url)
    try:
        with pytest.raises(asyncpg.RaiseError, match="immutable"):
            await conn.execute('DELETE FROM "financial_transactions" WHERE tenant_id = $1', tenant_id)
    finally:
        await conn.close()


async def test_a_purge_does_not_unlock_other_tenants_rows_for_the_rest_of_its_transaction(shared: Harness) -> None:
    """A bus handler's `ctx.transaction()` may be a savepoint in a transaction its batch-mates share
    (broker/inbox_batch.py): a purge's permission must end with the purge, not with the transaction."""
    doomed, _, _ = await a_company_with_data(shared)
    victim, _, _ = await a_company_with_data(shared)
    conn = await asyncpg.connect(shared.data_url)
    try:
        async with conn.transaction():  # the batch's shared transaction
            async with conn.transaction():  # the purging delivery's savepoint
                await purge_tenant(conn, Database(shared.data_url, "financial_"), doomed)
            with pytest.raises(asyncpg.RaiseError, match="immutable"):  # a later delivery's savepoint
                async with conn.transaction():
                    await conn.execute('DELETE FROM "financial_transaction_lines" WHERE transaction_id IN '
                                       '(SELECT id FROM "financial_transactions" WHERE tenant_id = $1)', victim)
    finally:
        await conn.close()
