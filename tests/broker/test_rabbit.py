"""The RabbitMQ fan-out transport, on a real RabbitMQ and a real PostgreSQL.

Every test uses its own exchange and queue prefix and deletes what it declared, so tests do
not see each other's messages and leave nothing behind on the broker.
"""

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit
from uuid import uuid4

import aio_pika
import aiormq
import asyncpg
import pytest
from prometheus_client import REGISTRY
from typer.testing import CliRunner

from broker import BusSettings, Delivery, EventBus, Reject, Retry, RetryPolicy, Router, cli, housekeeping, ops
from broker.rabbit import FORWARD_NAME, delete_topology, exchange_name, handover, queue_depth, queue_names, transport
from broker.rabbit.topology import delay_queue_name, delay_step
from contracts.envelope import Envelope, Event
from tests.broker.events import Pinged, publish_one_rolled_back_one_committed, recording_router
from tests.broker.tcp_proxy import TcpProxy
from tests.rabbitmq import amqp_url, amqp_url_or_skip
from tests.waiting import wait_until

pytestmark = [pytest.mark.rabbit]


@pytest.fixture(autouse=True)
def _needs_rabbitmq() -> None:
    """Skip with the reason when there is no RabbitMQ (tests/rabbitmq.py)."""
    amqp_url_or_skip()


class BadPing(Event, frozen=True, kw_only=True, tag="test.ping.sent"):
    """Same type as Pinged, a payload Pinged cannot decode."""

    text: str


class CompanyCreated(Event, frozen=True, kw_only=True, tag="core.company.created"):
    n: int


class CompanyUpdated(Event, frozen=True, kw_only=True, tag="core.company.updated"):
    n: int


class BranchCreated(Event, frozen=True, kw_only=True, tag="core.company.branch.created"):
    n: int


MakeBus = Callable[..., Awaitable[EventBus]]


@pytest.fixture
async def prefix() -> str:
    return f"test{uuid4().hex[:12]}"


@pytest.fixture
async def make_bus(database_url: str, prefix: str) -> AsyncIterator[MakeBus]:
    """`await make_bus(router, ...)`: a started bus on the rabbitmq transport."""
    buses: list[EventBus] = []
    names: set[str] = set()

    async def make(*routers: Router, service: str = "t", open_only: bool = False, **changes: Any) -> EventBus:
        settings = BusSettings(
            poll_interval=0.05, cleanup_interval=0, lease=5.0, transport="rabbitmq",
            amqp_url=amqp_url(), amqp_prefix=prefix,
        ).but(**changes)
        bus = EventBus(service=service, dsn=database_url, settings=settings)
        for router in routers:
            bus.include_router(router)
        buses.append(bus)
        if open_only:
            await bus.open()
        else:
            await bus.start()
        names.update(bus.subscription_name(h) for h in bus.handlers)
        return bus

    yield make
    for bus in buses:
        await bus.close()
    await delete_topology(amqp_url(), prefix, sorted(names))


async def forwarded(bus: EventBus) -> int:
    """Deliveries of the forwarder finished (each one a message confirmed by RabbitMQ)."""
    async with bus.pool.acquire() as conn:
        return int(await conn.fetchval(
            "SELECT count(*) FROM event_deliveries d JOIN event_subscriptions s ON s.id = d.subscription_id "
            "WHERE s.name = $1 AND d.status = 'done'", FORWARD_NAME,
        ))


async def test_committed_event_is_forwarded_and_handled_rolled_back_one_is_not(make_bus, prefix):
    seen: list[int] = []
    router = recording_router(seen)

    bus = await make_bus(router)
    async with bus.pool.acquire() as conn:
        event_id = await publish_one_rolled_back_one_committed(bus, conn)

    await wait_until(lambda: seen == [2], timeout=15)
    await wait_until(lambda: forwarded(bus), timeout=15)
    assert await forwarded(bus) == 1  # the rolled back event never reached RabbitMQ
    async with bus.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM events") == 1  # the log is still written
        assert await conn.fetchval("SELECT id FROM events") == event_id
        # the handler's own subscription is consumed over RabbitMQ, not from Postgres deliveries
        row = await conn.fetchrow(
            "SELECT s.is_active, (SELECT count(*) FROM event_deliveries d WHERE d.subscription_id = s.id) AS n "
            "FROM event_subscriptions s WHERE s.name = 't.record'"
        )
        assert row is not None and row["is_active"] is False and row["n"] == 0
    main, _retry, dead = queue_names(prefix, "t.record")
    await wait_until(lambda: _empty(main), timeout=15)
    assert await queue_depth(amqp_url(), dead) == 0
    assert seen == [2]


async def _empty(queue: str) -> bool:
    return await queue_depth(amqp_url(), queue) == 0


