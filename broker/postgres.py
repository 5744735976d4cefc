"""The Postgres store: outbox, relay, claims and dead letters in SQL.

Every hot-path operation is one statement over a batch (arrays through `unnest`), because
on this kind of machine the Python side, not PostgreSQL, sets the pace.
"""

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
import structlog

from broker import context, metrics
from broker.delivery import ClaimedDelivery
from broker.errors import AlreadyHandled, InvalidEvent
from broker.patterns import to_regex
from broker.router import Handler
from broker.store import RELAY_BUSY, SubscriptionRef
from contracts.envelope import Event, event_type_of
from contracts.ids import uuid7

_encoder = msgspec.json.Encoder(decimal_format="string")
log = structlog.get_logger("broker.postgres")

INSERT_ONE = """
INSERT INTO bus_outbox (id, event_type, source, tenant_id, company_id, ordering_key,
                        occurred_at, correlation_id, causation_id, version, payload)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb)
"""

INSERT_MANY = """
INSERT INTO bus_outbox (id, event_type, source, tenant_id, company_id, ordering_key,
                        occurred_at, correlation_id, causation_id, version, payload)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::uuid[], $6::text[],
                     $7::timestamptz[], $8::uuid[], $9::uuid[], $10::int[], $11::jsonb[])
"""

# Relays take turns: several may run (a standby takes over at once when one dies), but one
# batch commits at a time, so deliveries are created in outbox order and ordered
# subscriptions see each key's events in publish order. A relay that finds the lock taken
# does not wait for it (holding a snapshot older than the rows it would then move): the
# holder moves the rows, and the relay looks again shortly (RELAY_BUSY).
RELAY_LOCK = "SELECT pg_try_advisory_xact_lock($1)"
RELAY_LOCK_KEY = 0x62_75_73_72_6C  # "busrl"


def _log_and_fan_out(retention: str) -> str:
    """CTEs `logged` and `fanned` over a CTE `batch` of outbox rows: append the events to
    the log and create one delivery per matching active subscription. ON CONFLICT keeps a
    re-relayed event (after a crash between the steps of the two-database relay) from
    duplicating either.

    Patterns are matched once per event type, not per event and subscription (PostgreSQL
    keeps 32 compiled regexes per connection: 200 subscriptions made every match a compile).
    The result is kept in `bus_type_routes` under a digest of the active subscriptions read
    in this statement's snapshot; a row whose digest differs is recomputed, so any change
    to the subscriptions, by any process, is seen by the next statement.
    """
    return f"""
logged AS (
    INSERT INTO events (id, event_type, source, tenant_id, company_id, ordering_key, occurred_at,
                        correlation_id, causation_id, version, payload, expires_at)
    SELECT id, event_type, source, tenant_id, company_id, ordering_key, occurred_at,
           correlation_id, causation_id, version, payload, now() + make_interval(secs => {retention})
    FROM batch
    ON CONFLICT (id) DO NOTHING
    RETURNING 1
), {_ROUTES}, fanned AS (
    INSERT INTO event_deliveries (subscription_id, event_id, priority, ordering_key)
    SELECT s.id, b.id, s.priority, CASE WHEN s.ordered THEN b.ordering_key END
    FROM batch b JOIN routes r ON r.event_type = b.event_type
    JOIN event_subscriptions s ON s.id = r.subscription_id AND s.is_active
    ORDER BY b.seq, s.id
    ON CONFLICT (event_id, subscription_id) DO NOTHING
    RETURNING 1
)"""


