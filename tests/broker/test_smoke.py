from uuid import uuid4

from broker import Delivery, Router
from broker.testing import run_until_idle
from contracts.core import CompanyCreated


async def test_published_event_reaches_handler(make_bus):
    router = Router()
    seen = []

    @router.on("core.company.created", priority=8)
    async def create_default_accounts(event: CompanyCreated, ctx: Delivery) -> None:
        seen.append((event.name, ctx.attempt))

    bus = await make_bus("financial", router)
    await bus.publish(None, CompanyCreated(company_id=uuid4(), tenant_id=uuid4(), name="Acme"), tenant_id=uuid4())
    assert await run_until_idle(bus) == 1
    assert seen == [("Acme", 1)]
