"""The operations behind buildify-events and the admin API, on a real PostgreSQL."""

from datetime import datetime, timedelta
from uuid import uuid4

import asyncpg
import pytest

from broker import BusSettings, Delivery, EventBus, Reject, Router, ops
from broker.errors import InvalidPattern
from broker.testing import run_until_idle
from broker.upcasting import Upcasters
from contracts.core import CompanyCreated
from tests.broker.ops_seed import (
    add_dead_letter,
    add_deliveries,
    add_events,
    add_subscription,
    deliveries,
    snapshot,
)

FAST = BusSettings(poll_interval=0.05, workers=0, relay=False, cleanup_interval=0, lease=5.0)


async def yesterday(db: asyncpg.Connection) -> datetime:
    """A day before the database's clock: "old" events, whatever the date the tests run on."""
    return await db.fetchval("SELECT now() - interval '1 day'")


# -- reading ----------------------------------------------------------------------------------


async def test_list_filters_by_pattern_tenant_time_and_counts_deliveries(db):
    tenant = uuid4()
    sub = await add_subscription(db, "financial.accounts", "core.company.*")
    then = await yesterday(db)
    old = await add_events(db, "core.company.created", 2, tenant=tenant, recorded_at=then)
    new = await add_events(db, "core.company.created", 1)
    await add_events(db, "financial.invoice.created", 3, tenant=tenant)
    await add_deliveries(db, sub, old[:1], status="done")
    await add_dead_letter(db, sub, old[1], "boom")

    everything = await ops.list_events(db)
    assert len(everything) == 6
    companies = await ops.list_events(db, ops.EventFilter(pattern="core.#"))
    assert [e.id for e in companies] == [new[0], old[1], old[0]]
    scoped = await ops.list_events(db, ops.EventFilter(pattern="core.#", tenant_id=tenant))
    assert {e.id for e in scoped} == set(old)
    by_day = await ops.list_events(
        db, ops.EventFilter(since=then - timedelta(hours=1), until=then + timedelta(hours=1))
    )
    assert {e.id for e in by_day} == set(old)
    counts = {e.id: (e.pending, e.done, e.dead) for e in companies}
    assert counts[old[0]] == (0, 1, 0) and counts[old[1]] == (0, 0, 1)
    assert len(await ops.list_events(db, limit=2)) == 2
    # a tenant administrator sees their tenant only, whatever they ask for
    assert {e.id for e in await ops.list_events(db, tenant=tenant)} == set(old) | {
        e.id for e in await ops.list_events(db, ops.EventFilter(pattern="financial.#"))
    }
    with pytest.raises(ops.OutOfScope):
        await ops.list_events(db, ops.EventFilter(tenant_id=uuid4()), tenant=tenant)
    with pytest.raises(InvalidPattern):
        await ops.list_events(db, ops.EventFilter(pattern="core..x"))


async def test_show_event_has_deliveries_dead_letters_and_todays_shape(db):
    sub = await add_subscription(db, "financial.accounts", "core.company.*")
    other = await add_subscription(db, "warehouse.sites", "core.#")
    [event_id] = await add_events(db, "core.company.created", payload={"title": "Acme"}, version=1)
    await add_deliveries(db, other, [event_id], status="done")
    letter = await add_dead_letter(db, sub, event_id, "ValidationError: missing name")
    upcasters = Upcasters({"core.company.created": 2})
    upcasters.register("core.company.created", 1, lambda p: {"name": p.pop("title"), **p})

    detail = await ops.show_event(db, event_id, upcasters=upcasters)
    assert detail.payload == {"title": "Acme"}
    assert detail.current_version == 2 and detail.current_payload == {"name": "Acme"}
    assert {(d.subscription, d.status) for d in detail.deliveries} == {
        ("financial.accounts", "dead"), ("warehouse.sites", "done")
    }
    assert [dl.id for dl in detail.dead_letters] == [letter]
    assert detail.dead_letters[0].traceback == "Traceback: ..."

    with pytest.raises(ops.UnknownEvent):
        await ops.show_event(db, uuid4())
    with pytest.raises(ops.UnknownEvent):  # another tenant's event does not exist for a tenant admin
        await ops.show_event(db, event_id, tenant=uuid4())