# CTE `routes` (event_type, subscription_id) for the types in CTE `batch`, from the cache
# where its digest matches the active subscriptions, else matched now and remembered.
_ROUTES = """
digest AS (
    SELECT coalesce(md5(string_agg(s.id || ' ' || s.pattern_regex, ',' ORDER BY s.id)), '') AS d
    FROM event_subscriptions s WHERE s.is_active
), types AS (
    SELECT DISTINCT event_type FROM batch
), cached AS (
    SELECT r.event_type, r.subscription_ids FROM bus_type_routes r
    WHERE r.event_type IN (SELECT event_type FROM types) AND r.digest = (SELECT d FROM digest)
), computed AS (
    SELECT t.event_type, coalesce(array_agg(s.id ORDER BY s.id) FILTER (WHERE s.id IS NOT NULL), '{}')
               AS subscription_ids
    FROM types t LEFT JOIN event_subscriptions s ON s.is_active AND ('.' || t.event_type) ~ s.pattern_regex
    WHERE t.event_type NOT IN (SELECT event_type FROM cached)
    GROUP BY t.event_type
), remembered AS (
    INSERT INTO bus_type_routes (event_type, digest, subscription_ids)
    SELECT event_type, (SELECT d FROM digest), subscription_ids FROM computed
    ORDER BY event_type  -- two-database relays may write at once: lock rows in one order
    ON CONFLICT (event_type) DO UPDATE
        SET digest = EXCLUDED.digest, subscription_ids = EXCLUDED.subscription_ids
), routes AS (
    SELECT event_type, unnest(subscription_ids) AS subscription_id FROM cached
    UNION ALL
    SELECT event_type, unnest(subscription_ids) FROM computed
)"""


# Same database: claim, log, fan out and delete in one statement (one round trip). The
# relay lock is tried in the statement's gating filter, before any outbox row is read or locked.
RELAY_LOCAL = f"""
WITH lock AS (
    SELECT pg_try_advisory_xact_lock($3) AS got
), batch AS (
    DELETE FROM bus_outbox
    WHERE seq IN (SELECT seq FROM bus_outbox
                  WHERE (SELECT got FROM lock)
                  ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED)
    RETURNING *
), {_log_and_fan_out("$2")}
SELECT (SELECT got FROM lock) AS locked, (SELECT count(*) FROM batch) AS moved,
       (SELECT count(*) FROM fanned) AS fanned,
       (SELECT array_agg(EXTRACT(EPOCH FROM clock_timestamp() - occurred_at)::float8) FROM batch) AS lags
"""

FETCH_OUTBOX = """
SELECT seq, id, event_type, source, tenant_id, company_id, ordering_key, occurred_at,
       correlation_id, causation_id, version, payload::text
FROM bus_outbox ORDER BY seq LIMIT $1 FOR UPDATE SKIP LOCKED
"""

# Two databases: the bus side of the relay, fed with the rows read from the outbox.
APPEND_REMOTE = f"""
WITH batch AS (
    SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::text[], $5::uuid[], $6::uuid[],
                         $7::text[], $8::timestamptz[], $9::uuid[], $10::uuid[], $11::int[], $12::jsonb[])
        AS b(seq, id, event_type, source, tenant_id, company_id, ordering_key, occurred_at,
             correlation_id, causation_id, version, payload)
), {_log_and_fan_out("$13")}
SELECT (SELECT count(*) FROM fanned)
"""

_DUE = """d.subscription_id = {sub} AND d.status = 'pending' AND d.available_at <= now()
          AND (d.ordering_key IS NULL OR NOT EXISTS (
                SELECT 1 FROM event_deliveries p
                WHERE p.subscription_id = d.subscription_id AND p.ordering_key = d.ordering_key
                  AND p.status = 'pending' AND p.id < d.id))"""

