"""What only PostgreSQL shows: rolling deploys, a crash that empties the UNLOGGED log, relays
that meet each other."""

import asyncio
import time

import asyncpg
import structlog
from typer.testing import CliRunner

from broker import EventBus, Router, cli, housekeeping, ops, schema
from broker.postgres import RELAY_LOCK_KEY
from broker.store import RELAY_BUSY
from broker.testing import run_until_idle
from tests.broker.conftest import FAST
from tests.broker.events import Pinged, recording_router
from tests.broker.test_behaviour import dead_letters
from tests.waiting import wait_until


async def test_deliveries_whose_event_a_crash_erased_are_dead_lettered_and_the_rest_flow(database_url):
    seen: list[int] = []
    async with EventBus(service="t", dsn=database_url, settings=FAST.but(worker_batch=10)) as bus:
        bus.include_router(recording_router(seen))
        await bus.sync()
        await bus.publish_many(None, [Pinged(n=n) for n in range(25)])
        await bus.relay.run_once()
        async with bus.pool.acquire() as conn:  # what a PostgreSQL crash does to an UNLOGGED log
            await conn.execute("TRUNCATE events")
        await bus.publish_many(None, [Pinged(n=100), Pinged(n=101)])
        await run_until_idle(bus, timeout=5)
        assert seen == [100, 101]
        letters = await dead_letters(bus)
        assert len(letters) == 25
        assert all("missing from the events log" in letter["reason"] for letter in letters)


def versioned_router(seen: list[str], *, with_audit: bool) -> Router:
    """Version 1 of a service books pings; version 2 also audits them."""
    router = Router()

    @router.on("test.ping.sent")
    async def book(event: Pinged) -> None:
        seen.append(f"book{event.n}")

    if with_audit:

        @router.on("test.ping.sent", name="audit")
        async def audit_ping_v2(event: Pinged) -> None:  # renamed later: the name= stays
            seen.append(f"audit{event.n}")

    return router


async def test_an_old_version_restarting_mid_deploy_leaves_the_new_subscription_on(database_url):
    seen: list[str] = []
    new = EventBus(service="svc", dsn=database_url, settings=FAST)
    new.include_router(versioned_router(seen, with_audit=True))
    old = EventBus(service="svc", dsn=database_url, settings=FAST)
    old.include_router(versioned_router([], with_audit=False))
    async with new:
        async with old:  # an old-version pod restarts while the new version runs
            await old.publish(None, Pinged(n=1))
            await old.relay.run_once()
        await run_until_idle(new)
        assert sorted(seen) == ["audit1", "book1"]
        async with new.pool.acquire() as conn:
            assert await ops.retire_subscription(conn, "svc.audit") == 0  # no backlog left
            await new.publish(None, Pinged(n=2))
            await new.relay.run_once()
            [audit] = [s for s in (await ops.stats(conn)).subscriptions if s.name == "svc.audit"]
        assert not audit.active and audit.pending == 0  # retired: nothing fanned out to it any more
        await run_until_idle(new)
        assert sorted(seen) == ["audit1", "book1", "book2"]
    async with EventBus(service="svc", dsn=database_url, settings=FAST) as restarted:
        restarted.include_router(versioned_router(seen, with_audit=True))
        await restarted.sync()  # still declares it: a retired subscription stays off
        assert [ref.name for ref in restarted.subscriptions] == ["svc.book"]
        async with restarted.pool.acquire() as conn:
            [audit] = [s for s in (await ops.stats(conn)).subscriptions if s.name == "svc.audit"]
        assert audit.retired and not audit.active


