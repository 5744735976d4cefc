"""Two replicas of the module, one configuration change in core: both read the new values at
once (a broadcast subscription), neither waits out its cache's time limit."""

from broker.testing import run_until_idle
from tests.services.financial.conftest import HarnessFactory
from tests.services.financial.helpers import company, configured_in_core, invoice


async def test_a_config_change_reaches_every_replica(make_harness: HarnessFactory) -> None:
    replicas = [await make_harness("shared"), await make_harness("shared")]
    first = replicas[0]
    tenant_id, company_id, headers = await company(first, invoice_prefix="OLD")
    for n, replica in enumerate(replicas, start=1):  # each replica caches the configuration
        assert (await invoice(replica, company_id, headers))["number"] == f"OLD-{n:06d}"
    first.core.set(tenant_id, company_id, invoice_prefix="NEW")
    assert (await invoice(replicas[1], company_id, headers))["number"] == "OLD-000003"  # cached

    await configured_in_core(first, tenant_id, company_id, invoice_prefix="NEW")
    for replica in replicas:
        await run_until_idle(replica.bus)

    numbers = [(await invoice(replica, company_id, headers))["number"] for replica in replicas]
    assert numbers == ["NEW-000004", "NEW-000005"]