# One claim serves several subscriptions. `quota` shares the batch out: every subscription
# with due work gets at least one delivery (no starvation), the rest goes in proportion to
# 2^priority (so priority 9 takes ~99 of 100 places next to priority 2, and equal priorities
# share evenly) — weighted fair queuing over the k-th due delivery of each subscription.
# Then each subscription's deliveries are locked in the order they fell due (an ordered subscription skips
# a key while an earlier delivery of it is pending). Deliveries claimed `max_attempts` times
# already (their workers died without settling) and deliveries whose event is missing from
# the log (an UNLOGGED log emptied by a crash) are dead-lettered here instead of claimed; a
# last row counts them (`buried`), so the caller can claim again rather than stall.
CLAIM = f"""
WITH subs AS (
    SELECT s.id, s.priority, sub.max_attempts
    FROM unnest($1::bigint[], $2::int[]) AS s(id, priority)
    JOIN event_subscriptions sub ON sub.id = s.id
), demand AS (
    SELECT s.id, s.priority, n.due FROM subs s
    CROSS JOIN LATERAL (
        SELECT count(*) AS due FROM (
            SELECT 1 FROM event_deliveries d WHERE {_DUE.format(sub="s.id")}
            ORDER BY d.available_at, d.id LIMIT $3
        ) x
    ) n
    WHERE n.due > 0 AND (SELECT count(*) FROM subs) > 1
), quota AS (
    SELECT id, $3::bigint AS n FROM subs WHERE (SELECT count(*) FROM subs) = 1  -- nothing to share
    UNION ALL
    SELECT id, count(*) AS n FROM (
        SELECT dm.id FROM demand dm CROSS JOIN LATERAL generate_series(1, dm.due) AS g(k)
        ORDER BY (g.k - 1) / power(2, dm.priority), dm.priority DESC, dm.id
        LIMIT $3
    ) q
    GROUP BY id
), picked AS (
    SELECT d.id, s.priority, s.max_attempts, d.attempts, d.event_id
    FROM quota q JOIN subs s ON s.id = q.id
    CROSS JOIN LATERAL (
        SELECT d.id, d.attempts, d.event_id FROM event_deliveries d
        WHERE {_DUE.format(sub="q.id")}
        ORDER BY d.available_at, d.id
        LIMIT q.n
        FOR UPDATE SKIP LOCKED
    ) d
    LIMIT $3  -- no more than that anyway; says so to the planner (index lookups, not hash joins)
), found AS (
    SELECT p.id, p.priority, p.max_attempts, p.attempts, p.event_id, e.id IS NOT NULL AS logged,
           e.event_type, e.source, e.tenant_id, e.company_id, e.ordering_key, e.occurred_at,
           e.correlation_id, e.causation_id, e.version, e.payload::text AS payload
    FROM picked p LEFT JOIN LATERAL (SELECT * FROM events e WHERE e.id = p.event_id LIMIT 1) e ON true
), claimed AS (
    UPDATE event_deliveries d
    SET available_at = now() + make_interval(secs => $4), attempts = d.attempts + 1, locked_by = $5
    FROM found f
    WHERE d.id = f.id AND f.logged AND f.attempts < f.max_attempts
    RETURNING d.id, d.subscription_id, d.attempts, f.event_id, f.event_type, f.source, f.tenant_id,
              f.company_id, f.ordering_key, f.occurred_at, f.correlation_id, f.causation_id,
              f.version, f.payload, f.priority
), buried AS (
    UPDATE event_deliveries d
    SET status = 'dead', finished_at = now(), locked_by = NULL,
        last_error = CASE WHEN NOT f.logged
            THEN 'event ' || f.event_id || ' is missing from the events log (an UNLOGGED log emptied by a crash, '
                 || 'or deleted); nothing left to deliver'
            ELSE 'gave up after ' || f.attempts || ' attempt(s); last error: the worker never settled '
                 || 'the delivery (its process died or its lease ran out)' END
    FROM found f
    WHERE d.id = f.id AND NOT (f.logged AND f.attempts < f.max_attempts)
    RETURNING d.id, d.subscription_id, d.event_id, d.attempts, d.last_error
), lettered AS (
    INSERT INTO event_dead_letters (delivery_id, subscription_id, event_id, attempts, reason, error)
    SELECT id, subscription_id, event_id, attempts, last_error, last_error FROM buried
)
SELECT c.*, 0::bigint AS buried FROM claimed c
UNION ALL
SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, count(*)
FROM buried HAVING count(*) > 0
"""

