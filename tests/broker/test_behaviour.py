"""The bus's promises, written once and run on every transport: the in-memory store,
PostgreSQL and RabbitMQ (the `transport` fixture in conftest.py). What a transport does not
support is refused when subscribing, and that refusal is tested here too."""

import asyncio
from uuid import uuid4

import msgspec
import pytest

from broker import BrokerError, Delivery, Reject, Retry, RetryPolicy, Router
from broker.testing import MemoryStore, MemoryTransaction, run_until_idle
from contracts.core import CompanyCreated, ModuleEnabled, TenantCreated
from contracts.envelope import Envelope
from tests.broker.events import OrderLine, Pinged, Ponged

QUICK = RetryPolicy(max_attempts=3, initial_delay=0.01, max_delay=0.02, jitter=0.0)


@pytest.fixture
def make_bus(make_transport_bus):
    """This suite's buses: one per transport (conftest.py `make_transport_bus`)."""
    return make_transport_bus


@pytest.fixture
def bus_database(transport_database):
    return transport_database


async def dead_letters(bus) -> list[dict]:
    """(subscription, reason, attempts) of every dead letter, on either store."""
    if isinstance(bus.store, MemoryStore):
        return [
            {"subscription": d.subscription, "reason": d.reason, "attempts": d.attempts, "event_id": d.event_id}
            for d in bus.store.dead_letters
        ]
    async with bus.pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT s.name AS subscription, l.reason, l.attempts, l.event_id FROM event_dead_letters l "
            "JOIN event_subscriptions s ON s.id = l.subscription_id ORDER BY l.id"
        )
    return [dict(r) for r in rows]


async def test_handler_gets_the_decoded_event_and_its_envelope(make_bus):
    router = Router()
    seen: list[tuple[CompanyCreated, Delivery]] = []

    @router.on("core.company.created", priority=8)
    async def create_default_accounts(event: CompanyCreated, ctx: Delivery) -> None:
        seen.append((event, ctx))

    bus = await make_bus("financial", router)
    tenant, company = uuid4(), uuid4()
    event_id = await bus.publish(
        None, CompanyCreated(company_id=company, tenant_id=tenant, name="Acme GmbH"),
        tenant_id=tenant, company_id=company,
    )
    assert await run_until_idle(bus) == 1
    [(event, ctx)] = seen
    assert event == CompanyCreated(company_id=company, tenant_id=tenant, name="Acme GmbH")
    assert (ctx.event_id, ctx.event_type, ctx.source) == (event_id, "core.company.created", "financial")
    assert (ctx.tenant_id, ctx.company_id, ctx.attempt) == (tenant, company, 1)
    assert ctx.correlation_id == event_id  # an event that starts a chain correlates to itself
    assert ctx.subscription == "financial.create_default_accounts"


async def test_patterns_select_events_with_topic_rules(make_bus):
    router = Router()
    got: dict[str, list[str]] = {"created": [], "core_all": [], "everything": []}

    @router.on("core.*.created")
    async def created(event: Envelope) -> None:
        got["created"].append(event.type)

    @router.on("core.#")
    async def core_all(event: Envelope) -> None:
        got["core_all"].append(event.type)

    @router.on("#")
    async def everything(event: Envelope) -> None:
        got["everything"].append(event.type)

    bus = await make_bus("audit", router)
    t = uuid4()
    await bus.publish(None, TenantCreated(tenant_id=t, name="A", slug="a"), tenant_id=t)
    await bus.publish(None, ModuleEnabled(module_name="financial", tenant_id=t), tenant_id=t)
    await bus.publish(None, Pinged(n=1))
    await run_until_idle(bus)
    assert got["created"] == ["core.tenant.created"]
    assert sorted(got["core_all"]) == ["core.module.enabled", "core.tenant.created"]
    assert sorted(got["everything"]) == ["core.module.enabled", "core.tenant.created", "test.ping.sent"]


