"""Core serves the AsyncAPI document of every event, and registering a module shows in it."""

from contracts.catalog import event_classes
from contracts.envelope import event_type_of
from tests.services.core.conftest import FINANCIAL, Harness


async def test_asyncapi_lists_every_event_and_who_consumes_it(core: Harness, root: dict[str, str]) -> None:
    before = (await core.client.get("/asyncapi.json")).json()
    assert before["asyncapi"] == "3.0.0"
    assert {event_type_of(cls) for cls in event_classes()} <= set(before["channels"])
    assert before["channels"]["core.company.created"]["x-consumers"] == []

    assert (await core.client.post("/api/v1/modules", json=FINANCIAL, headers=root)).status_code == 200
    after = (await core.client.get("/asyncapi", headers={"Accept": "application/json"})).json()
    assert after["channels"]["core.company.created"]["x-consumers"] == ["financial"]
    assert "financial.send.financial.invoice.created" in after["operations"]


async def test_a_browser_gets_a_readable_page(core: Harness, root: dict[str, str]) -> None:
    await core.client.post("/api/v1/modules", json=FINANCIAL, headers=root)
    page = await core.client.get("/asyncapi", headers={"Accept": "text/html,application/xhtml+xml"})
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<code>core.company.created</code>" in page.text and "<script" not in page.text
    assert "company_id, tenant_id, name, currency?" in page.text
