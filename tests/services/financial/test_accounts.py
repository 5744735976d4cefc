"""The chart of accounts: created from core's event exactly once, on both strategies."""

from uuid import uuid4

import asyncpg

from broker import EventBus
from broker.testing import memory_bus, run_until_idle
from contracts.core import CompanyCreated
from modulekit.database import Database
from services.financial.app.accounts import handlers
from services.financial.app.accounts.service import DEFAULT_CHART
from tests.services.financial.conftest import FAST, Harness, auth


async def publish_company_created(bus_url: str, event: CompanyCreated) -> None:
    core_bus = EventBus(service="core", dsn=bus_url, settings=FAST)
    await core_bus.open()
    try:
        await core_bus.publish(None, event, tenant_id=event.tenant_id, company_id=event.company_id)
        await run_until_idle(core_bus)
    finally:
        await core_bus.close()


async def count_accounts(url: str, company_id: object) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval("SELECT count(*) FROM financial_accounts WHERE company_id = $1", company_id))
    finally:
        await conn.close()


async def test_company_created_gets_default_chart_once_even_if_delivered_twice(harness: Harness) -> None:
    tenant_id, company_id = harness.core.add_company()
    event = CompanyCreated(company_id=company_id, tenant_id=tenant_id, name="Acme GmbH", currency="EUR")
    await publish_company_created(harness.bus_url, event)
    assert await run_until_idle(harness.bus) >= 1
    assert await count_accounts(harness.data_url, company_id) == len(DEFAULT_CHART)

    # The broker redelivers the very same event (a lease expired, a replay): no second effect.
    bus_conn = await asyncpg.connect(harness.bus_url)
    try:
        reset = await bus_conn.execute(
            "UPDATE event_deliveries d SET status = 'pending', available_at = now(), finished_at = NULL "
            "FROM event_subscriptions s WHERE s.id = d.subscription_id AND s.module_name = 'financial'"
        )
        assert reset != "UPDATE 0"
    finally:
        await bus_conn.close()
    assert await run_until_idle(harness.bus) >= 1
    assert await count_accounts(harness.data_url, company_id) == len(DEFAULT_CHART)
    conn = await asyncpg.connect(harness.data_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM event_inbox WHERE event_id IS NOT NULL") >= 1
    finally:
        await conn.close()

    # Core publishing the fact twice (two event ids) does not duplicate the chart either.
    await publish_company_created(harness.bus_url, event)
    await run_until_idle(harness.bus)
    assert await count_accounts(harness.data_url, company_id) == len(DEFAULT_CHART)

    response = await harness.client.get(
        "/api/v1/financial/accounts", params={"company_id": str(company_id)}, headers=auth(tenant_id, company_id)
    )
    assert response.status_code == 200
    body = response.json()
    assert [a["code"] for a in body] == sorted(code for code, _, _ in DEFAULT_CHART)
    assert {a["currency"] for a in body} == {"EUR"}


async def test_handler_on_the_in_memory_bus(database_url: str) -> None:
    """Module authors' unit test: the handler alone, on the memory bus, against our tables."""
    db = Database(database_url, "financial_", pool_size=2)
    await db.start()
    try:
        bus = memory_bus("financial", transaction=db.transaction)
        bus.include_router(handlers.build_router(db))
        await bus.open()
        core = memory_bus("core")
        event = CompanyCreated(company_id=uuid4(), tenant_id=uuid4(), name="Memo Ltd")
        # The same store carries core's event to our subscription.
        await bus.publish(None, event, tenant_id=event.tenant_id, company_id=event.company_id)
        assert core is not None
        assert await run_until_idle(bus) == 1
        assert await count_accounts(database_url, event.company_id) == len(DEFAULT_CHART)
    finally:
        await db.stop()


async def test_create_account_and_duplicate_code(shared: Harness) -> None:
    tenant_id, company_id = shared.core.add_company(currency="GBP")
    headers = auth(tenant_id, company_id)
    body = {"company_id": str(company_id), "code": "1300", "name": "Prepaid rent", "type": "asset"}
    created = await shared.client.post("/api/v1/financial/accounts", json=body, headers=headers)
    assert created.status_code == 201, created.text
    assert created.json()["currency"] == "GBP"
    again = await shared.client.post("/api/v1/financial/accounts", json=body, headers=headers)
    assert again.status_code == 409
    assert "1300" in again.json()["detail"]
    bad = await shared.client.post(
        "/api/v1/financial/accounts", json={**body, "code": "1301", "type": "asset-ish"}, headers=headers
    )
    assert bad.status_code == 400 and "account type" in bad.json()["detail"]
    one = await shared.client.get(f"/api/v1/financial/accounts/{created.json()['id']}", headers=headers)
    assert one.status_code == 200 and one.json()["name"] == "Prepaid rent"