async def test_topic_patterns_route_as_on_postgres(make_bus):
    created: list[str] = []
    everything: list[str] = []
    router = Router()

    @router.on("core.*.created")
    async def on_created(event: Envelope) -> None:
        created.append(event.type)

    @router.on("#")
    async def on_everything(event: Envelope) -> None:
        everything.append(event.type)

    bus = await make_bus(router)
    async with bus.pool.acquire() as conn, conn.transaction():
        await bus.publish(conn, CompanyCreated(n=1))
        await bus.publish(conn, CompanyUpdated(n=2))
        await bus.publish(conn, BranchCreated(n=3))
        await bus.publish(conn, Pinged(n=4))

    await wait_until(lambda: len(everything) == 4, timeout=15)
    await wait_until(lambda: forwarded(bus), timeout=5)
    assert sorted(everything) == sorted(
        ["core.company.created", "core.company.updated", "core.company.branch.created", "test.ping.sent"]
    )
    assert created == ["core.company.created"]  # `*` is exactly one word


async def test_retry_comes_back_after_the_backoff_then_succeeds(make_bus, prefix):
    attempts: list[int] = []
    router = Router()

    @router.on("test.ping.sent", retry=RetryPolicy(max_attempts=5, initial_delay=0.05, max_delay=0.2))
    async def flaky(event: Pinged, ctx: Delivery) -> None:
        attempts.append(ctx.attempt)
        if ctx.attempt == 1:
            raise Retry("not yet")
        if ctx.attempt == 2:
            raise ConnectionError("downstream away")

    bus = await make_bus(router)
    await bus.publish(None, Pinged(n=1))

    await wait_until(lambda: attempts == [1, 2, 3], timeout=15)
    main, _, dead = queue_names(prefix, "t.flaky")
    await wait_until(lambda: _empty(main), timeout=15)
    assert await queue_depth(amqp_url(), dead) == 0
    assert await ops.dlq_list(bus.pool) == []
    assert attempts == [1, 2, 3]


async def test_a_short_retry_is_not_held_back_behind_a_long_one(make_bus, prefix):
    """Each backoff step has its own delay queue: with one queue and per-message TTLs, RabbitMQ
    expires only the head, so the 50 ms retry would wait for the 5 s one in front of it."""
    came_back: list[int] = []
    router = Router()

    @router.on("test.ping.sent", retry=RetryPolicy(max_attempts=3))
    async def later(event: Pinged, ctx: Delivery) -> None:
        if ctx.attempt == 1:
            raise Retry("long" if event.n == 1 else "short", after=5.0 if event.n == 1 else 0.05)
        came_back.append(event.n)

    bus = await make_bus(router)
    await bus.publish(None, Pinged(n=1))
    await wait_until(lambda: _delay_depth_is(prefix, "t.later", 5.0, 1), timeout=15)  # the long one waits first
    await bus.publish(None, Pinged(n=2))

    await wait_until(lambda: came_back == [2], timeout=3)  # well before the 5 s retry is due
    await wait_until(lambda: came_back == [2, 1], timeout=15)


async def _delay_depth_is(prefix: str, subscription: str, delay: float, n: int) -> bool:
    try:
        return await queue_depth(amqp_url(), delay_queue_name(prefix, subscription, delay_step(delay))) == n
    except aio_pika.exceptions.ChannelNotFoundEntity:  # declared with the first retry of that step
        return False


async def test_messages_finishing_out_of_order_are_all_acknowledged_once(make_bus, prefix):
    """Acknowledgements go out as one `multiple` frame for a settled run of delivery tags and one
    by one above a gap: a slow first message must neither hold the others unacknowledged nor be
    acknowledged early, and no tag may be acknowledged twice (RabbitMQ closes the channel then)."""
    release = asyncio.Event()
    calls: list[int] = []
    router = Router()

    @router.on("test.ping.sent")
    async def slow_first(event: Pinged) -> None:
        calls.append(event.n)
        if event.n == 0:
            await release.wait()

    bus = await make_bus(router, amqp_prefetch=50, workers=2)
    for n in range(6):
        await bus.publish(None, Pinged(n=n))
    await wait_until(lambda: len(calls) == 6, timeout=15)
    main, _, _ = queue_names(prefix, "t.slow_first")
    release.set()
    for n in range(6, 12):  # after the slow one: acknowledged together with it
        await bus.publish(None, Pinged(n=n))
    await wait_until(lambda: len(calls) == 12, timeout=15)
    await wait_until(lambda: _all_forwarded(bus), timeout=15)
    assert bus.health().rabbitmq_connected  # no channel was closed by a bad acknowledgement
    await bus.close()  # unacknowledged messages would now go back to the queue
    assert await queue_depth(amqp_url(), main) == 0
    assert sorted(calls) == list(range(12))


