"""The relay's fan-out matches patterns once per event type and remembers the answer
(`bus_type_routes`); these tests show that what it remembers never outlives a change to the
subscriptions, whoever makes it and whenever it commits."""

from collections.abc import AsyncIterator

import asyncpg
import pytest

from broker import ops
from broker.patterns import matches, to_regex
from broker.postgres import RELAY_LOCAL, RELAY_LOCK_KEY, PostgresStore
from broker.store import SubscriptionRef

PATTERNS = {
    "exact": "test.ping.sent",
    "star_middle": "test.*.sent",
    "star_end": "test.ping.*",
    "star_two_words": "test.*",
    "hash_all": "#",
    "hash_tail": "test.#",
    "hash_zero_words": "test.ping.sent.#",
    "hash_middle": "test.#.sent",
    "other": "other.#",
}
TYPES = ["test.ping.sent", "test.pong.sent", "test.ping", "test.ping.sent.late", "other.thing", "test"]


@pytest.fixture
async def pools(database_url: str) -> AsyncIterator[tuple[asyncpg.Pool, asyncpg.Pool]]:
    """Two pools on the bus: each relay (`PostgresStore`) and each operator has its own."""
    first = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    second = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    yield first, second
    await first.close()
    await second.close()


@pytest.fixture
def store(pools: tuple[asyncpg.Pool, asyncpg.Pool]) -> PostgresStore:
    """A relay's store on the first pool."""
    return PostgresStore(pools[0], source="test")


async def subscribe(conn: asyncpg.Connection, name: str, pattern: str) -> None:
    """Declare or re-pattern a subscription as a starting process would (the same columns)."""
    await conn.execute(
        "INSERT INTO event_subscriptions (name, module_name, event_pattern, pattern_regex) "
        "VALUES ($1, 'test', $2, $3) ON CONFLICT (name) DO UPDATE "
        "SET event_pattern = EXCLUDED.event_pattern, pattern_regex = EXCLUDED.pattern_regex",
        name, pattern, to_regex(pattern),
    )


async def publish(conn: asyncpg.Connection, *event_types: str) -> list[str]:
    """Put one outbox row per type; returns the events' ids as text."""
    rows = await conn.fetch(
        "INSERT INTO bus_outbox (id, event_type, source, occurred_at, payload) "
        "SELECT gen_random_uuid(), t, 'test', now(), '{}' FROM unnest($1::text[]) WITH ORDINALITY AS x(t, k) "
        "ORDER BY k RETURNING id::text",
        list(event_types),
    )
    return [row[0] for row in rows]


async def routed(conn: asyncpg.Connection, event_id: str) -> set[str]:
    """Names of the subscriptions the event got a delivery for."""
    rows = await conn.fetch(
        "SELECT s.name FROM event_deliveries d JOIN event_subscriptions s ON s.id = d.subscription_id "
        "WHERE d.event_id = $1::uuid",
        event_id,
    )
    return {row[0] for row in rows}


async def relay(store: PostgresStore) -> None:
    while await store.relay_batch(500) == 500:
        pass


async def ping_routes(conn: asyncpg.Connection, store: PostgresStore) -> set[str]:
    """One test.ping.sent published and relayed by `store`: the subscriptions it was routed to."""
    [event_id] = await publish(conn, "test.ping.sent")
    await relay(store)
    return await routed(conn, event_id)


async def test_star_and_hash_route_like_the_reference_matcher_when_matched_and_when_remembered(store):
    async with store.pool.acquire() as conn:
        for name, pattern in PATTERNS.items():
            await subscribe(conn, name, pattern)
        for _ in range(2):  # first matched in SQL, then from the cache
            ids = await publish(conn, *TYPES, *TYPES)
            await relay(store)
            for event_id, event_type in zip(ids, TYPES * 2, strict=True):
                expected = {name for name, pattern in PATTERNS.items() if matches(pattern, event_type)}
                assert await routed(conn, event_id) == expected, event_type
        assert await conn.fetchval("SELECT count(*) FROM bus_type_routes") == len(TYPES)


async def test_subscriptions_added_retired_and_reactivated_after_a_type_was_seen_take_effect_on_either_relay(pools):
    (pool_a, pool_b) = pools
    relay_a, relay_b = PostgresStore(pool_a, source="a"), PostgresStore(pool_b, source="b")
    async with pool_a.acquire() as conn:
        await subscribe(conn, "first", "test.ping.sent")
        assert await ping_routes(conn, relay_a) == {"first"}

        await subscribe(conn, "late", "test.#")
        assert await ping_routes(conn, relay_b) == {"first", "late"}

        await ops.retire_subscription(pool_b, "late")
        assert await ping_routes(conn, relay_a) == {"first"}

        await ops.retire_subscription(pool_b, "late", active=True)
        assert await ping_routes(conn, relay_b) == {"first", "late"}


async def test_a_changed_pattern_takes_effect_at_the_next_relay(store):
    async with store.pool.acquire() as conn:
        await subscribe(conn, "moving", "test.ping.*")
        await subscribe(conn, "staying", "#")
        assert await ping_routes(conn, store) == {"moving", "staying"}

        await subscribe(conn, "moving", "test.pong.*")  # same subscription id, new pattern
        [after, pong] = await publish(conn, "test.ping.sent", "test.pong.sent")
        await relay(store)
        assert await routed(conn, after) == {"staying"}
        assert await routed(conn, pong) == {"moving", "staying"}


async def test_a_relay_that_read_the_subscriptions_before_a_change_committed_does_not_hide_the_change(pools):
    """The race a cache invalidated by the change itself would lose: a relay statement whose
    snapshot predates the new subscription writes its (then stale) routes after the change
    has committed. The next relay must still route to the new subscription."""
    pool, other = pools
    store = PostgresStore(pool, source="test")
    async with pool.acquire() as conn, other.acquire() as operator:
        await subscribe(conn, "first", "test.ping.sent")
        [early] = await publish(conn, "test.ping.sent")
        async with conn.transaction(isolation="repeatable_read"):
            await conn.fetchval("SELECT count(*) FROM event_subscriptions")  # the snapshot starts here
            await subscribe(operator, "late", "test.*.sent")  # commits meanwhile
            row = await conn.fetchrow(RELAY_LOCAL, 500, 3600.0, RELAY_LOCK_KEY, [], 0, 0.0, "")  # no hand-off
            assert row is not None and row["moved"] == 1
        assert await routed(conn, early) == {"first"}  # it could not see "late" yet

        assert await ping_routes(conn, store) == {"first", "late"}


async def test_a_due_delivery_is_claimed_past_a_long_retry_delayed_backlog(store):
    """Retry-delayed deliveries sort behind due ones in the claim index, whatever their ids."""
    async with store.pool.acquire() as conn:
        await subscribe(conn, "sub", "test.#")
        await publish(conn, *["test.ping.sent"] * 2000)
        await relay(store)
        await conn.execute("UPDATE event_deliveries SET available_at = now() + interval '1 hour', attempts = 1")
        [due] = await publish(conn, "test.ping.sent")
        await relay(store)
        sub_id, priority = await conn.fetchrow("SELECT id, priority FROM event_subscriptions WHERE name = 'sub'")
    claimed = await store.claim([SubscriptionRef(id=sub_id, name="sub", priority=priority)], 10, 30.0, "w")
    assert [str(c.event_id) for c in claimed] == [due]
