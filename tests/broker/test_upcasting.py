"""Upcasters: old payloads decode into today's Struct, in the worker and in `show`."""

import json
from typing import Any, ClassVar
from uuid import uuid4

import pytest

from broker import BusSettings, EventBus, Router
from broker.testing import run_until_idle
from broker.upcasting import UpcastError, Upcasters
from contracts.envelope import Event
from contracts.ids import uuid7

FAST = BusSettings(poll_interval=0.05, workers=0, relay=False, cleanup_interval=0, lease=5.0)


class PriceSet(Event, frozen=True, kw_only=True, tag="test.price.set"):
    schema_version: ClassVar[int] = 3
    sku: str
    amount: str
    currency: str


def registry() -> Upcasters:
    upcasters = Upcasters.for_events(PriceSet)

    @upcasters.register("test.price.set", 1)
    def price_becomes_amount(payload: dict[str, Any]) -> dict[str, Any]:
        payload["amount"] = str(payload.pop("price"))
        return payload

    @upcasters.register("test.price.set", 2)
    def currency_defaults_to_eur(payload: dict[str, Any]) -> dict[str, Any]:
        return {"currency": "EUR", **payload}

    return upcasters


def test_chain_runs_from_any_old_version_to_the_current_one():
    upcasters = registry()
    assert upcasters.current_version("test.price.set") == 3
    assert upcasters.upgrade("test.price.set", 1, {"sku": "A", "price": 5}) == (
        3, {"currency": "EUR", "sku": "A", "amount": "5"}
    )
    assert upcasters.upgrade("test.price.set", 2, {"sku": "A", "amount": "5"})[1]["currency"] == "EUR"
    current = '{"sku":"A","amount":"5","currency":"USD"}'
    assert upcasters.upcast("test.price.set", 3, current) == (3, current)  # untouched, not re-encoded
    assert upcasters.upcast("other.thing.done", 1, "{}") == (1, "{}")  # unknown types pass through
    version, text = upcasters.upcast("test.price.set", 1, '{"sku":"A","price":5}')
    assert version == 3 and json.loads(text) == {"currency": "EUR", "sku": "A", "amount": "5"}


def test_current_version_implied_by_registrations():
    upcasters = Upcasters()
    upcasters.register("x.y.z", 1, lambda p: {**p, "b": 1})
    assert upcasters.current_version("x.y.z") == 2
    assert upcasters.upgrade("x.y.z", 1, {}) == (2, {"b": 1})


def test_mistakes_are_refused_with_a_reason():
    upcasters = registry()
    with pytest.raises(UpcastError, match="already registered"):
        upcasters.register("test.price.set", 1, lambda p: p)
    with pytest.raises(UpcastError, match="start at 1"):
        upcasters.register("test.price.set", 0, lambda p: p)
    with pytest.raises(UpcastError, match="newer than this code"):
        upcasters.upgrade("test.price.set", 4, {})
    gap = Upcasters({"a.b.c": 3})
    gap.register("a.b.c", 1, lambda p: p)
    with pytest.raises(UpcastError, match="no upcaster registered from v2"):
        gap.upgrade("a.b.c", 1, {})
    with pytest.raises(UpcastError, match="failed: KeyError"):
        upcasters.upgrade("test.price.set", 1, {"sku": "A"})
    with pytest.raises(UpcastError, match="failed: KeyError"):
        upcasters.upcast("test.price.set", 1, '{"sku":"A"}')


async def _publish_raw(bus: EventBus, version: int, payload: dict[str, Any]) -> None:
    async with bus.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO bus_outbox (id, event_type, source, occurred_at, version, payload) "
            "VALUES ($1, 'test.price.set', 'test', now(), $2, $3::jsonb)",
            uuid7(), version, json.dumps(payload),
        )


async def test_worker_hands_old_events_to_handlers_in_todays_shape(database_url):
    router = Router()
    seen: list[PriceSet] = []

    @router.on("test.price.set")
    async def record_price(event: PriceSet) -> None:
        seen.append(event)

    bus = EventBus(service="pricing", dsn=database_url, settings=FAST, upcast=registry().upcast)
    bus.include_router(router)
    await bus.open()
    try:
        await _publish_raw(bus, 1, {"type": "test.price.set", "sku": "A", "price": 5})
        await _publish_raw(bus, 3, {"type": "test.price.set", "sku": "B", "amount": "7", "currency": "USD"})
        await _publish_raw(bus, 1, {"type": "test.price.set", "sku": "C"})  # its upcaster fails
        assert await run_until_idle(bus) == 3
        assert sorted((e.sku, e.amount, e.currency) for e in seen) == [("A", "5", "EUR"), ("B", "7", "USD")]
        async with bus.pool.acquire() as conn:
            reason = await conn.fetchval("SELECT reason FROM event_dead_letters")
        assert "cannot be decoded" in reason and "upcasting from v1 failed" in reason  # dead-lettered, not stuck
    finally:
        await bus.close()


async def test_show_displays_todays_shape(database_url):
    from broker import ops
    from tests.broker.ops_seed import add_events

    bus = EventBus(service="pricing", dsn=database_url, settings=FAST)
    await bus.open()
    try:
        async with bus.pool.acquire() as conn:
            [event_id] = await add_events(conn, "test.price.set", payload={"sku": "A", "price": 5}, version=1,
                                          tenant=uuid4())
        detail = await ops.show_event(bus.pool, event_id, upcasters=registry())
        assert detail.current_version == 3
        assert detail.current_payload == {"currency": "EUR", "sku": "A", "amount": "5"}
        broken = Upcasters({"test.price.set": 2})
        detail = await ops.show_event(bus.pool, event_id, upcasters=broken)
        assert detail.upcast_error is not None and "no upcaster" in detail.upcast_error
    finally:
        await bus.close()