async def test_rejected_exhausted_and_undecodable_go_to_the_dead_queue_and_the_dlq(make_bus, prefix):
    calls: list[int] = []
    router = Router()

    @router.on("test.ping.sent", retry=RetryPolicy(max_attempts=2, initial_delay=0.05))
    async def picky(event: Pinged) -> None:
        calls.append(event.n)
        if event.n == 1:
            raise Reject("n=1 is never valid")
        raise ValueError("always fails")

    bus = await make_bus(router)
    async with bus.pool.acquire() as conn, conn.transaction():
        rejected = await bus.publish(conn, Pinged(n=1))
        exhausted = await bus.publish(conn, Pinged(n=2))
        undecodable = await bus.publish(conn, BadPing(text="no n"))

    async def letters() -> list[ops.DeadLetter] | None:
        found = await ops.dlq_list(bus.pool)
        return found if len(found) == 3 else None

    by_event = {letter.event_id: letter for letter in await wait_until(letters, timeout=15)}
    assert "rejected by picky: n=1 is never valid" in by_event[rejected].reason
    assert by_event[rejected].attempts == 1
    assert "gave up after 2 attempt(s)" in by_event[exhausted].reason
    assert by_event[exhausted].attempts == 2
    assert "cannot be decoded" in by_event[undecodable].reason
    assert {letter.subscription for letter in by_event.values()} == {"t.picky"}
    assert sorted(calls) == [1, 2, 2]  # the undecodable one never reached the handler
    async with bus.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM event_dead_letters WHERE delivery_id IS NULL") == 3
        assert await conn.fetchval("SELECT count(*) FROM events") == 3

    _, _, dead = queue_names(prefix, "t.picky")
    assert await wait_until(lambda: _depth_is(dead, 3), timeout=15)
    connection = await aio_pika.connect(amqp_url())
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(dead, passive=True)
        message = await queue.get(timeout=5)
        assert message is not None
        assert message.headers.get("x-buildify-reason")
        await message.nack(requeue=True)
    finally:
        await connection.close()


async def _depth_is(queue: str, n: int) -> bool:
    return await queue_depth(amqp_url(), queue) == n


async def test_a_message_that_is_not_an_envelope_is_dead_lettered(make_bus, prefix):
    calls: list[int] = []
    router = recording_router(calls)

    bus = await make_bus(router)
    connection = await aio_pika.connect(amqp_url())
    try:
        channel = await connection.channel()
        exchange = await channel.get_exchange(exchange_name(prefix))
        await exchange.publish(aio_pika.Message(b"not json"), "test.ping.sent")
    finally:
        await connection.close()
    _, _, dead = queue_names(prefix, "t.record")
    await wait_until(lambda: _depth_is(dead, 1), timeout=15)
    await bus.publish(None, Pinged(n=7))  # the consumer carries on
    await wait_until(lambda: calls == [7], timeout=15)


async def test_stats_say_which_subscriptions_are_consumed_over_rabbitmq(make_bus, database_url):
    """A subscription handed over to its queue is switched off in Postgres; stats, the CLI and the
    dashboard must not call it inactive (it is not), and must call it unserved once nobody consumes it."""
    bus = await make_bus(recording_router([]))
    by_name = {s.name: s for s in (await ops.stats(bus.pool)).subscriptions}
    assert by_name["t.record"].rabbitmq and not by_name["t.record"].active and not by_name["t.record"].unserved
    assert by_name[FORWARD_NAME].active and not by_name[FORWARD_NAME].rabbitmq
    assert "RabbitMQ" in await stats_row(database_url, "t.record")
    await bus.close()  # its consumers are gone; its queue fills up
    await _heard_an_hour_ago(database_url)
    conn = await asyncpg.connect(database_url)
    try:
        later = {s.name: s for s in (await ops.stats(conn)).subscriptions}  # the default window: 90 s
    finally:
        await conn.close()
    assert later["t.record"].unserved and later["t.record"].rabbitmq
    assert "unserved (RabbitMQ)" in await stats_row(database_url, "t.record")


async def test_a_process_that_cannot_reach_rabbitmq_does_not_vouch_for_its_queues(make_bus, proxy, database_url):
    """Its heartbeat must not keep a RabbitMQ subscription looking served while nothing consumes
    its queue; once the transport is connected again, it does."""
    bus = await make_bus(recording_router([]), amqp_url=_via(proxy))
    await wait_until(lambda: bus.rabbit is not None and bus.rabbit.connected, what="the transport connected")
    await proxy.down()
    await wait_until(lambda: not bus.rabbit.connected, what="the transport sees RabbitMQ gone")
    await _heard_an_hour_ago(database_url)
    await housekeeping.heartbeat(bus)
    assert "t.record" in (await ops.stats(bus.pool)).unserved
    await proxy.up()
    await wait_until(lambda: bus.rabbit.connected, timeout=20, what="the transport back")
    await housekeeping.heartbeat(bus)
    assert "t.record" not in (await ops.stats(bus.pool)).unserved