async def test_higher_priority_subscriptions_are_served_first(make_bus):
    router = Router()
    order: list[str] = []

    @router.on("test.ping.sent", priority=2)
    async def low(event: Pinged) -> None:
        order.append(f"low{event.n}")

    @router.on("test.ping.sent", priority=9)
    async def high(event: Pinged) -> None:
        order.append(f"high{event.n}")

    from tests.broker.conftest import FAST

    bus = await make_bus("prio", router, settings=FAST.but(worker_batch=1))
    await bus.publish_many(None, [Pinged(n=1), Pinged(n=2)])
    await run_until_idle(bus)
    assert order == ["high1", "high2", "low1", "low2"]


async def test_a_failing_handler_is_retried_until_it_succeeds(make_bus):
    router = Router()
    attempts: list[int] = []

    @router.on("test.ping.sent", retry=QUICK)
    async def flaky(event: Pinged, ctx: Delivery) -> None:
        attempts.append(ctx.attempt)
        if ctx.attempt < 3:
            raise ConnectionError("ledger service unavailable")

    bus = await make_bus("retry", router)
    await bus.publish(None, Pinged(n=1))
    await run_until_idle(bus)
    assert attempts == [1, 2, 3]
    assert await dead_letters(bus) == []


async def test_past_max_attempts_the_delivery_is_dead_lettered_with_its_error(make_bus):
    router = Router()

    @router.on("test.ping.sent", retry=QUICK)
    async def always_fails(event: Pinged) -> None:
        raise ValueError(f"cannot book ping {event.n}")

    bus = await make_bus("dlq", router)
    event_id = await bus.publish(None, Pinged(n=7))
    await run_until_idle(bus)
    [letter] = await dead_letters(bus)
    assert letter["subscription"] == "dlq.always_fails"
    assert letter["attempts"] == 3
    assert letter["event_id"] == event_id
    assert "gave up after 3 attempt(s)" in letter["reason"]
    assert "ValueError: cannot book ping 7" in letter["reason"]


async def test_reject_dead_letters_at_once_and_retry_after_is_honoured(make_bus):
    router = Router()
    tries: list[int] = []

    @router.on("test.ping.sent", retry=QUICK)
    async def rejects(event: Pinged) -> None:
        raise Reject("customer account is closed")

    @router.on("test.pong.sent", retry=RetryPolicy(max_attempts=5, initial_delay=60))
    async def retries_soon(event: Ponged, ctx: Delivery) -> None:
        tries.append(ctx.attempt)
        if ctx.attempt == 1:
            raise Retry("rate limited", after=0.02)

    bus = await make_bus("control", router)
    await bus.publish(None, Pinged(n=1))
    await bus.publish(None, Ponged(n=1))
    await run_until_idle(bus, timeout=5)
    [letter] = await dead_letters(bus)
    assert letter["attempts"] == 1
    assert letter["reason"] == "rejected by rejects: customer account is closed"
    assert tries == [1, 2]  # the 60 s backoff was overridden by Retry(after=0.02)


async def test_an_undecodable_event_is_dead_lettered_and_the_worker_goes_on(make_bus):
    router = Router()
    handled: list[int] = []

    @router.on("test.ping.sent")
    async def count(event: Pinged) -> None:
        handled.append(event.n)

    bus = await make_bus("decode", router)

    class BadPing(Pinged.__base__, frozen=True, kw_only=True, tag="test.ping.sent"):  # type: ignore[misc]
        n: str  # a publisher with an outdated contract

    await bus.publish(None, BadPing(n="seven"))
    await bus.publish(None, Pinged(n=8))
    await run_until_idle(bus)
    assert handled == [8]
    [letter] = await dead_letters(bus)
    assert letter["attempts"] == 1
    assert "cannot be decoded as Pinged" in letter["reason"]
    assert "Expected `int`, got `str` - at `$.n`" in letter["reason"]


async def test_a_handler_typed_for_one_event_refuses_another_matching_type(make_bus):
    router = Router()

    @router.on("test.*.sent")
    async def only_pings(event: Pinged) -> None:
        pass

    bus = await make_bus("narrow", router)
    await bus.publish(None, Ponged(n=1))
    await run_until_idle(bus)
    [letter] = await dead_letters(bus)
    assert "the handler accepts only test.ping.sent" in letter["reason"]


