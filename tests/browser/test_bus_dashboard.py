"""The bus dashboard as an operator meets it: Chromium through the gateway, under the CSP.

The demo admin (tenant administrator of Acme) reads the per-subscription backlog, finds a dead
letter made from a malformed event, redrives it from the browser (dry run first) and sees the audit row.
On the RabbitMQ transport, the platform administrator reads each subscription's queues in the
"RabbitMQ queues" card and sees a dead letter arrive in its dead-letter queue; the demo admin does not
get the card.
"""

import asyncio
import json
import re
from collections.abc import Coroutine, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import asyncpg
import httpx
import pytest

from broker import BusSettings, EventBus
from broker.rabbit import queue_names
from contracts.ids import uuid7
from tests.broker.events import Pinged, recording_router
from tests.broker.tcp_proxy import ProxyThread
from tests.browser.chromium import run, sign_in, sign_out
from tests.e2e.platform import RunningPlatform
from tests.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(300)]

T = TypeVar("T")
SCREENSHOT = Path("/tmp/buildify-bus-dashboard.png")

sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (Python) is not installed")
expect = sync_api.expect


def in_thread(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run async database code beside Playwright's sync API (which owns this thread's event loop)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


async def publish_malformed_company_event(database_url: str, admin_email: str) -> UUID:
    """A `core.company.created` for Acme without company_id: financial cannot decode it and dead-letters it."""
    conn = await asyncpg.connect(database_url)
    try:
        tenant_id = await conn.fetchval("SELECT tenant_id FROM users WHERE email = $1", admin_email)
        assert tenant_id is not None
        event_id = uuid7()
        await conn.execute(
            "INSERT INTO bus_outbox (id, event_type, source, tenant_id, occurred_at, version, payload)"
            " VALUES ($1, 'core.company.created', 'core', $2, now(), 1, $3::jsonb)",
            event_id, tenant_id, json.dumps({"tenant_id": str(tenant_id), "name": "Broken Co"}))
        await wait_until(
            lambda: conn.fetchval("SELECT count(*) FROM event_dead_letters WHERE event_id = $1", event_id),
            timeout=60, interval=0.2, what="financial dead-lettering the malformed event")
        return event_id
    finally:
        await conn.close()


def test_an_admin_reads_the_bus_and_redrives_a_dead_letter(platform: RunningPlatform, database_url: str) -> None:
    run(lambda page: walk_through(page, platform, database_url), width=1380, height=900)