async def _heard_an_hour_ago(database_url: str) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("UPDATE event_subscriptions SET last_seen_at = now() - interval '1 hour'")
    finally:
        await conn.close()


async def stats_row(database_url: str, subscription: str) -> str:
    """The row of `subscription` in `buildify-events stats` (in a thread: the command runs its own loop)."""
    table = await asyncio.to_thread(CliRunner().invoke, cli.app, ["stats", "--database-url", database_url])
    assert table.exit_code == 0, table.output
    return next(line for line in table.output.splitlines() if subscription in line)


async def dlq_queues(database_url: str, prefix: str, *flags: str) -> list[dict[str, Any]]:
    """`buildify-events dlq queues --json` (in a thread: the command runs its own event loop)."""
    args = ["dlq", "queues", "--amqp-url", amqp_url(), "--prefix", prefix, "--database-url", database_url, "--json"]
    result = await asyncio.to_thread(CliRunner().invoke, cli.app, [*args, *flags])
    assert result.exit_code == 0, result.output
    return list(json.loads(result.output))


async def test_redriven_dead_letter_goes_back_through_the_queue(make_bus, prefix, database_url):
    state = {"reject": True}
    calls: list[int] = []
    router = Router()

    @router.on("test.ping.sent")
    async def fixed_later(event: Pinged) -> None:
        calls.append(event.n)
        if state["reject"]:
            raise Reject("not yet deployed")

    bus = await make_bus(router)
    await bus.publish(None, Pinged(n=5))

    async def one_letter() -> bool:
        return len(await ops.dlq_list(bus.pool)) == 1

    await wait_until(one_letter, timeout=15)
    main, _, dead = queue_names(prefix, "t.fixed_later")
    await wait_until(lambda: _depth_is(dead, 1), timeout=15)
    queue = {"subscription": "t.fixed_later", "queue": dead, "messages": 1, "open_letters": 1, "trimmed": 0,
             "main_queue": main, "ready": 0, "consumers": 1}
    assert await dlq_queues(database_url, prefix) == [queue]
    [kept] = await dlq_queues(database_url, prefix, "--trim")  # an open letter's message stays
    assert (kept["trimmed"], kept["open_letters"]) == (0, 1)
    await wait_until(lambda: _depth_is(dead, 1), timeout=15)
    state["reject"] = False
    result = await ops.dlq_redrive(bus.pool, ops.DeadLetterFilter(subscription="t.fixed_later"), actor="test")
    assert result.letters == 1
    await wait_until(lambda: calls == [5, 5], timeout=15)
    assert await ops.dlq_list(bus.pool) == []
    # the queue still holds the redriven message until trimmed (the transport does it every minute)
    [trimmed] = await dlq_queues(database_url, prefix, "--trim")
    assert (trimmed["trimmed"], trimmed["open_letters"]) == (1, 0)
    await wait_until(lambda: _depth_is(dead, 0), timeout=15)
    assert await dlq_queues(database_url, prefix) == [{**queue, "messages": 0, "open_letters": 0}]


async def test_a_replay_into_one_subscription_reaches_its_handler_through_its_queue(make_bus):
    """Replaying into a subscription consumed over RabbitMQ (off in Postgres) is no 'inactive
    subscription': its deliveries go through the bridge into its queue, to its handler only."""
    seen: list[int] = []
    other: list[int] = []
    router = recording_router(seen)

    @router.on("test.ping.sent")
    async def bystander(event: Pinged) -> None:
        other.append(event.n)

    bus = await make_bus(router)
    await bus.publish(None, Pinged(n=3))
    await wait_until(lambda: seen == [3] and other == [3], what="the event handled once by both")
    result = await ops.replay(bus.pool, ops.EventFilter(pattern="test.#"), subscription="t.record", actor="test")
    assert (result.events, result.deliveries) == (1, 1)
    await wait_until(lambda: seen == [3, 3], what="the replayed event handled again")
    assert other == [3]