async def test_union_annotations_decode_each_type(make_bus):
    router = Router()
    got: list[object] = []

    @router.on("test.*.sent")
    async def both(event: Pinged | Ponged) -> None:
        got.append(event)

    bus = await make_bus("union", router)
    await bus.publish_many(None, [Pinged(n=1), Ponged(n=2)])
    await run_until_idle(bus)
    assert sorted(got, key=lambda e: e.n) == [Pinged(n=1), Ponged(n=2)]


async def refused_on_rabbitmq(transport, make_bus, service, router) -> bool:
    """RabbitMQ keeps no per-key order: an ordered subscription is refused when subscribing."""
    if transport != "rabbitmq":
        return False
    with pytest.raises(BrokerError, match="ordered=True is not supported on the RabbitMQ transport"):
        await make_bus(service, router)
    return True


async def test_ordered_subscription_holds_a_key_behind_its_retrying_event(make_bus, transport):
    router = Router()
    log: list[tuple[str, int, int]] = []
    first_failed = asyncio.Event()

    @router.on("test.order.line_added", ordered=True, retry=RetryPolicy(max_attempts=3, initial_delay=0.15, jitter=0))
    async def book_line(event: OrderLine, ctx: Delivery) -> None:
        key = "A" if event.order_id == order_a else "B"
        log.append((key, event.n, ctx.attempt))
        if key == "A" and event.n == 1 and ctx.attempt == 1:
            first_failed.set()
            raise ConnectionError("stock service down")

    if await refused_on_rabbitmq(transport, make_bus, "orders", router):
        return
    bus = await make_bus("orders", router)
    order_a, order_b = uuid4(), uuid4()
    for n in range(1, 4):
        await bus.publish(None, OrderLine(order_id=order_a, n=n), ordering_key=str(order_a))
        await bus.publish(None, OrderLine(order_id=order_b, n=n), ordering_key=str(order_b))
    await run_until_idle(bus)
    a = [(n, attempt) for key, n, attempt in log if key == "A"]
    b = [n for key, n, _ in log if key == "B"]
    assert a == [(1, 1), (1, 2), (2, 1), (3, 1)]  # 2 and 3 waited for 1's retry
    assert b == [1, 2, 3]
    # key B was not held back by key A's retry: all of B ran before A's second attempt
    assert log.index(("B", 3, 1)) < log.index(("A", 1, 2))


async def test_inbox_makes_a_redelivered_event_have_no_second_effect(make_bus, bus_database):
    router = Router()
    effects: list[int] = []
    calls: list[int] = []

    @router.on("test.ping.sent", retry=QUICK)
    async def book_once(event: Pinged, ctx: Delivery) -> None:
        calls.append(ctx.attempt)
        async with ctx.transaction() as conn:
            if not isinstance(conn, MemoryTransaction):  # the memory bus without a database
                await conn.execute("CREATE TABLE IF NOT EXISTS booked (n int)")
                await conn.execute("INSERT INTO booked VALUES ($1)", event.n)
            effects.append(event.n)
        if ctx.attempt == 1:
            raise ConnectionError("lost the connection after committing")  # forces a redelivery

    bus = await make_bus("inbox", router)
    await bus.publish(None, Pinged(n=5))
    await run_until_idle(bus)
    assert calls == [1, 2]
    assert effects == [5]
    assert await dead_letters(bus) == []
    if bus_database is not None:
        async with bus.pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM booked") == 1


async def test_follow_up_events_carry_correlation_and_causation(make_bus):
    router = Router()
    pongs: list[Delivery] = []

    @router.on("test.ping.sent")
    async def answer(event: Pinged, ctx: Delivery) -> None:
        await ctx.publish(None, Ponged(n=event.n))

    @router.on("test.pong.sent")
    async def record(event: Ponged, ctx: Delivery) -> None:
        pongs.append(ctx)

    bus = await make_bus("chain", router)
    tenant = uuid4()
    ping_id = await bus.publish(None, Pinged(n=1), tenant_id=tenant)
    await run_until_idle(bus)
    [pong] = pongs
    assert pong.causation_id == ping_id
    assert pong.correlation_id == ping_id
    assert pong.tenant_id == tenant


