"""The bus admin API: what operators see and repair over HTTP, scoped by tenant, audited."""

from broker import Reject, Router
from contracts.core import CompanyCreated
from tests.services.core.conftest import Harness, Tenant
from tests.waiting import wait_until


async def dead_letter_company_events(core: Harness) -> None:
    """A subscriber that rejects every company event: one dead letter per company created."""
    router = Router()

    @router.on("core.company.created")
    async def export_company(event: CompanyCreated) -> None:
        raise Reject(f"export service refuses {event.name}")

    await core.drain(service="exporter", router=router)


async def test_tenant_admins_see_only_their_tenant_and_members_nothing(core, root, acme: Tenant, globex: Tenant):
    await dead_letter_company_events(core)
    c = core.client
    everything = (await c.get("/api/v1/admin/bus/events?limit=200", headers=root)).json()
    assert {e["tenant_id"] for e in everything} >= {acme.id, globex.id}
    mine = (await c.get("/api/v1/admin/bus/events?limit=200", headers=acme.admin)).json()
    assert mine and {e["tenant_id"] for e in mine} == {acme.id}
    globex_event = next(e["id"] for e in everything if e["tenant_id"] == globex.id)
    assert (await c.get(f"/api/v1/admin/bus/events/{globex_event}", headers=acme.admin)).status_code == 404
    shown = await c.get(f"/api/v1/admin/bus/events/{globex_event}", headers=root)
    assert shown.status_code == 200 and shown.json()["event"]["id"] == globex_event
    assert (await c.get("/api/v1/admin/bus/events", headers=acme.member)).status_code == 403
    assert (await c.get("/api/v1/admin/bus/events")).status_code == 401
    stats = await c.get("/api/v1/admin/bus/stats", headers=root)
    assert stats.status_code == 200


async def test_redrive_over_http_touches_only_the_chosen_letters_and_is_audited(core, root, acme, globex):
    await dead_letter_company_events(core)
    c = core.client
    acme_letters = (await c.get("/api/v1/admin/bus/dead-letters", headers=acme.admin)).json()
    assert len(acme_letters) == 2 and all("export service refuses" in x["reason"] for x in acme_letters)
    all_letters = (await c.get("/api/v1/admin/bus/dead-letters", headers=root)).json()
    assert len(all_letters) == 4

    body = {"selection": {"subscription": "exporter.export_company"}, "dry_run": True}
    plan = await c.post("/api/v1/admin/bus/dead-letters/redrive", json=body, headers=acme.admin)
    assert plan.status_code == 200, plan.text
    assert plan.json()["letters"] == 2
    assert len((await c.get("/api/v1/admin/bus/dead-letters", headers=root)).json()) == 4  # dry run: unchanged

    done = await c.post("/api/v1/admin/bus/dead-letters/redrive", json={**body, "dry_run": False},
                        headers=acme.admin)
    assert done.status_code == 200 and done.json()["letters"] == 2
    left = (await c.get("/api/v1/admin/bus/dead-letters", headers=root)).json()
    assert {x["id"] for x in left} == {x["id"] for x in all_letters} - {x["id"] for x in acme_letters}
    audit = (await c.get("/api/v1/admin/bus/audit", headers=acme.admin)).json()
    assert any(a["action"] == "redrive" and a["actor"] == "user:admin@acme.example" for a in audit)

    refused = await c.post("/api/v1/admin/bus/dead-letters/purge", json={"selection": {}}, headers=root)
    assert refused.status_code == 422 and "selection" in refused.text


async def test_replay_requests_name_what_is_wrong(core, root, acme):
    c = core.client
    bad = await c.post("/api/v1/admin/bus/replays", headers=root,
                       json={"selection": {"pattern": "core..x"}, "all_subscriptions": True, "dry_run": True})
    assert bad.status_code == 422 and "pattern" in bad.json()["detail"]
    unknown = await c.post("/api/v1/admin/bus/replays", headers=root,
                           json={"subscription": "nobody.listens", "dry_run": True})
    assert unknown.status_code == 404
    nothing = await c.post("/api/v1/admin/bus/replays", headers=root, json={"dry_run": True})
    assert nothing.status_code == 422 and "subscription" in nothing.json()["detail"]


async def test_a_replay_runs_in_the_background_and_is_audited(core, root, acme):

    import asyncpg

    await dead_letter_company_events(core)
    c = core.client
    started = await c.post("/api/v1/admin/bus/replays", headers=root, json={
        "selection": {"pattern": "core.company.created"}, "subscription": "exporter.export_company"})
    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]

    async def finished_run() -> dict | None:
        audit = (await c.get("/api/v1/admin/bus/audit", headers=root)).json()
        entry = next((a for a in audit if a.get("run_id") == run_id), None)
        return entry if entry and entry["status"] == "done" else None

    entry = await wait_until(finished_run, what="the replay run finished")
    assert entry["affected"] == 2
    conn = await asyncpg.connect(core.url)
    try:  # both company events are pending again for the exporter, same event ids
        assert await conn.fetchval("SELECT count(*) FROM event_deliveries WHERE status = 'pending'") == 2
    finally:
        await conn.close()