async def test_a_running_process_trims_its_dead_letter_queue_and_drops_retired_queues(
    make_bus, prefix, database_url, monkeypatch
):
    monkeypatch.setattr(transport, "HOUSEKEEPING_INTERVAL", 0.2)  # a minute in production
    router = Router()

    @router.on("test.ping.sent")
    async def refuse(event: Pinged) -> None:
        raise Reject("never")

    @router.on("test.pong.sent")
    async def soon_retired(event: Envelope) -> None: ...

    bus = await make_bus(router)
    await bus.publish(None, Pinged(n=1))
    _, _, dead = queue_names(prefix, "t.refuse")
    await wait_until(lambda: _depth_is(dead, 1), timeout=15)
    await wait_until(lambda: ops.dlq_list(bus.pool), timeout=15)  # the letter is recorded after the message
    purged = await ops.dlq_purge(bus.pool, ops.DeadLetterFilter(subscription="t.refuse"), actor="test")
    assert purged.letters == 1
    await wait_until(lambda: _depth_is(dead, 0), timeout=15)  # the purged letter's message goes too

    retired_main, _, _ = queue_names(prefix, "t.soon_retired")
    await ops.retire_subscription(bus.pool, "t.soon_retired")  # buildify-events subscriptions retire
    await wait_until(lambda: _gone(retired_main), timeout=15)
    assert bus.health().rabbitmq_connected


async def _gone(queue: str) -> bool:
    return not await _queue_exists(queue)


async def _queue_exists(queue: str) -> bool:
    try:
        await queue_depth(amqp_url(), queue)
    except aio_pika.exceptions.ChannelNotFoundEntity:
        return False
    except aiormq.exceptions.ChannelLockedResource:  # exclusive to the connection that declared it
        return True
    return True


async def _bindings(bus: EventBus, prefix: str) -> dict[str, str]:
    async with bus.pool.acquire() as conn:
        rows = await conn.fetch("SELECT subscription, event_pattern FROM bus_rabbit_bindings WHERE prefix = $1", prefix)
    return {row["subscription"]: row["event_pattern"] for row in rows}


@pytest.mark.parametrize("how", ["in code", "by an operator"])
async def test_a_retired_subscription_loses_its_queues(make_bus, prefix, database_url, how):
    old = Router()

    @old.on("test.ping.sent", retry=RetryPolicy(max_attempts=2, initial_delay=0.01))
    async def audit(event: Pinged) -> None:
        raise Reject("keeps a dead letter")

    first = await make_bus(old)
    await first.publish(None, Pinged(n=1))
    main, _, dead = queue_names(prefix, "t.audit")
    await wait_until(lambda: _depth_is(dead, 1), timeout=15)
    await first.close()
    stopped = Router()  # restarting without the handler removes nothing: only retiring does
    await (await make_bus(stopped)).close()
    assert await _queue_exists(main) and await _queue_exists(dead)

    seen: list[int] = []
    new = recording_router(seen)
    if how == "in code":
        new.retire("audit")
    else:
        conn = await asyncpg.connect(database_url)
        try:
            await ops.retire_subscription(conn, "t.audit")  # buildify-events subscriptions retire t.audit
        finally:
            await conn.close()
    second = await make_bus(new)
    assert not await _queue_exists(main) and not await _queue_exists(dead)
    assert "t.audit" not in await _bindings(second, prefix)
    await second.publish(None, Pinged(n=2))
    await wait_until(lambda: seen == [2], timeout=15)
    assert not await _queue_exists(main)  # nothing declares it again


async def test_a_changed_pattern_leaves_no_old_binding(make_bus, prefix):
    before = Router()

    @before.on("core.company.created", name="watch")
    async def watch_created(event: Envelope) -> None: ...

    await (await make_bus(before)).close()
    seen: list[str] = []
    after = Router()

    @after.on("core.company.updated", name="watch")
    async def watch_updated(event: Envelope) -> None:
        seen.append(event.type)

    bus = await make_bus(after)
    assert await _bindings(bus, prefix) == {"t.watch": "core.company.updated"}
    async with bus.pool.acquire() as conn, conn.transaction():
        await bus.publish(conn, CompanyCreated(n=1))
        await bus.publish(conn, CompanyUpdated(n=2))
    await wait_until(lambda: seen == ["core.company.updated"], timeout=15)
    await wait_until(lambda: _all_forwarded(bus), timeout=15)
    main, _, _ = queue_names(prefix, "t.watch")
    await wait_until(lambda: _empty(main), timeout=15)
    assert seen == ["core.company.updated"]  # the created event was not routed by the old binding