async def test_stats_flag_active_subscriptions_that_no_running_process_serves(database_url):
    publisher = EventBus(service="svc", dsn=database_url, settings=FAST)  # runs no workers
    publisher.include_router(versioned_router([], with_audit=True))
    async with publisher, publisher.pool.acquire() as conn:
        assert (await ops.stats(conn)).unserved == ["svc.audit", "svc.book"]
    async with EventBus(service="svc", dsn=database_url, settings=FAST.but(workers=1)) as bus:
        bus.include_router(versioned_router([], with_audit=True))
        await bus.start()
        async with bus.pool.acquire() as conn:
            by_name = {s.name: s for s in (await ops.stats(conn)).subscriptions}
            assert not by_name["svc.book"].unserved and by_name["svc.book"].last_seen_at is not None
            # The process serving `audit` went away an hour ago and nothing took over.
            await conn.execute(
                "UPDATE event_subscriptions SET last_seen_at = now() - interval '1 hour' WHERE name = 'svc.audit'"
            )
            snapshot = await ops.stats(conn)
        assert [s.name for s in snapshot.subscriptions if s.unserved] == ["svc.audit"]
        assert snapshot.unserved == ["svc.audit"]


async def test_a_process_that_just_started_does_not_warn_of_siblings_still_starting(database_url):
    """`make run` starts services one after another: the first to refresh its gauges used to warn that
    the next one's subscriptions were unserved. A process warns only once it has been up for the
    window after which a subscription counts as unserved, and then names them."""
    declared = EventBus(service="svc", dsn=database_url, settings=FAST)  # declares, serves nothing yet
    declared.include_router(versioned_router([], with_audit=True))
    async with declared, EventBus(service="watcher", dsn=database_url, settings=FAST) as watcher:
        await declared.sync()
        unserved_window = 3 * watcher.settings.heartbeat_interval
        with structlog.testing.capture_logs() as logs:
            await housekeeping.refresh_gauges(watcher)
            assert [e for e in logs if e["log_level"] == "warning"] == []
            await housekeeping.refresh_gauges(watcher, now=time.monotonic() + unserved_window)
        [warning] = [e for e in logs if e["log_level"] == "warning"]
        assert warning["subscriptions"] == ["svc.audit", "svc.book"]


def test_retire_command_switches_a_subscription_off(database_url):
    async def setup() -> None:
        async with EventBus(service="svc", dsn=database_url, settings=FAST) as bus:
            bus.include_router(versioned_router([], with_audit=True))
            await bus.sync()

    async def active() -> dict[str, bool]:
        conn = await asyncpg.connect(database_url)
        try:
            return {r[0]: r[1] for r in await conn.fetch("SELECT name, is_active FROM event_subscriptions")}
        finally:
            await conn.close()

    asyncio.run(setup())
    runner = CliRunner()
    result = runner.invoke(cli.app, ["subscriptions", "retire", "svc.audit", "--database-url", database_url])
    assert result.exit_code == 0, result.output
    assert "retired svc.audit" in result.stdout
    assert asyncio.run(active()) == {"svc.book": True, "svc.audit": False}
    result = runner.invoke(cli.app, ["subscriptions", "retire", "svc.nope", "--database-url", database_url])
    assert result.exit_code == 3 and "no subscription" in result.stderr.lower()


async def test_services_that_disagree_on_unlogged_events_do_not_rewrite_the_log_at_each_start(database_url):
    files = "SELECT relfilenode, relpersistence::text FROM pg_class WHERE oid = 'events'::regclass"
    conn = await asyncpg.connect(database_url)
    try:
        before = tuple(await conn.fetchrow(files))
        for unlogged in (True, False, True):  # services with different settings start in turn
            async with EventBus(service="s", dsn=database_url, settings=FAST.but(unlogged_events=unlogged)):
                pass
            await schema.install(conn, unlogged_events=unlogged)
        assert tuple(await conn.fetchrow(files)) == before  # never rewritten (same file, still logged)
    finally:
        await conn.close()


def test_events_log_command_switches_the_log(database_url):
    runner = CliRunner()
    result = runner.invoke(cli.app, ["events-log", "--unlogged", "--database-url", database_url])
    assert result.exit_code == 0 and "now unlogged" in result.stdout, result.output
    result = runner.invoke(cli.app, ["events-log", "--unlogged", "--database-url", database_url])
    assert "already unlogged" in result.stdout


