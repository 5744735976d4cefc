"""Tenant administrators and the shared bus (issue 11, finding 8)."""

import pytest

from broker import Router
from contracts.core import CompanyCreated
from tests.services.core.conftest import Harness, Tenant
from tests.waiting import wait_until

pytestmark = pytest.mark.security

SECRET_URL = "http://10.1.2.3:8443/internal/hook?token=abc"


async def failing_callback_letters(core: Harness) -> None:
    """A subscriber failing like a callback would: its error names an internal URL."""
    router = Router()

    @router.on("core.company.created", retry=None)
    async def push_to_partner(event: CompanyCreated) -> None:
        from broker import Reject

        raise Reject(f"{SECRET_URL} answered 500: internal stack at /srv/app.py line 3")

    await core.drain(service="partner", router=router)


async def test_tenant_admins_see_dead_letters_without_urls_or_tracebacks(core: Harness, root: dict,
                                                                       acme: Tenant) -> None:
    await failing_callback_letters(core)
    c = core.client
    mine = (await c.get("/api/v1/admin/bus/dead-letters", headers=acme.admin)).json()
    assert mine, "the subscriber dead-lettered acme's company events"
    assert SECRET_URL not in str(mine) and "10.1.2.3" not in str(mine)
    one = (await c.get(f"/api/v1/admin/bus/dead-letters/{mine[0]['id']}", headers=acme.admin)).json()
    assert "10.1.2.3" not in str(one) and (one["traceback"] is None or "hidden" in one["traceback"])
    event = (await c.get(f"/api/v1/admin/bus/events/{one['event_id']}", headers=acme.admin)).json()
    assert "10.1.2.3" not in str(event)
    full = (await c.get(f"/api/v1/admin/bus/dead-letters/{mine[0]['id']}", headers=root)).json()
    assert SECRET_URL in full["reason"] + (full["error"] or "")


@pytest.mark.parametrize(("rate", "status"), [(1e12, 400), (51, 422), (0, 400), (-1, 400)])
async def test_a_tenant_replay_cannot_ask_for_an_unbounded_rate(core: Harness, acme: Tenant, rate: float,
                                                                status: int) -> None:
    r = await core.client.post("/api/v1/admin/bus/replays", headers=acme.admin, json={
        "selection": {"pattern": "core.#"}, "all_subscriptions": True, "rate": rate})
    assert r.status_code == status, r.text
    assert "rate" in r.text


async def test_a_tenant_runs_one_replay_at_a_time(core: Harness, acme: Tenant, globex: Tenant) -> None:
    await failing_callback_letters(core)  # a subscription to replay into
    running = core.app.state["core"].replays
    running[acme.id] = 1  # a replay of acme's is in progress
    body = {"selection": {"pattern": "core.#"}, "all_subscriptions": True}
    r = await core.client.post("/api/v1/admin/bus/replays", headers=acme.admin, json=body)
    assert r.status_code == 429, r.text
    assert r.headers["retry-after"] and r.json()["type"] == "urn:buildify:problem:replay-running"
    r = await core.client.post("/api/v1/admin/bus/replays", headers=globex.admin, json=body)
    assert r.status_code == 202, r.text  # another tenant is not held up
    await wait_until(lambda: running.get(globex.id) == 0, what="globex's replay finished and was counted off")