async def test_every_process_gets_a_broadcast_once_over_its_own_queue(make_bus, prefix):
    seen: list[dict[str, list[int]]] = [{"cache": [], "audit": [], "book": []} for _ in range(2)]

    def replica(record: dict[str, list[int]]) -> Router:
        router = Router()

        @router.on("test.*.sent", broadcast=True)
        async def invalidate_cache(event: Pinged) -> None:
            record["cache"].append(event.n)

        @router.on("test.ping.sent", broadcast=True)  # overlaps the pattern above: still one message
        async def audit_locally(event: Pinged) -> None:
            record["audit"].append(event.n)

        @router.on("test.ping.sent")
        async def book_ping(event: Pinged) -> None:
            record["book"].append(event.n)

        return router

    buses = [await make_bus(replica(record), service="cache") for record in seen]
    await buses[0].publish(None, Pinged(n=7))
    await wait_until(lambda: all(r["cache"] == [7] and r["audit"] == [7] for r in seen), timeout=15)
    await wait_until(lambda: sum(len(r["book"]) for r in seen) == 1, timeout=15)
    await wait_until(lambda: _all_forwarded(buses[0]), timeout=15)
    assert [r["cache"] for r in seen] == [[7], [7]] and [r["audit"] for r in seen] == [[7], [7]]
    assert sorted(n for r in seen for n in r["book"]) == [7]

    own = buses[1]._rabbit.broadcasts.queue.name
    assert own.startswith(f"{prefix}.cache.broadcast.") and await _queue_exists(own)
    await buses[1].close()
    assert not await _queue_exists(own)  # the queue went with the process: nothing to retire


# -- switch-over, unroutable events, RabbitMQ away (issue 10, item 3) ----------------------------


@pytest.fixture
async def proxy() -> AsyncIterator[TcpProxy]:
    """RabbitMQ behind a proxy the test can switch off: only this test's connections go through it."""
    target = urlsplit(amqp_url())
    server = await TcpProxy(target.hostname or "127.0.0.1", target.port or 5672).up()
    yield server
    await server.down()


def _via(proxy: TcpProxy) -> str:
    target = urlsplit(amqp_url())
    return target._replace(netloc=f"{target.username}:{target.password}@127.0.0.1:{proxy.port}").geturl()


@pytest.fixture
def fast_forwarder(monkeypatch: pytest.MonkeyPatch) -> None:
    """The forwarder's backoff in milliseconds and its alert after 3 failed attempts, so a test
    sees many attempts quickly; the attempt limit is left as shipped."""
    monkeypatch.setattr(handover, "FORWARD_RETRY", replace(handover.FORWARD_RETRY, initial_delay=0.01, max_delay=0.05))
    monkeypatch.setattr(transport, "FORWARD_ALERT_AFTER", 3)


async def _forward_deliveries(bus: EventBus) -> list[Any]:
    async with bus.pool.acquire() as conn:
        return list(await conn.fetch(
            "SELECT d.status, d.attempts, d.last_error FROM event_deliveries d "
            "JOIN event_subscriptions s ON s.id = d.subscription_id WHERE s.name = $1 ORDER BY d.id", FORWARD_NAME,
        ))


async def test_an_event_relayed_while_a_service_starts_reaches_its_handler(make_bus):
    """The service's subscriptions stay fanned out in Postgres until their queue is bound: an
    event forwarded before that is not lost to an exchange with no queue."""
    seen: list[int] = []
    router = recording_router(seen)

    relay = await make_bus(service="relay")  # forwards every event, consumes nothing
    starting = await make_bus(router, service="t", open_only=True)  # subscribed, queue not yet bound
    await starting.publish(None, Pinged(n=1))
    await wait_until(lambda: forwarded(relay), what="the event went through the forwarder")
    await starting.start()
    await wait_until(lambda: 1 in seen, what="the handler received the event published during start")
    assert set(seen) == {1}


async def test_an_unroutable_event_is_not_forwarded_until_its_queue_is_back(make_bus, prefix, fast_forwarder):
    """Publishing is mandatory: RabbitMQ returning an event a bound subscription wants is a failure
    that keeps it in Postgres; an event nobody consumes over RabbitMQ is simply done."""
    seen: list[int] = []
    router = recording_router(seen)

    bus = await make_bus(router)
    main, _retry, _dead = queue_names(prefix, "t.record")
    connection = await aio_pika.connect(amqp_url())
    try:
        channel = await connection.channel()
        await channel.queue_delete(main)  # an operator deleted it, or RabbitMQ lost its definitions
    finally:
        await connection.close()

    await bus.publish(None, CompanyCreated(n=1))  # nobody subscribes to it over RabbitMQ
    await bus.publish(None, Pinged(n=2))

    async def unroutable_retried() -> bool:
        rows = await _forward_deliveries(bus)
        return len(rows) == 2 and rows[1]["attempts"] >= 3

    await wait_until(unroutable_retried, what="the unroutable ping retried by the forwarder")
    health = await wait_until(lambda: bus.health().status == "degraded" and bus.health(), what="health says so")
    assert any("keeps failing" in problem and "no queue" in problem for problem in health.problems)
    rows = await _forward_deliveries(bus)
    assert rows[0]["status"] == "done"  # nobody consumes core.company.created over RabbitMQ
    assert rows[1]["status"] == "pending"
    assert "no queue" in rows[1]["last_error"]
    await bus.publish(None, CompanyCreated(n=3))  # other events going through do not clear the alarm
    await wait_until(lambda: _done_count(bus, 2), what="the next event forwarded")
    assert bus.health().status == "degraded"
    assert seen == []


