"""Shortcuts for tests: a company with its chart, invoices and payments over HTTP."""

from decimal import Decimal
from typing import Any
from uuid import UUID

from broker import EventBus
from broker.testing import run_until_idle
from contracts.core import ModuleConfigured
from tests.services.financial.conftest import FAST, Harness, auth


async def company(h: Harness, **config: Any) -> tuple[UUID, UUID, dict[str, str]]:
    tenant_id, company_id = h.core.add_company(**config)
    return tenant_id, company_id, auth(tenant_id, company_id)


async def invoice(h: Harness, company_id: UUID, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    body.setdefault("customer", "Acme Corp")
    if "total" not in body:
        body.setdefault("lines", [{"description": "Consulting", "quantity": "2", "unit_price": "500.00"}])
    response = await h.client.post(
        "/api/v1/financial/invoices", json={"company_id": str(company_id), **body}, headers=headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def pay(h: Harness, invoice_id: str, amount: str, headers: dict[str, str], **body: Any) -> Any:
    return await h.client.post(
        "/api/v1/financial/payments", json={"invoice_id": invoice_id, "amount": amount, **body}, headers=headers
    )


def money(value: str) -> Decimal:
    return Decimal(value)


async def configured_in_core(h: Harness, tenant_id: UUID, company_id: UUID, **after: Any) -> None:
    """Core publishes `core.module.configured` for the company (its bus relays it; the module's
    buses still have to run their subscriptions)."""
    core_bus = EventBus(service="core", dsn=h.bus_url, settings=FAST)
    await core_bus.open()
    try:
        await core_bus.publish(None, ModuleConfigured(module_name="financial", tenant_id=tenant_id,
                                                      company_id=company_id, after=after),
                               tenant_id=tenant_id, company_id=company_id)
        await run_until_idle(core_bus)
    finally:
        await core_bus.close()
