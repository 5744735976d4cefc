"""What the bus's tables cost on disk, and what retention costs: bytes per event, delete vs drop.

Used by bench/curves.py. Two measurements, each on a fresh database (made and dropped here):

- `log_size`: publish N events through a real `EventBus` (relay and workers in this process, `subs`
  matching subscriptions), wait until every delivery has been handled, then read
  `pg_total_relation_size` (heap + indexes + TOAST) of each bus table. Per million events is
  that figure * 1,000,000 / N: an extrapolation, linear in N, which ignores that B-tree indexes
  grow a little faster than their row count and that autovacuum may reuse dead space.
- `retention`: N expired events, each with a finished delivery, seeded by SQL as 8 days old;
  the bus's own `broker.cleanup.cleanup` deletes them (time and WAL bytes), against the same rows
  in tables partitioned by day, where retention is `DROP TABLE` of the day's partitions.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

import asyncpg

from bench.bus import Tick, create_database, make_router
from broker.bus import EventBus
from broker.cleanup import cleanup
from broker.settings import BusSettings
from tests.databases import drop_database

# Tables that grow with the events published (the rest hold one row per subscription or type).
GROWING = ("events", "event_deliveries", "bus_outbox")
BUS_TABLES = (*GROWING, "event_inbox", "event_subscriptions", "bus_type_routes")


@dataclass(frozen=True)
class LogSize:
    """Bytes of each bus table after `events` events with `subs` matching subscriptions."""

    events: int
    subs: int
    seconds: float  # includes starting and closing the bus
    bytes_by_table: dict[str, int]
    wal_bytes: int = 0  # written server-wide while publishing and handling (neighbours' writes included)

    def per_million(self, table: str) -> float:
        """MB per million events (linear extrapolation from `events`)."""
        return self.bytes_by_table[table] * 1_000_000 / self.events / 1e6

    @property
    def log_per_million(self) -> float:
        """MB per million events of the tables that grow with them."""
        return sum(self.per_million(table) for table in GROWING)


async def table_bytes(conn: asyncpg.Connection) -> dict[str, int]:
    """pg_total_relation_size of each bus table (heap, indexes, TOAST)."""
    rows = await conn.fetch("SELECT t, pg_total_relation_size(t::regclass) AS b FROM unnest($1::text[]) AS t",
                            list(BUS_TABLES))
    return {row["t"]: int(row["b"]) for row in rows}


async def _fill(url: str, events: int, subs: int, batch: int) -> float:
    """Publish `events` through the bus and wait until all `events * subs` deliveries ran."""
    handled = 0

    def on_tick(_: Tick) -> None:
        nonlocal handled
        handled += 1

    bus = EventBus(service="bench", dsn=url, settings=BusSettings(relay=True, workers=4, worker_batch=250,
                                                                  relay_batch=500, cleanup_interval=0))
    bus.include_router(make_router(subs, on_tick))
    await bus.start()
    started = time.perf_counter()
    try:
        conn = await asyncpg.connect(url)
        try:
            for start in range(0, events, batch):
                async with conn.transaction():
                    ticks = [Tick(n=n, sent_at=0.0) for n in range(start, min(events, start + batch))]
                    await bus.publish_many(conn, ticks)
        finally:
            await conn.close()
        deadline = time.monotonic() + 60 + events * subs / 200
        while handled < events * subs:
            if time.monotonic() > deadline:
                raise RuntimeError(f"log size: {handled} of {events * subs} deliveries")
            await asyncio.sleep(0.05)
    finally:
        await bus.close()
    return time.perf_counter() - started


async def _timed(conn: asyncpg.Connection, work: Awaitable[Any]) -> tuple[float, int]:
    """Seconds and WAL bytes of awaiting `work` (nothing else writes to this server's database meanwhile)."""
    before = await conn.fetchval("SELECT pg_current_wal_insert_lsn()")
    started = time.perf_counter()
    await work
    seconds = time.perf_counter() - started
    wal = await conn.fetchval("SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), $1::pg_lsn)", before)
    return seconds, int(wal)


def log_size(admin_url: str, db: str, events: int, subs: int) -> LogSize:
    """Sizes of the bus tables after `events` events delivered to `subs` subscriptions."""

    async def measure() -> LogSize:
        url = await create_database(admin_url, db)
        try:
            conn = await asyncpg.connect(url)
            try:
                seconds, wal = await _timed(conn, _fill(url, events, subs, batch=500))
                sizes = await table_bytes(conn)
            finally:
                await conn.close()
            return LogSize(events=events, subs=subs, seconds=seconds, bytes_by_table=sizes, wal_bytes=wal)
        finally:
            await drop_database(admin_url, db)

    return asyncio.run(measure())


# -- retention: delete rows vs drop partitions ---------------------------------------------

SEED_SUBSCRIPTION = """
INSERT INTO event_subscriptions (name, module_name, event_pattern, pattern_regex)
VALUES ('bench.retention', 'bench', 'bench.tick.sent', '^bench\\.tick\\.sent$') RETURNING id
"""
SEED_EVENTS = """
WITH ev AS (
    INSERT INTO events (id, event_type, source, occurred_at, recorded_at, payload, expires_at)
    SELECT gen_random_uuid(), 'bench.tick.sent', 'bench', now() - interval '8 days', now() - interval '8 days',
           jsonb_build_object('n', g, 'sent_at', 0), now() - interval '1 day'
    FROM generate_series($2::int, $3::int) AS g
    RETURNING id
)
INSERT INTO event_deliveries (subscription_id, event_id, priority, status, attempts, created_at, finished_at)
SELECT $1, id, 5, 'done', 1, now() - interval '8 days', now() - interval '8 days' FROM ev
"""
# The same two tables partitioned by day: the primary keys must include the partition key.
PARTITIONED = """
CREATE TABLE events_by_day (LIKE events INCLUDING DEFAULTS) PARTITION BY RANGE (recorded_at);
ALTER TABLE events_by_day ADD PRIMARY KEY (id, recorded_at);
CREATE INDEX ON events_by_day (event_type, recorded_at);
CREATE INDEX ON events_by_day (expires_at);
CREATE INDEX ON events_by_day (tx_id);
CREATE TABLE deliveries_by_day (LIKE event_deliveries INCLUDING DEFAULTS) PARTITION BY RANGE (created_at);
ALTER TABLE deliveries_by_day ADD PRIMARY KEY (id, created_at);
CREATE INDEX ON deliveries_by_day (event_id, subscription_id);
CREATE INDEX ON deliveries_by_day (subscription_id, available_at, id) WHERE status = 'pending';
CREATE INDEX ON deliveries_by_day (finished_at) WHERE status = 'done';
CREATE TABLE events_day8 PARTITION OF events_by_day
    FOR VALUES FROM (date_trunc('day', now() - interval '8 days')) TO (date_trunc('day', now() - interval '7 days'));
CREATE TABLE deliveries_day8 PARTITION OF deliveries_by_day
    FOR VALUES FROM (date_trunc('day', now() - interval '8 days')) TO (date_trunc('day', now() - interval '7 days'));
CREATE TABLE events_today PARTITION OF events_by_day
    FOR VALUES FROM (date_trunc('day', now())) TO (date_trunc('day', now() + interval '1 day'));
CREATE TABLE deliveries_today PARTITION OF deliveries_by_day
    FOR VALUES FROM (date_trunc('day', now())) TO (date_trunc('day', now() + interval '1 day'));
INSERT INTO events_by_day SELECT * FROM events;
INSERT INTO deliveries_by_day SELECT * FROM event_deliveries;
"""


@dataclass(frozen=True)
class Retention:
    """Removing `rows` expired events (and as many finished deliveries) two ways."""

    rows: int
    delete_seconds: float
    delete_wal_bytes: int
    drop_seconds: float
    drop_wal_bytes: int


def retention(admin_url: str, db: str, rows: int) -> Retention:
    """Delete `rows` expired events with the bus's cleanup, then drop the same rows' day partitions.

    WAL is counted server-wide (`pg_current_wal_insert_lsn`), so neighbours' writes on the same
    server are counted too: the delete's figure is an upper bound on a shared server."""

    async def measure() -> Retention:
        url = await create_database(admin_url, db)
        try:
            conn = await asyncpg.connect(url)
            pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
            try:
                sub = await conn.fetchval(SEED_SUBSCRIPTION)
                for start in range(0, rows, 100_000):
                    await conn.execute(SEED_EVENTS, sub, start + 1, min(rows, start + 100_000))
                await conn.execute(PARTITIONED)
                await conn.execute("VACUUM ANALYZE")
                await conn.execute("CHECKPOINT")  # full-page images after a checkpoint count alike for both
                delete_s, delete_wal = await _timed(conn, cleanup(pool, batch_size=5000, max_batches=10**6))
                left = await conn.fetchval("SELECT count(*) FROM events")
                if left:
                    raise RuntimeError(f"retention: cleanup left {left} of {rows} events")
                await conn.execute("CHECKPOINT")
                drop_s, drop_wal = await _timed(conn, conn.execute("DROP TABLE events_day8, deliveries_day8"))
                return Retention(rows=rows, delete_seconds=delete_s, delete_wal_bytes=delete_wal,
                                 drop_seconds=drop_s, drop_wal_bytes=drop_wal)
            finally:
                await pool.close()
                await conn.close()
        finally:
            await drop_database(admin_url, db)

    return asyncio.run(measure())