async def test_a_failed_check_of_a_returned_event_retries_that_event_alone(make_bus, monkeypatch):
    """When RabbitMQ returns an event and asking Postgres whether anybody wanted it fails, that
    event is retried; the events confirmed in the same batch are done, not forwarded again."""
    seen: list[int] = []
    bus = await make_bus(recording_router(seen))
    rabbit = bus._rabbit
    assert rabbit is not None

    async def postgres_away(_event_type: str) -> bool:
        raise ConnectionError("Postgres away")

    monkeypatch.setattr(rabbit, "_expected", postgres_away)
    async with bus.pool.acquire() as conn, conn.transaction():  # one relay batch, one forwarded batch
        await bus.publish(conn, Pinged(n=1))
        await bus.publish(conn, CompanyCreated(n=2))  # nobody consumes it over RabbitMQ: returned

    async def checked_and_retried() -> bool:
        rows = await _forward_deliveries(bus)
        return len(rows) == 2 and rows[1]["last_error"] is not None

    await wait_until(checked_and_retried, what="the returned event retried with the check's error")
    rows = await _forward_deliveries(bus)
    assert rows[0]["status"] == "done"  # confirmed: not to be published again
    assert "Postgres away" in rows[1]["last_error"]
    await wait_until(lambda: seen == [1], what="the ping handled")
    assert rabbit.forward_failing_attempt >= 1


async def _done_count(bus: EventBus, n: int) -> bool:
    return sum(row["status"] == "done" for row in await _forward_deliveries(bus)) >= n


async def test_the_service_starts_without_rabbitmq_and_drains_when_it_answers(make_bus, proxy, prefix):
    seen: list[int] = []
    router = recording_router(seen)

    await proxy.down()
    bus = await make_bus(router, amqp_url=_via(proxy), amqp_start_timeout=0.2)  # returns: RabbitMQ is away
    health = bus.health()
    assert health.status == "degraded" and health.rabbitmq_connected is False
    assert REGISTRY.get_sample_value("bus_rabbitmq_connected", {"service": "t"}) == 0
    for n in range(5):
        await bus.publish(None, Pinged(n=n))
    await proxy.up()
    await wait_until(lambda: sorted(set(seen)) == list(range(5)), timeout=20, what="every event handled")
    await wait_until(lambda: bus.health().status == "ok", what="health back to ok")
    assert REGISTRY.get_sample_value("bus_rabbitmq_connected", {"service": "t"}) == 1


async def test_forwarding_retries_past_the_old_attempt_limit_alerts_and_drains(make_bus, proxy, fast_forwarder):
    """The forwarder never dead-letters an event because RabbitMQ is away: it keeps retrying with
    a capped backoff, says so on health and metrics, and delivers once RabbitMQ is back."""
    seen: list[int] = []
    router = recording_router(seen)

    bus = await make_bus(router, amqp_url=_via(proxy))
    await proxy.down()
    await bus.publish(None, Pinged(n=1))

    async def attempts() -> int:
        rows = await _forward_deliveries(bus)
        return max((row["attempts"] for row in rows), default=0)

    await wait_until(lambda: _past(attempts, 25), timeout=20, what="25 forwarding attempts")
    assert await ops.dlq_list(bus.pool) == []
    assert bus.health().status == "degraded"
    assert any("keeps failing" in problem for problem in bus.health().problems)
    assert REGISTRY.get_sample_value("bus_rabbitmq_forward_stalled", {"service": "t"}) == 1
    assert seen == []

    await proxy.up()
    await wait_until(lambda: seen, timeout=20, what="the event handled once RabbitMQ is back")
    await wait_until(lambda: bus.health().status == "ok", what="health back to ok")
    assert REGISTRY.get_sample_value("bus_rabbitmq_forward_stalled", {"service": "t"}) == 0
    assert set(seen) == {1}


async def _past(value: Callable[[], Awaitable[int]], n: int) -> bool:
    return await value() > n


async def test_a_restart_while_rabbitmq_is_away_keeps_the_subscription_switched_over(make_bus, proxy):
    """A restarted service must not re-open the Postgres fan-out for a subscription whose queue is
    already bound: while RabbitMQ is away, the event would get both routes and be handled twice."""
    seen: list[int] = []
    router = recording_router(seen)

    first = await make_bus(router, amqp_url=_via(proxy))
    await first.close()
    await proxy.down()
    again = await make_bus(router, amqp_url=_via(proxy), amqp_start_timeout=0.2)
    await again.publish(None, Pinged(n=1))
    await wait_until(lambda: forward_pending(again), what="the event waiting for the forwarder")
    await proxy.up()
    await wait_until(lambda: seen, timeout=20, what="the event handled")
    await wait_until(lambda: _all_forwarded(again), what="the forwarder done")
    await wait_until(lambda: _empty(queue_names(again.settings.amqp_prefix, "t.record")[0]), what="the queue drained")
    assert seen == [1]