# Settling names the claim: delivery id, attempt and worker. A worker whose lease ran out
# and whose delivery was claimed again (attempts moved on, or another worker holds it)
# matches nothing, so it can neither finish nor release a delivery it no longer owns.
# (`= ANY` keeps the planner on the primary key; the attempt is looked up beside its id.)
COMPLETE = """
UPDATE event_deliveries d SET status = 'done', finished_at = now(), locked_by = NULL
WHERE d.id = ANY($1::bigint[]) AND d.attempts = ($2::int[])[array_position($1::bigint[], d.id)]
  AND d.locked_by = $3 AND d.status = 'pending'
"""

RETRY = """
UPDATE event_deliveries
SET available_at = now() + make_interval(secs => $2), last_error = $3, locked_by = NULL
WHERE id = $1 AND attempts = $4 AND locked_by = $5 AND status = 'pending'
"""

DEAD_LETTER = """
WITH dead AS (
    UPDATE event_deliveries
    SET status = 'dead', finished_at = now(), last_error = $2, locked_by = NULL
    WHERE id = $1 AND attempts = $5 AND locked_by = $6 AND status = 'pending'
    RETURNING id, subscription_id, event_id, attempts
)
INSERT INTO event_dead_letters (delivery_id, subscription_id, event_id, attempts, reason, error, traceback)
SELECT id, subscription_id, event_id, attempts, $2, $3, $4 FROM dead
"""

EXTEND = """
UPDATE event_deliveries d SET available_at = now() + make_interval(secs => $2)
WHERE d.id = ANY($1::bigint[]) AND d.attempts = ($3::int[])[array_position($1::bigint[], d.id)]
  AND d.locked_by = $4 AND d.status = 'pending'
RETURNING d.id
"""

SECONDS_UNTIL_DUE = """
SELECT EXTRACT(EPOCH FROM min(available_at) - now())::float8 FROM event_deliveries
WHERE subscription_id = ANY($1::bigint[]) AND status = 'pending'
"""

UPSERT_SUBSCRIPTION = """
INSERT INTO event_subscriptions (name, module_name, event_pattern, pattern_regex, priority, ordered,
                                 max_attempts, retry_initial_ms, retry_max_ms, is_active)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, true)
ON CONFLICT (name) DO UPDATE SET
    module_name = EXCLUDED.module_name, event_pattern = EXCLUDED.event_pattern,
    pattern_regex = EXCLUDED.pattern_regex, priority = EXCLUDED.priority, ordered = EXCLUDED.ordered,
    max_attempts = EXCLUDED.max_attempts, retry_initial_ms = EXCLUDED.retry_initial_ms,
    retry_max_ms = EXCLUDED.retry_max_ms, updated_at = now(),
    is_active = event_subscriptions.retired_at IS NULL
RETURNING id, name, priority, retired_at IS NOT NULL AS retired
"""

# Subscriptions are never switched off by a process starting (an old version restarting
# mid-deploy would switch off what a newer one added): only an operator retires one
# (`buildify-events subscriptions retire NAME`, broker.ops.retire_subscription).
RETIRE_DECLARED = """
UPDATE event_subscriptions SET is_active = false, retired_at = now(), updated_at = now()
WHERE name = ANY($1::text[]) AND retired_at IS NULL
RETURNING name
"""

# `$2`: also switch back on what is not retired — during the rollout of this version, a
# process of an older one still switches subscriptions off when it starts.
HEARTBEAT = """
UPDATE event_subscriptions
SET last_seen_at = now(), is_active = is_active OR ($2 AND retired_at IS NULL)
WHERE id = ANY($1::bigint[])
"""

# Broadcast subscriptions follow the events log by snapshot: the events whose inserting
# transaction the previous snapshot did not see as committed, and this statement's snapshot
# does. Unlike a sequence, this misses no event whose transaction commits late.
FOLLOW_START = "SELECT pg_current_snapshot()::text"