async def test_stats_reports_backlog_oldest_age_retries_and_dead_letters(db):
    slow = await add_subscription(db, "financial.accounts", "core.#")
    fine = await add_subscription(db, "warehouse.sites", "core.#")
    events = await add_events(db, "core.company.created", 4)
    await add_deliveries(db, slow, events[:3], status="pending", attempts=0)
    await db.execute(
        "UPDATE event_deliveries SET created_at = now() - interval '10 minutes', attempts = 2 "
        "WHERE subscription_id = $1 AND event_id = $2", slow, events[0],
    )
    await add_deliveries(db, fine, events, status="done")
    await add_dead_letter(db, slow, events[3], "boom")

    snapshot_ = await ops.stats(db, window=60)
    by_name = {s.name: s for s in snapshot_.subscriptions}
    assert by_name["financial.accounts"].pending == 3
    assert by_name["financial.accounts"].retrying == 1
    assert by_name["financial.accounts"].dead_letters == 1
    assert 590 < by_name["financial.accounts"].oldest_pending_seconds < 700
    assert by_name["warehouse.sites"].pending == 0
    assert snapshot_.events == 4 and snapshot_.delivered == 4 and snapshot_.dead_lettered == 1
    assert snapshot_.pending == 3 and snapshot_.dead_letters_open == 1
    assert snapshot_.outbox_rows == 0
    assert [(t.event_type, t.events) for t in snapshot_.types] == [("core.company.created", 4)]
    ops.export_gauges(snapshot_)


async def test_stats_and_replay_answer_on_a_database_from_before_the_rabbitmq_bindings_table(db):
    """A bus database no process of this version has started on yet has no `bus_rabbit_bindings`:
    the operator's tools still work there (nothing in it is consumed over RabbitMQ)."""
    sub = await add_subscription(db, "financial.accounts", "core.#")
    await add_events(db, "core.company.created", 2)
    await db.execute("DROP TABLE bus_rabbit_bindings")
    [stats] = (await ops.stats(db)).subscriptions
    assert (stats.name, stats.rabbitmq) == ("financial.accounts", False)
    await db.execute("UPDATE event_subscriptions SET is_active = false WHERE id = $1", sub)
    with pytest.raises(ops.InactiveSubscription):
        await ops.replay(db, ops.EventFilter(pattern="core.#"), subscription="financial.accounts", actor="t")


# -- replay -------------------------------------------------------------------------------------


async def test_replay_dry_run_changes_nothing(db):
    sub = await add_subscription(db, "financial.accounts", "core.#")
    events = await add_events(db, "core.company.created", 5)
    await add_deliveries(db, sub, events[:2])
    before = await snapshot(db)
    result = await ops.replay(db, ops.EventFilter(pattern="core.#"), subscription="financial.accounts",
                              actor="ops", dry_run=True, sample_size=3)
    assert (result.events, result.deliveries, result.dry_run, result.run_id) == (5, 5, True, None)
    assert [s.id for s in result.sample] == events[:3]
    assert result.sample[0].subscriptions == ["financial.accounts"]
    assert await snapshot(db) == before


async def test_replay_into_one_subscription_creates_and_resets_deliveries(db):
    tenant = uuid4()
    target = await add_subscription(db, "financial.accounts", "core.company.*")
    bystander = await add_subscription(db, "warehouse.sites", "core.#")
    then = await yesterday(db)
    day = await add_events(db, "core.company.created", 4, tenant=tenant, recorded_at=then)
    await add_events(db, "core.company.created", 2, tenant=uuid4(), recorded_at=then)  # other tenant
    await add_events(db, "core.user.created", 2, tenant=tenant, recorded_at=then)  # not for target
    await add_events(db, "core.company.created", 2, tenant=tenant)  # today
    await add_deliveries(db, target, day[:2], status="done", attempts=3)
    await add_deliveries(db, bystander, day, status="done")

    result = await ops.replay(
        db,
        ops.EventFilter(pattern="core.#", tenant_id=tenant, since=then - timedelta(hours=12),
                        until=then + timedelta(hours=12)),
        subscription="financial.accounts", actor="alice", batch_size=3,
    )
    assert (result.events, result.deliveries, result.status) == (4, 4, "done")
    assert await deliveries(db, target) == {e: ("pending", 0) for e in day}
    assert set((await deliveries(db, bystander)).values()) == {("done", 1)}
    audit = await db.fetchrow("SELECT * FROM event_ops_audit")
    assert (audit["action"], audit["actor"], audit["affected"], audit["status"]) == ("replay", "alice", 4, "done")
    assert audit["run_id"] == result.run_id
    entries = await ops.list_audit(db)
    assert entries[0].selection["tenant_id"] == str(tenant) and entries[0].selection["pattern"] == "core.#"