async def forward_pending(bus: EventBus) -> bool:
    return any(row["status"] == "pending" for row in await _forward_deliveries(bus))


async def _all_forwarded(bus: EventBus) -> bool:
    rows = await _forward_deliveries(bus)
    return bool(rows) and all(row["status"] == "done" for row in rows)


# -- the forwarder's latency path (issue 14, fourth pass) -----------------------------------------


def _forwarder(bus: EventBus) -> Any:
    """The bus's forwarder (a `Worker` of the RabbitMQ transport)."""
    rabbit = bus._rabbit
    assert rabbit is not None
    return next(worker for worker in rabbit.forwarding if isinstance(worker, transport.Forwarder))


async def test_an_event_is_forwarded_while_an_earlier_publish_still_waits_for_its_confirm(make_bus):
    """One event whose publish (or confirm) is slow must not hold back the events after it: the
    forwarder keeps claiming and publishing while an earlier batch waits."""
    seen: list[int] = []
    bus = await make_bus(recording_router(seen))
    forwarder = _forwarder(bus)
    gate = asyncio.Event()
    forward = forwarder.forward

    async def slow_for_the_first(envelopes: Sequence[Envelope], attempts: Sequence[int]) -> list[Any]:
        if any(json.loads(bytes(envelope.payload))["n"] == 1 for envelope in envelopes):
            await gate.wait()  # the confirm of event 1 has not come yet
        return await forward(envelopes, attempts)

    forwarder.forward = slow_for_the_first
    await bus.publish(None, Pinged(n=1))
    await wait_until(lambda: forward_pending(bus), what="event 1 claimed by the forwarder")
    await bus.publish(None, Pinged(n=2))
    await wait_until(lambda: 2 in seen, what="event 2 handled while event 1 waits for its confirm")
    assert seen == [2]
    gate.set()
    await wait_until(lambda: sorted(seen) == [1, 2], what="event 1 handled once confirmed")
    await wait_until(lambda: _all_forwarded(bus), what="both forwarder deliveries done")


async def test_an_event_is_forwarded_while_the_previous_batch_is_still_being_settled(make_bus):
    """Settling a forwarded batch in PostgreSQL is off the path of the next event: while it takes
    its time, the next event is claimed, published and handled."""
    seen: list[int] = []
    bus = await make_bus(recording_router(seen))
    forwarder = _forwarder(bus)
    gate = asyncio.Event()
    store = forwarder.store
    complete = store.complete
    first = True

    class SlowFirstSettle:
        def __getattr__(self, name: str) -> Any:
            return getattr(store, name)

        async def complete(self, claims: Any) -> None:
            nonlocal first
            if first and claims:
                first = False
                await gate.wait()  # PostgreSQL is slow to settle batch 1
            await complete(claims)

    forwarder.store = SlowFirstSettle()
    await bus.publish(None, Pinged(n=1))
    await wait_until(lambda: 1 in seen, what="event 1 handled (its settle still waits)")
    await bus.publish(None, Pinged(n=2))
    await wait_until(lambda: 2 in seen, what="event 2 handled while batch 1 is being settled")
    assert await forward_pending(bus)  # batch 1 is still not settled
    gate.set()
    await wait_until(lambda: _all_forwarded(bus), what="both forwarder deliveries done")
    assert sorted(seen) == [1, 2]


async def test_the_relay_hands_its_process_s_forward_deliveries_to_the_forwarder_without_a_claim(
    make_bus, monkeypatch
):
    """The relay creates the forward deliveries claimed by this process's forwarder (broker.handoff):
    no claim statement between the relay and the publish."""
    seen: list[int] = []
    bus = await make_bus(recording_router(seen), poll_interval=30)
    forwarder = _forwarder(bus)
    await wait_until(lambda: bus.relay is not None and bus.relay.handoff is not None
                     and bus.relay.handoff.worker is forwarder and bus.relay.handoff.wake.waiting == 1,
                     what="the forwarder idle, fed by the relay")
    claims: list[int] = []
    claim = forwarder.store.claim

    async def counted(*args: Any, **kwargs: Any) -> Any:
        claims.append(1)
        return await claim(*args, **kwargs)

    monkeypatch.setattr(forwarder.store, "claim", counted)
    await bus.publish(None, Pinged(n=1))
    await wait_until(lambda: seen == [1], what="the event handled")
    await wait_until(lambda: _all_forwarded(bus), what="its forward delivery settled")
    assert claims == []