def walk_through(page: "sync_api.Page", platform: RunningPlatform, database_url: str) -> None:
    sign_in(page, platform.gateway, platform.admin_email, platform.admin_password)
    menu = page.get_by_role("navigation", name="Main menu")
    expect(menu.get_by_text("Operations")).to_be_visible()

    # the dashboard: financial's subscriptions with their backlog, refreshed on its own
    menu.get_by_role("link", name="Event bus").click()
    expect(page.get_by_role("heading", name="Event bus")).to_be_visible()
    rows = page.locator("table.bus-subscriptions tbody tr[data-subscription^='financial.']")
    expect(rows.first).to_be_visible()
    expect(page.locator("table.bus-subscriptions thead")).to_contain_text("Backlog")
    expect(page.locator("#bus-updated")).to_contain_text("Updated")

    # a malformed event becomes a dead letter; the dashboard picks it up by itself
    event_id = in_thread(publish_malformed_company_event(database_url, platform.admin_email))
    expect(page.locator("#bus-dead-letters")).not_to_have_text("0", timeout=20_000)
    page.screenshot(path=str(SCREENSHOT), full_page=True)

    menu.get_by_role("link", name="Dead letters").click()
    expect(page.get_by_role("heading", name="Dead letters")).to_be_visible()
    letter = page.locator("table.bus-letters tbody tr").filter(has=page.locator(f"a[href='#/bus/events/{event_id}']"))
    expect(letter).to_have_count(1)
    expect(letter).to_contain_text("core.company.created")
    expect(letter).to_contain_text(re.compile(r"financial\."))
    letter.get_by_role("checkbox").check()
    expect(page.locator("#dl-chosen")).to_have_text("1 letter selected")

    # redrive: a dry run tells how many, then the confirmation sends it
    page.get_by_role("button", name="Redrive…").click()
    expect(page.locator("#bus-dry-run")).to_contain_text("1 letter would be sent again")
    page.screenshot(path=str(SCREENSHOT.with_name("buildify-bus-redrive.png")), full_page=True)
    page.get_by_role("button", name="Confirm redrive").click()
    expect(page.locator("#bus-action-result")).to_contain_text("Redriven: 1 letter")

    # the events list counts its deliveries; a click opens the envelope, the payload as text, the deliveries
    menu.get_by_role("link", name="Events").click()
    page.get_by_label("Event type pattern").fill("core.company.*")
    page.get_by_role("button", name="Filter").click()
    row = page.locator(f"tbody tr[data-event='{event_id}']")
    expect(row).to_contain_text("core.company.created")
    row.locator("td").first.click()
    expect(page.get_by_role("heading", name="core.company.created")).to_be_visible()
    expect(page.locator("#event-payload")).to_contain_text('"name": "Broken Co"')
    expect(page.locator("section").filter(has_text="Deliveries")).to_contain_text("financial.create_default_accounts")

    # replay into one subscription: a dry run first, then it starts in the background
    page.get_by_role("button", name="Replay into subscription…").click()
    page.get_by_label("Into subscription").select_option("financial.create_default_accounts")
    page.get_by_role("button", name="Dry run").click()
    expect(page.locator("#bus-dry-run")).to_contain_text("1 event would be delivered again (1 delivery)")
    page.get_by_role("button", name="Confirm replay").click()
    expect(page.locator("#bus-action-result")).to_contain_text("started in the background")

    # the audit names who redrove it
    menu.get_by_role("link", name="Audit").click()
    audit = page.locator("tbody tr").filter(has_text="redrive")
    expect(audit.first).to_contain_text(f"user:{platform.admin_email}")
    expect(audit.first).to_contain_text("1")
    expect(page.locator("tbody tr").filter(has_text="replay").first).to_contain_text(f"user:{platform.admin_email}")
    page.screenshot(path=str(SCREENSHOT.with_name("buildify-bus-audit.png")), full_page=True)

    # signing out stops the refresh and removes the module's style sheet
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    assert page.locator("link#bus-module-css").count() == 0


# financial's handler of the malformed company event above; its queue is `<prefix>.` and this name
DEAD_LETTERING = "financial.create_default_accounts"
PLATFORM_ADMIN = "platform@buildify.local"


async def leave_a_ping_waiting(database_url: str, env: Mapping[str, str]) -> str:
    """`exporter.record` binds its queue on the platform's RabbitMQ and stops; then a ping is published,
    which the platform's relays forward to it. Returns the queue's name."""
    settings = BusSettings(poll_interval=0.05, cleanup_interval=0, transport="rabbitmq", amqp_url=env["BUS_AMQP_URL"],
                           amqp_prefix=env["BUS_AMQP_PREFIX"])
    exporter = EventBus(service="exporter", dsn=database_url, settings=settings)
    exporter.include_router(recording_router([]))
    await exporter.start()
    await exporter.close()
    publisher = await EventBus(service="pinger", dsn=database_url, settings=settings.but(relay=False, workers=0)).open()
    try:
        await publisher.publish(None, Pinged(n=1))
    finally:
        await publisher.close()
    return queue_names(env["BUS_AMQP_PREFIX"], "exporter.record")[0]


def queues_from_the_api(platform: RunningPlatform) -> list[dict[str, Any]]:
    """What `GET /api/v1/admin/bus/queues` answers the platform administrator, through the gateway."""
    with httpx.Client(base_url=platform.gateway, timeout=10) as http:
        login = http.post("/api/v1/auth/login", json={"email": PLATFORM_ADMIN,
                                                      "password": platform.platform_admin_password})
        assert login.status_code == 200, login.text
        answer = http.get("/api/v1/admin/bus/queues",
                          headers={"Authorization": f"Bearer {login.json()['access_token']}"})
        assert answer.status_code == 200, answer.text
        queues: list[dict[str, Any]] = answer.json()
        return queues