async def test_replay_to_all_matching_active_subscriptions(db):
    a = await add_subscription(db, "financial.accounts", "core.company.*")
    b = await add_subscription(db, "warehouse.sites", "core.#")
    off = await add_subscription(db, "old.thing", "#", active=False)
    events = await add_events(db, "core.company.created", 3)
    users = await add_events(db, "core.user.created", 2)
    result = await ops.replay(db, ops.EventFilter(pattern="core.#"), actor="ops")
    assert (result.events, result.deliveries) == (5, 8)
    assert set(await deliveries(db, a)) == set(events)
    assert set(await deliveries(db, b)) == set(events) | set(users)
    assert await deliveries(db, off) == {}


async def test_replay_by_event_ids_supersedes_open_dead_letters(db):
    sub = await add_subscription(db, "financial.accounts", "core.#")
    events = await add_events(db, "core.company.created", 3)
    letter = await add_dead_letter(db, sub, events[1], "boom")
    result = await ops.replay(db, ops.EventFilter(event_ids=(events[1],)), subscription="financial.accounts",
                              actor="bob")
    assert result.deliveries == 1
    assert await deliveries(db, sub) == {events[1]: ("pending", 0)}
    row = await db.fetchrow("SELECT redriven_at, redriven_by FROM event_dead_letters WHERE id = $1", letter)
    assert row["redriven_at"] is not None and row["redriven_by"] == "replay:bob"


async def test_replay_leaves_a_delivery_under_a_live_lease_to_its_worker(db):
    sub = await add_subscription(db, "financial.accounts", "core.#")
    [event_id] = await add_events(db, "core.company.created")
    await add_deliveries(db, sub, [event_id], status="pending", attempts=1)
    await db.execute("UPDATE event_deliveries SET locked_by = 'w1', available_at = now() + interval '30 s'")
    result = await ops.replay(db, ops.EventFilter(), subscription="financial.accounts", actor="ops")
    assert (result.events, result.deliveries) == (1, 0)
    assert await db.fetchval("SELECT locked_by FROM event_deliveries") == "w1"


async def test_replay_resumes_after_an_interruption_without_duplicates(db):
    sub = await add_subscription(db, "financial.accounts", "core.#")
    events = await add_events(db, "core.company.created", 25)
    seen = []

    def stop_after_two_batches(progress: ops.ReplayProgress) -> None:
        seen.append(progress.events)
        if len(seen) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        await ops.replay(db, ops.EventFilter(pattern="core.#"), subscription="financial.accounts", actor="ops",
                         batch_size=10, on_progress=stop_after_two_batches)
    run = await db.fetchrow("SELECT * FROM event_replay_runs")
    assert (run["status"], run["events"], run["deliveries"]) == ("interrupted", 20, 20)
    assert len(await deliveries(db, sub)) == 20
    # events recorded after the replay started are not part of its selection
    late = await add_events(db, "core.company.created", 2)

    result = await ops.replay(db, resume=run["id"], actor="ops", batch_size=10)
    assert (result.events, result.deliveries, result.status) == (25, 25, "done")
    assert set(await deliveries(db, sub)) == set(events)
    assert not set(late) & set(await deliveries(db, sub))
    audit = await db.fetchrow("SELECT status, affected FROM event_ops_audit")
    assert (audit["status"], audit["affected"]) == ("done", 25)
    with pytest.raises(ops.OpsError, match="already finished"):
        await ops.replay(db, resume=run["id"], actor="ops")
    with pytest.raises(ops.UnknownReplay):
        await ops.replay(db, resume=uuid4(), actor="ops")