async def test_a_handler_that_hangs_times_out_and_retries(make_bus):
    router = Router()
    attempts: list[int] = []

    @router.on("test.ping.sent", timeout=0.05, retry=QUICK)
    async def slow_first(event: Pinged, ctx: Delivery) -> None:
        attempts.append(ctx.attempt)
        if ctx.attempt == 1:
            await asyncio.Event().wait()  # hangs until the timeout cancels it

    bus = await make_bus("timeout", router)
    await bus.publish(None, Pinged(n=1))
    await run_until_idle(bus)
    assert attempts == [1, 2]


def test_decorator_refuses_what_cannot_work():
    router = Router()
    with pytest.raises(Exception, match="not a word"):
        router.on("core..created")
    with pytest.raises(TypeError, match="annotate the first argument"):

        @router.on("core.#")
        async def untyped(event, ctx) -> None:  # type: ignore[no-untyped-def]
            pass

    with pytest.raises(TypeError, match="async def"):

        @router.on("core.#")
        def sync_handler(event: Envelope) -> None:
            pass


def test_envelope_round_trips():
    env = Envelope(
        id=uuid4(), type="test.ping.sent", source="t", occurred_at=__import__("datetime").datetime.now(),
        payload=msgspec.Raw(msgspec.json.encode(Pinged(n=3))),
    )
    again = msgspec.json.decode(msgspec.json.encode(env), type=Envelope)
    assert again.decode(Pinged) == Pinged(n=3)


async def test_a_dead_lettered_event_no_longer_holds_its_key_back(make_bus, transport):
    router = Router()
    booked: list[int] = []

    @router.on("test.order.line_added", ordered=True, retry=QUICK)
    async def book_line(event: OrderLine) -> None:
        if event.n == 1:
            raise Reject("line 1 refers to a deleted product")
        booked.append(event.n)

    if await refused_on_rabbitmq(transport, make_bus, "orders", router):
        return
    bus = await make_bus("orders", router)
    order = uuid4()
    for n in (1, 2, 3):
        await bus.publish(None, OrderLine(order_id=order, n=n), ordering_key=str(order))
    await run_until_idle(bus)
    assert booked == [2, 3]
    [letter] = await dead_letters(bus)
    assert letter["reason"] == "rejected by book_line: line 1 refers to a deleted product"


async def test_a_handler_raising_cancelled_error_fails_its_delivery_not_the_worker(make_bus):
    router = Router()
    handled: list[int] = []

    @router.on("test.ping.sent", retry=QUICK)
    async def confused(event: Pinged, ctx: Delivery) -> None:
        if event.n == 1 and ctx.attempt == 1:
            raise asyncio.CancelledError()  # e.g. a library cancelling its own inner task badly
        handled.append(event.n)

    bus = await make_bus("cancel", router)
    await bus.publish_many(None, [Pinged(n=1), Pinged(n=2)])
    await run_until_idle(bus)
    assert sorted(handled) == [1, 2]  # retried, and the other delivery was not disturbed


def test_an_unbounded_retry_policy_keeps_its_backoff_capped() -> None:
    """The RabbitMQ forwarder retries without an attempt limit: a huge attempt number must give
    the capped delay, not an overflow."""
    policy = RetryPolicy(max_attempts=2**31 - 1, initial_delay=0.5, max_delay=30.0, jitter=0.0)
    assert policy.delay(2**31 - 2) == 30.0
    assert not policy.exhausted(1_000_000)


def test_the_rabbitmq_transport_refuses_an_ordered_subscription_when_subscribing() -> None:
    """Refused at once, before anything connects: not silently delivered out of order."""
    from broker import BusSettings, EventBus

    router = Router()

    @router.on("test.order.line_added", ordered=True)
    async def book_line(event: OrderLine) -> None:
        pass

    bus = EventBus(service="orders", dsn="postgresql://unused/", settings=BusSettings(transport="rabbitmq"))
    with pytest.raises(BrokerError, match=r"orders\.book_line: ordered=True is not supported on the RabbitMQ"):
        bus.include_router(router)
    assert bus.handlers == []