FOLLOW = """
WITH snap AS (SELECT pg_current_snapshot() AS now, $1::text::pg_snapshot AS seen)
SELECT s.now::text, e.id, e.event_type, e.source, e.tenant_id, e.company_id, e.ordering_key,
       e.occurred_at, e.correlation_id, e.causation_id, e.version, e.payload::text
FROM snap s LEFT JOIN LATERAL (
    SELECT * FROM events e
    WHERE e.tx_id >= pg_snapshot_xmin(s.seen) AND NOT pg_visible_in_snapshot(e.tx_id, s.seen)
      AND ('.' || e.event_type) ~ ANY($2::text[])
) e ON true
ORDER BY e.tx_id, e.id
"""


def encode_event(event: Event) -> tuple[str, int, str]:
    """(type, version, JSON payload) of an event, refusing what is not a tagged Event."""
    if not isinstance(event, Event):
        raise InvalidEvent(f"cannot publish {type(event).__name__}: it is not a contracts.Event")
    cls = type(event)
    try:
        event_type = event_type_of(cls)
    except TypeError as exc:
        raise InvalidEvent(str(exc)) from exc
    return event_type, cls.schema_version, _encoder.encode(event).decode()


def _count(status: str) -> int:
    return int(status.split()[-1])


def _stale_settle(action: str, claims: Sequence[ClaimedDelivery], settled: int) -> None:
    """Log settles that found their claim gone (lease ran out and another worker took over)."""
    if settled < len(claims):
        log.warning(
            "stale claim: settle ignored, the delivery is no longer this worker's",
            action=action,
            worker=claims[0].claimed_by,
            deliveries=len(claims) - settled,
            attempts=sorted({c.attempt for c in claims}),
        )


def subscription_name(module: str, handler: Handler) -> str:
    return f"{module}.{handler.name}"