async def test_replay_rate_limit_spreads_batches(db):
    await add_subscription(db, "financial.accounts", "core.#")
    await add_events(db, "core.company.created", 30)
    result = await ops.replay(db, ops.EventFilter(), subscription="financial.accounts", actor="ops", rate=100)
    assert result.deliveries == 30
    assert result.seconds >= 0.2  # 30 events at 100/s: about 0.3 s


async def test_replay_refuses_bad_input_clearly(db):
    await add_subscription(db, "financial.accounts", "core.#")
    await add_subscription(db, "old.thing", "#", active=False)
    await add_events(db, "core.company.created", 2)
    before = await snapshot(db)
    with pytest.raises(InvalidPattern, match="is not a word"):
        await ops.replay(db, ops.EventFilter(pattern="core.!"), subscription="financial.accounts", actor="x")
    with pytest.raises(ops.UnknownSubscription, match=r"financial\.accounts"):
        await ops.replay(db, ops.EventFilter(), subscription="financial.acounts", actor="x")
    with pytest.raises(ops.InactiveSubscription):
        await ops.replay(db, ops.EventFilter(), subscription="old.thing", actor="x")
    with pytest.raises(ops.EmptySelection, match="no event matches"):
        await ops.replay(db, ops.EventFilter(pattern="financial.#"), subscription="financial.accounts", actor="x")
    with pytest.raises(ops.OutOfScope):
        await ops.replay(db, ops.EventFilter(tenant_id=uuid4()), actor="x", tenant=uuid4())
    assert await snapshot(db) == before


async def test_replay_is_idempotent_for_inbox_backed_handlers(database_url):
    router = Router()
    effects = []

    @router.on("core.company.created")
    async def create_default_accounts(event: CompanyCreated, ctx: Delivery) -> None:
        async with ctx.transaction():
            effects.append(event.name)

    bus = EventBus(service="financial", dsn=database_url, settings=FAST)
    bus.include_router(router)
    await bus.open()
    try:
        await bus.publish(None, CompanyCreated(company_id=uuid4(), tenant_id=uuid4(), name="Acme"))
        assert await run_until_idle(bus) == 1
        result = await ops.replay(bus.pool, ops.EventFilter(pattern="core.company.created"),
                                  subscription="financial.create_default_accounts", actor="ops")
        assert result.deliveries == 1
        assert await run_until_idle(bus) == 1  # delivered again ...
        assert effects == ["Acme"]  # ... and skipped by the inbox
        async with bus.pool.acquire() as conn:
            assert await conn.fetchval("SELECT status FROM event_deliveries") == "done"
    finally:
        await bus.close()


# -- dead letters -------------------------------------------------------------------------------


async def test_dlq_list_and_show_filter_by_subscription_error_and_tenant(db):
    tenant = uuid4()
    a = await add_subscription(db, "financial.accounts", "core.#")
    b = await add_subscription(db, "warehouse.sites", "core.#")
    [e1] = await add_events(db, "core.company.created", tenant=tenant)
    [e2] = await add_events(db, "core.user.created")
    l1 = await add_dead_letter(db, a, e1, "gave up: TimeoutError")
    l2 = await add_dead_letter(db, b, e1, "rejected: 100% wrong_")
    l3 = await add_dead_letter(db, a, e2, "gave up: KeyError")
    assert {d.id for d in await ops.dlq_list(db)} == {l1, l2, l3}
    assert {d.id for d in await ops.dlq_list(db, ops.DeadLetterFilter(subscription="financial.accounts"))} == {
        l1, l3
    }
    assert [d.id for d in await ops.dlq_list(db, ops.DeadLetterFilter(error="timeout"))] == [l1]
    assert [d.id for d in await ops.dlq_list(db, ops.DeadLetterFilter(error="100%"))] == [l2]
    assert [d.id for d in await ops.dlq_list(db, ops.DeadLetterFilter(error="0%_w"))] == []
    assert {d.id for d in await ops.dlq_list(db, ops.DeadLetterFilter(tenant_id=tenant))} == {l1, l2}
    assert [d.id for d in await ops.dlq_list(db, ops.DeadLetterFilter(pattern="core.user.*"))] == [l3]
    assert {d.id for d in await ops.dlq_list(db, tenant=tenant)} == {l1, l2}
    shown = await ops.dlq_show(db, l1)
    assert shown.traceback == "Traceback: ..." and shown.event_type == "core.company.created"
    with pytest.raises(ops.UnknownDeadLetter):
        await ops.dlq_show(db, 999_999)
    with pytest.raises(ops.UnknownDeadLetter):
        await ops.dlq_show(db, l3, tenant=tenant)