async def test_the_relay_wakes_workers_only_when_it_created_deliveries(database_url):
    heard: list[str] = []
    listener = await asyncpg.connect(database_url)
    await listener.add_listener("bus_deliveries", lambda *args: heard.append(args[3]))
    async with EventBus(service="t", dsn=database_url, settings=FAST) as bus:
        await bus.store.relay_batch(500)  # an empty outbox
        await bus.publish(None, Pinged(n=1))  # nobody subscribes to it
        assert await bus.store.relay_batch(500) == 1
        async with bus.pool.acquire() as conn:
            await conn.execute("NOTIFY bus_deliveries, 'marker'")  # arrives after anything sent before
        await wait_until(lambda: "marker" in heard, what="the marker notification")
        assert heard == ["marker"]
        bus.include_router(recording_router([]))
        await bus.sync()
        await bus.publish(None, Pinged(n=2))
        assert await bus.store.relay_batch(500) == 1
        await wait_until(lambda: heard == ["marker", ""], what="the wake-up for a new delivery")
    await listener.close()


async def test_a_relay_that_finds_another_relaying_does_not_wait_for_it(database_url):
    seen: list[int] = []
    holder = await asyncpg.connect(database_url)
    async with EventBus(service="t", dsn=database_url, settings=FAST) as bus:
        bus.include_router(recording_router(seen))
        await bus.sync()
        await bus.publish(None, Pinged(n=1))
        tx = holder.transaction()
        await tx.start()
        await holder.execute("SELECT pg_advisory_xact_lock($1)", RELAY_LOCK_KEY)  # another relay's batch
        moved = await asyncio.wait_for(bus.store.relay_batch(500), 5)
        assert moved == RELAY_BUSY  # it returns at once, without holding a snapshot behind the lock
        await tx.rollback()
        assert await bus.relay.run_once() == 1
        await run_until_idle(bus)
        assert seen == [1]
    await holder.close()


async def test_cleanup_prunes_inbox_records_older_than_the_event_retention(database_url):
    from broker.cleanup import cleanup

    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    try:
        await pool.execute(
            "INSERT INTO event_inbox (subscription, event_id, handled_at) VALUES "
            "('s.old', gen_random_uuid(), now() - interval '8 days'), ('s.new', gen_random_uuid(), now())"
        )
        result = await cleanup(pool, inbox_retention=7 * 24 * 3600)
        assert result.inbox == 1
        assert [r[0] for r in await pool.fetch("SELECT subscription FROM event_inbox")] == ["s.new"]
    finally:
        await pool.close()


async def test_a_retirement_declared_in_code_switches_the_old_subscription_off(database_url):
    async with EventBus(service="svc", dsn=database_url, settings=FAST) as v1:
        v1.include_router(versioned_router([], with_audit=True))
        await v1.sync()
    router = versioned_router([], with_audit=False)
    router.retire("audit")  # v2 dropped the audit handler
    async with EventBus(service="svc", dsn=database_url, settings=FAST) as v2:
        v2.include_router(router)
        await v2.sync()
        await v2.publish(None, Pinged(n=1))
        await v2.relay.run_once()
        async with v2.pool.acquire() as conn:
            by_name = {s.name: s for s in (await ops.stats(conn)).subscriptions}
    assert by_name["svc.audit"].retired and by_name["svc.audit"].pending == 0
    assert by_name["svc.book"].active and by_name["svc.book"].pending == 1


async def test_a_subscription_an_older_version_switched_off_is_back_on_at_the_next_heartbeat(database_url):
    settings = FAST.but(workers=1, heartbeat_interval=0.05)
    async with EventBus(service="svc", dsn=database_url, settings=settings) as bus:
        bus.include_router(versioned_router([], with_audit=True))
        await bus.start()
        async with bus.pool.acquire() as conn:  # what a process of an older version did at its start
            await conn.execute("UPDATE event_subscriptions SET is_active = false WHERE name = 'svc.audit'")
            await wait_until(
                lambda: conn.fetchval("SELECT is_active FROM event_subscriptions WHERE name = 'svc.audit'"),
                what="the subscription to be switched back on",
            )