@pytest.mark.rabbit
@pytest.mark.parametrize("platform", ["rabbitmq"], indirect=True)
def test_a_platform_admin_reads_the_rabbitmq_queues(
    amqp_proxy: ProxyThread, platform: RunningPlatform, database_url: str
) -> None:
    run(lambda page: read_the_queues(page, platform, database_url, amqp_proxy), provoked=queues_unavailable)


def queues_unavailable(message: "sync_api.ConsoleMessage") -> bool:
    """Chromium's log of the 503 that the queues answer while RabbitMQ is away (the test cuts it)."""
    return "/api/v1/admin/bus/queues" in str(message.location.get("url")) and "503" in message.text


def read_the_queues(page: "sync_api.Page", platform: RunningPlatform, database_url: str, rabbit: ProxyThread) -> None:
    sign_in(page, platform.gateway, PLATFORM_ADMIN, platform.platform_admin_password)
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Event bus").click()
    card = page.locator("#bus-queues")
    expect(card.get_by_role("heading", name="RabbitMQ queues")).to_be_visible()

    # every subscription the services bound has a row: its queue's ready messages, its consumers, the
    # depth of its dead-letter queue and its open letters, as the API reports them to the page
    queues = queues_from_the_api(platform)
    assert DEAD_LETTERING in [q["subscription"] for q in queues], queues
    expect(card.locator("tbody tr")).to_have_count(len(queues))
    for queue in queues:
        expect(card.locator(f"tr[data-queue='{queue['main_queue']}'] td")).to_have_text([
            re.compile(re.escape(queue["subscription"]) + ".*" + re.escape(queue["main_queue"])),
            str(queue["ready"]), str(queue["consumers"]), str(queue["messages"]), str(queue["open_letters"])])
    # its subscription reads as consumed over RabbitMQ, not as switched off (it is off in Postgres only)
    state = page.locator(f"table.bus-subscriptions tr[data-subscription='{DEAD_LETTERING}'] .badge")
    expect(state).to_have_text("RabbitMQ")
    # nothing waits and financial consumes: no message ready, one consumer, an empty dead-letter queue
    row = card.locator(f"tr[data-queue$='.{DEAD_LETTERING}']")
    expect(row.locator("td")).to_have_text([re.compile(DEAD_LETTERING), "0", "1", "0", "0"])

    # a malformed event is dead-lettered into the queue; the card picks it up by itself
    in_thread(publish_malformed_company_event(database_url, platform.admin_email))
    expect(row.locator("td")).to_have_text([re.compile(DEAD_LETTERING), "0", "1", "1", "1"], timeout=20_000)
    expect(row.locator("td").nth(3)).to_have_class(re.compile("bus-danger-text"))
    page.screenshot(path=str(SCREENSHOT.with_name("buildify-bus-queues.png")), full_page=True)

    # a subscriber that went away: what is published for it waits, ready, and nobody consumes it
    idle = card.locator(f"tr[data-queue='{in_thread(leave_a_ping_waiting(database_url, platform.env))}'] td")
    page.get_by_role("button", name="Refresh").click()  # sooner than the next 5 s round, which would do too
    expect(idle).to_have_text([re.compile(r"exporter\.record"), "1", "0", "0", "0"], timeout=20_000)
    expect(idle.nth(1)).to_have_class(re.compile("bus-warn-text"))
    expect(idle.nth(2)).to_have_class(re.compile("bus-warn-text"))

    # RabbitMQ goes away: the statistics still come from Postgres, and the card says why it has no figures
    rabbit.down()
    page.reload()
    expect(page.locator("#bus-dead-letters")).to_have_text("1")
    expect(card).to_contain_text("The queues could not be read: RabbitMQ does not answer")
    expect(card.locator("tbody tr")).to_have_count(0)

    # a tenant administrator reads the dashboard, but queues mix tenants: no card
    sign_out(page)
    sign_in(page, platform.gateway, platform.admin_email, platform.admin_password)
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Event bus").click()
    expect(page.locator(f"table.bus-subscriptions tr[data-subscription='{DEAD_LETTERING}']")).to_be_visible()
    expect(page.locator("#bus-dead-letters")).to_have_text("1")
    expect(page.locator("#bus-queues")).to_have_count(0)