async def test_redrive_delivers_exactly_the_chosen_letters(database_url):
    router = Router()
    broken = True
    handled: list[tuple[str, int]] = []

    @router.on("core.company.created")
    async def create_default_accounts(event: CompanyCreated, ctx: Delivery) -> None:
        if broken:
            raise Reject("chart of accounts service down")
        handled.append((event.name, ctx.attempt))

    bus = EventBus(service="financial", dsn=database_url, settings=FAST)
    bus.include_router(router)
    await bus.open()
    try:
        names = ["a", "b", "c", "d"]
        ids = {}
        for name in names:
            ids[name] = await bus.publish(None, CompanyCreated(company_id=uuid4(), tenant_id=uuid4(), name=name))
        await run_until_idle(bus)
        letters = {d.event_id: d for d in await ops.dlq_list(bus.pool)}
        assert set(letters) == set(ids.values())
        chosen = (letters[ids["b"]].id, letters[ids["d"]].id)

        broken = False
        dry = await ops.dlq_redrive(bus.pool, ops.DeadLetterFilter(ids=chosen), actor="carol", dry_run=True)
        assert dry.letters == 2 and await run_until_idle(bus) == 0

        result = await ops.dlq_redrive(bus.pool, ops.DeadLetterFilter(ids=chosen), actor="carol")
        assert (result.letters, result.deliveries) == (2, 2)
        assert await run_until_idle(bus) == 2
        assert sorted(handled) == [("b", 1), ("d", 1)]  # original events, attempts start again

        still_open = await ops.dlq_list(bus.pool)
        assert {d.event_id for d in still_open} == {ids["a"], ids["c"]}
        redriven = await ops.dlq_list(bus.pool, ops.DeadLetterFilter(ids=chosen, include_redriven=True))
        assert {(d.redriven_by, d.redriven_at is not None) for d in redriven} == {("carol", True)}
        async with bus.pool.acquire() as conn:
            audit = await conn.fetchrow("SELECT action, actor, affected FROM event_ops_audit")
        assert tuple(audit) == ("redrive", "carol", 2)
        with pytest.raises(ops.EmptySelection):  # already redriven: nothing left to do
            await ops.dlq_redrive(bus.pool, ops.DeadLetterFilter(ids=chosen), actor="carol")
        async with bus.pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM event_ops_audit") == 1
    finally:
        await bus.close()


async def test_purge_removes_letters_and_dead_deliveries_and_is_audited(db):
    a = await add_subscription(db, "financial.accounts", "core.#")
    events = await add_events(db, "core.company.created", 3)
    letters = [await add_dead_letter(db, a, e, f"boom {i}") for i, e in enumerate(events)]
    before = await snapshot(db)
    dry = await ops.dlq_purge(db, ops.DeadLetterFilter(error="boom 1"), actor="ops", dry_run=True)
    assert dry.letters == 1 and [d.id for d in dry.sample] == [letters[1]]
    assert await snapshot(db) == before
    result = await ops.dlq_purge(db, ops.DeadLetterFilter(error="boom 1"), actor="ops")
    assert (result.letters, result.deliveries) == (1, 1)
    assert {d.id for d in await ops.dlq_list(db)} == {letters[0], letters[2]}
    assert set(await deliveries(db, a)) == {events[0], events[2]}
    assert await db.fetchval("SELECT action FROM event_ops_audit") == "purge"
    with pytest.raises(ops.UnknownSubscription):
        await ops.dlq_purge(db, ops.DeadLetterFilter(subscription="nope"), actor="ops")


async def test_ops_on_a_database_without_bus_tables(pg_server_url):
    from services.runtime.dburl import with_database

    name = f"t_empty_{uuid4().hex[:12]}"
    admin = await asyncpg.connect(pg_server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        conn = await asyncpg.connect(with_database(pg_server_url, name))
        try:
            with pytest.raises(ops.SchemaMissing):
                await ops.list_events(conn)
        finally:
            await conn.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