class PostgresStore:
    """A `Store` on PostgreSQL.

    `pool` reaches the bus tables with durable commits; `work_pool` the same database with
    `synchronous_commit = off`, for the bus's own bookkeeping (relay in one database, claims,
    completions, retries): a crash can lose its last few milliseconds of commits, and each
    loss only repeats work (a re-relayed outbox row, a redelivery), never loses an event.
    `outbox_pool` reaches the service's own database, where its outbox and inbox live (the
    bus database unless the module uses a separate one); publishing and the inbox always
    commit durably. `on_publish(conn)` is told of every publish (to wake the relay after the
    transaction ends).
    """

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        source: str,
        work_pool: asyncpg.Pool | None = None,
        outbox_pool: asyncpg.Pool | None = None,
        shared_database: bool | None = None,
        retention_seconds: float = 7 * 24 * 3600,
        on_publish: Callable[[Any], None] | None = None,
    ) -> None:
        self.pool = pool
        self.work_pool = work_pool or pool
        self.outbox_pool = outbox_pool or pool
        self.shared_database = self.outbox_pool is pool if shared_database is None else shared_database
        self.source = source
        self.retention_seconds = retention_seconds
        self.on_publish = on_publish

    # -- publishing ---------------------------------------------------------------------

    async def publish(
        self,
        conn: Any,
        events: Sequence[Event],
        *,
        tenant_id: UUID | None,
        company_id: UUID | None,
        ordering_key: str | None,
        correlation_id: UUID | None,
        causation_id: UUID | None,
    ) -> list[UUID]:
        if not events:
            return []
        encoded = [encode_event(event) for event in events]
        ids = [uuid7() for _ in events]
        now = datetime.now(UTC)
        correlation_id = correlation_id or context.correlation_id.get()
        causation_id = causation_id or context.causation_id.get()
        if conn is None:
            async with self.outbox_pool.acquire() as own, own.transaction():
                await self._insert(own, ids, encoded, now, tenant_id, company_id, ordering_key,
                                   correlation_id, causation_id)
        else:
            await self._insert(conn, ids, encoded, now, tenant_id, company_id, ordering_key,
                               correlation_id, causation_id)
        if self.on_publish is not None:
            self.on_publish(conn)
        return ids

    async def _insert(
        self,
        conn: Any,
        ids: list[UUID],
        encoded: list[tuple[str, int, str]],
        now: datetime,
        tenant_id: UUID | None,
        company_id: UUID | None,
        ordering_key: str | None,
        correlation_id: UUID | None,
        causation_id: UUID | None,
    ) -> None:
        if len(ids) == 1:
            event_type, version, payload = encoded[0]
            await conn.execute(
                INSERT_ONE, ids[0], event_type, self.source, tenant_id, company_id, ordering_key,
                now, correlation_id or ids[0], causation_id, version, payload,
            )
            return
        n = len(ids)
        await conn.execute(
            INSERT_MANY,
            ids,
            [e[0] for e in encoded],
            [self.source] * n,
            [tenant_id] * n,
            [company_id] * n,
            [ordering_key] * n,
            [now] * n,
            [correlation_id or event_id for event_id in ids],
            [causation_id] * n,
            [e[1] for e in encoded],
            [e[2] for e in encoded],
        )

    # -- subscriptions --------------------------------------------------------------------

    async def sync_subscriptions(self, module: str, handlers: Sequence[Handler]) -> list[SubscriptionRef]:
        refs = []
        async with self.pool.acquire() as conn, conn.transaction():
            for handler in handlers:
                row = await conn.fetchrow(
                    UPSERT_SUBSCRIPTION,
                    subscription_name(module, handler),
                    module,
                    handler.pattern,
                    to_regex(handler.pattern),
                    handler.priority,
                    handler.ordered,
                    handler.retry.max_attempts,
                    int(handler.retry.initial_delay * 1000),
                    int(handler.retry.max_delay * 1000),
                )
                assert row is not None
                if row["retired"]:
                    log.warning("subscription is retired; this process does not serve it "
                                "(buildify-events subscriptions activate NAME resumes it)", subscription=row["name"])
                    continue
                refs.append(SubscriptionRef(id=row["id"], name=row["name"], priority=row["priority"]))
        return refs

    async def retire(self, names: Sequence[str]) -> list[str]:
        """Retire subscriptions declared gone in code; returns those not retired before."""
        async with self.pool.acquire() as conn:
            return [row[0] for row in await conn.fetch(RETIRE_DECLARED, list(names))]

    async def heartbeat(self, subscriptions: Sequence[SubscriptionRef], *, activate: bool = False) -> None:
        """Record that a running process serves these subscriptions (see `ops.stats` unserved);
        with `activate`, switch back on those not retired that something switched off."""
        if subscriptions:
            async with self.work_pool.acquire() as conn:
                await conn.execute(HEARTBEAT, [s.id for s in subscriptions], activate)

    # -- relay ------------------------------------------------------------------------------

    async def relay_batch(self, limit: int) -> int:
        """Move up to `limit` outbox rows onto the bus; returns how many moved, or RELAY_BUSY
        when another relay is at it."""
        if self.shared_database:
            async with self.work_pool.acquire() as conn:
                row = await conn.fetchrow(RELAY_LOCAL, limit, self.retention_seconds, RELAY_LOCK_KEY)
            assert row is not None
            if not row["locked"]:
                return RELAY_BUSY
            for lag in row["lags"] or ():
                metrics.relay_lag.observe(lag)
            return int(row["moved"])
        async with self.outbox_pool.acquire() as outbox, outbox.transaction():
            if not await outbox.fetchval(RELAY_LOCK, RELAY_LOCK_KEY):
                return RELAY_BUSY
            rows = await outbox.fetch(FETCH_OUTBOX, limit)
            if not rows:
                return 0
            columns = list(zip(*rows, strict=True))
            async with self.pool.acquire() as bus:
                await bus.fetchval(APPEND_REMOTE, *columns, self.retention_seconds)
            # The bus side has committed; a crash before this delete re-relays the rows,
            # which ON CONFLICT turns into no-ops.
            await outbox.execute("DELETE FROM bus_outbox WHERE seq = ANY($1::bigint[])", list(columns[0]))
            return len(rows)

    # -- deliveries ---------------------------------------------------------------------------

    async def claim(
        self, subscriptions: Sequence[SubscriptionRef], limit: int, lease: float, worker_id: str
    ) -> list[ClaimedDelivery]:
        ids, priorities = [s.id for s in subscriptions], [s.priority for s in subscriptions]
        while True:
            async with self.work_pool.acquire() as conn:
                rows = await conn.fetch(CLAIM, ids, priorities, limit, lease, worker_id)
            buried = sum(row[15] for row in rows)
            if buried:
                log.error("deliveries dead-lettered at claim (event missing, or max attempts used up "
                          "by workers that never settled)", deliveries=buried)
            rows = [row for row in rows if row[0] is not None]
            if rows or not buried:  # a batch of only buried deliveries: claim again, do not stall
                break
        rows.sort(key=lambda r: (-r[14], r[0]))
        claimed = [ClaimedDelivery(*row[:14]) for row in rows]
        for claim in claimed:
            claim.claimed_by = worker_id
        return claimed

    async def complete(self, claims: Sequence[ClaimedDelivery]) -> None:
        if not claims:
            return
        by_worker: dict[str, list[ClaimedDelivery]] = {}
        for claim in claims:
            by_worker.setdefault(claim.claimed_by, []).append(claim)
        async with self.work_pool.acquire() as conn:
            for worker, own in by_worker.items():
                status = await conn.execute(
                    COMPLETE, [c.delivery_id for c in own], [c.attempt for c in own], worker
                )
                _stale_settle("complete", own, _count(status))

    async def retry(self, claim: ClaimedDelivery, delay: float, error: str) -> None:
        async with self.work_pool.acquire() as conn:
            status = await conn.execute(RETRY, claim.delivery_id, delay, error, claim.attempt, claim.claimed_by)
        _stale_settle("retry", [claim], _count(status))

    async def dead_letter(self, claim: ClaimedDelivery, reason: str, error: str, traceback: str) -> None:
        async with self.work_pool.acquire() as conn:
            status = await conn.execute(
                DEAD_LETTER, claim.delivery_id, reason, error, traceback, claim.attempt, claim.claimed_by
            )
        _stale_settle("dead-letter", [claim], _count(status))

    async def extend_leases(self, claims: Sequence[ClaimedDelivery], lease: float) -> list[int]:
        if not claims:
            return []
        worker = claims[0].claimed_by
        async with self.work_pool.acquire() as conn:
            rows = await conn.fetch(
                EXTEND, [c.delivery_id for c in claims], lease, [c.attempt for c in claims], worker
            )
        extended = [row[0] for row in rows]
        _stale_settle("extend", claims, len(extended))
        return extended

    async def seconds_until_due(self, subscriptions: Sequence[SubscriptionRef]) -> float | None:
        async with self.work_pool.acquire() as conn:
            value = await conn.fetchval(SECONDS_UNTIL_DUE, [s.id for s in subscriptions])
        return None if value is None else max(0.0, float(value))

    async def follow_start(self) -> object:
        async with self.work_pool.acquire() as conn:
            return str(await conn.fetchval(FOLLOW_START))

    async def follow(self, position: object, patterns: Sequence[str]) -> tuple[list[ClaimedDelivery], object]:
        async with self.work_pool.acquire() as conn:
            rows = await conn.fetch(FOLLOW, position, [to_regex(p) for p in patterns])
        events = [ClaimedDelivery(0, 0, 1, *row[1:]) for row in rows if row[1] is not None]
        return events, rows[0][0]

    @asynccontextmanager
    async def inbox_transaction(self, subscription: str, event_id: UUID) -> AsyncIterator[Any]:
        async with self.outbox_pool.acquire() as conn, conn.transaction():
            recorded = await conn.fetchval(
                "INSERT INTO event_inbox (subscription, event_id) VALUES ($1, $2) "
                "ON CONFLICT DO NOTHING RETURNING true",
                subscription,
                event_id,
            )
            if not recorded:
                raise AlreadyHandled()
            yield conn
