"""The Postgres store: outbox, relay, claims and dead letters in SQL.

Every hot-path operation is one statement over a batch (arrays through `unnest`), because
on this kind of machine the Python side, not PostgreSQL, sets the pace.
"""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec
import structlog

from broker import metrics, pool_reset, schema
from broker.context import EnvelopeFields
from broker.context import causation_id as current_causation
from broker.context import correlation_id as current_correlation
from broker.delivery import ClaimedDelivery
from broker.errors import AlreadyHandled, BusUnavailable, InvalidEvent
from broker.inbox_batch import InboxBatch
from broker.patterns import to_regex
from broker.queries import query
from broker.router import Handler
from broker.settings import BusSettings
from broker.store import RELAY_BUSY, HandoffClaim, Relayed, SubscriptionRef
from contracts.envelope import Event, event_type_of
from contracts.ids import uuid7

_encoder = msgspec.json.Encoder(decimal_format="string")
log = structlog.get_logger("broker.postgres")

# The relay lock's key (see the `relay_lock` query): relays take turns, one batch at a time.
RELAY_LOCK_KEY = 0x62_75_73_72_6C  # "busrl"
RELAY_LOCAL = query("relay_local")  # the same-database relay in one statement
_INSERT_ONE = query("insert_one")  # the same text every time: asyncpg prepares it once per connection



# An event class's (type, version), checked once per class: a publish then costs a dict lookup
# instead of an isinstance check and a regular expression match (issue 15: CPU per publish).
_described: dict[type, tuple[str, int]] = {}


def _describe(cls: type) -> tuple[str, int]:
    if not issubclass(cls, Event):
        raise InvalidEvent(f"cannot publish {cls.__name__}: it is not a contracts.Event")
    try:
        described = event_type_of(cls), cls.schema_version
    except TypeError as exc:
        raise InvalidEvent(str(exc)) from exc
    _described[cls] = described
    return described


def encode_event(event: Event) -> tuple[str, int, str]:
    """(type, version, JSON payload) of an event, refusing what is not a tagged Event."""
    cls = type(event)
    event_type, version = _described.get(cls) or _describe(cls)
    return event_type, version, _encoder.encode(event).decode()


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


def _claimed(rows: Sequence[Any], worker_id: str) -> list[ClaimedDelivery]:
    """Claimed deliveries from rows of (the 14 ClaimedDelivery fields, priority), highest
    priority first (the batch's handlers start in that order)."""
    claimed = []
    for row in sorted(rows, key=lambda r: (-r[14], r[0])):
        claim = ClaimedDelivery(*row[:14])
        claim.claimed_by = worker_id
        claimed.append(claim)
    return claimed


def _handed(rows: Sequence[Any] | None, worker_id: str) -> list[ClaimedDelivery]:
    """The deliveries a relay statement created already claimed (its `handed` records)."""
    return _claimed(rows, worker_id) if rows else []


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

    async def publish(self, conn: Any, events: Sequence[Event], fields: EnvelopeFields) -> list[UUID]:
        if not events:
            return []
        if len(events) == 1:
            ids = [await self._publish_one(conn, events[0], fields)]
        else:
            encoded = [encode_event(event) for event in events]
            ids = [uuid7() for _ in events]
            if conn is None:  # one statement, so a transaction of its own without BEGIN and COMMIT round trips
                async with self.outbox_pool.acquire() as own:
                    await self._insert_many(own, ids, encoded, fields.in_context())
                    pool_reset.skip_reset(own)
            else:
                await self._insert_many(conn, ids, encoded, fields.in_context())
        if self.on_publish is not None:
            self.on_publish(conn)
        return ids

    async def _publish_one(self, conn: Any, event: Event, fields: EnvelopeFields) -> UUID:
        """One event, the commonest publish: the envelope's values straight into the statement's
        arguments (no intermediate lists or copies of `fields`), so the CPU a publish costs is
        mostly the round trip's."""
        event_type, version, payload = encode_event(event)
        event_id = uuid7()
        args = (
            event_id, event_type, self.source, fields.tenant_id, fields.company_id, fields.ordering_key,
            datetime.now(UTC), fields.correlation_id or current_correlation.get() or event_id,
            fields.causation_id or current_causation.get(), version, payload,
        )
        if conn is None:  # one statement, so a transaction of its own without BEGIN and COMMIT round trips
            async with self.outbox_pool.acquire() as own:
                await own.execute(_INSERT_ONE, *args)
                pool_reset.skip_reset(own)  # released without the reset query's round trip
        else:
            await conn.execute(_INSERT_ONE, *args)
        return event_id

    async def _insert_many(
        self, conn: Any, ids: list[UUID], encoded: list[tuple[str, int, str]], fields: EnvelopeFields
    ) -> None:
        n = len(ids)
        await conn.execute(
            query("insert_many"),
            ids,
            [e[0] for e in encoded],
            [self.source] * n,
            [fields.tenant_id] * n,
            [fields.company_id] * n,
            [fields.ordering_key] * n,
            [datetime.now(UTC)] * n,
            [fields.correlation_id or event_id for event_id in ids],
            [fields.causation_id] * n,
            [e[1] for e in encoded],
            [e[2] for e in encoded],
        )

    # -- subscriptions --------------------------------------------------------------------

    async def sync_subscriptions(self, module: str, handlers: Sequence[Handler]) -> list[SubscriptionRef]:
        refs = []
        async with self.pool.acquire() as conn, conn.transaction():
            for handler in handlers:
                row = await conn.fetchrow(
                    query("upsert_subscription"),
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
            return [row[0] for row in await conn.fetch(query("retire_declared"), list(names))]

    async def heartbeat(self, subscriptions: Sequence[SubscriptionRef], *, activate: bool = False) -> None:
        """Record that a running process serves these subscriptions (see `ops.stats` unserved);
        with `activate`, switch back on those not retired that something switched off."""
        if subscriptions:
            async with self.work_pool.acquire() as conn:
                await conn.execute(query("heartbeat_subscriptions"), [s.id for s in subscriptions], activate)

    # -- relay ------------------------------------------------------------------------------

    async def relay_batch(self, limit: int) -> int:
        """Move up to `limit` outbox rows onto the bus; returns how many moved, or RELAY_BUSY
        when another relay is at it."""
        return (await self.relay_and_claim(limit, None)).moved

    async def relay_and_claim(self, limit: int, claim: HandoffClaim | None) -> Relayed:
        """`relay_batch`, creating up to `claim.limit` of its deliveries already claimed by
        `claim.worker_id` (the same statement: no claim round trip), highest priority first."""
        handoff: tuple[list[int], int, float, str] = (
            ([], 0, 0.0, "") if claim is None else (claim.subscription_ids, claim.limit, claim.lease, claim.worker_id)
        )
        if self.shared_database:
            async with self.work_pool.acquire() as conn:
                row = await conn.fetchrow(RELAY_LOCAL, limit, self.retention_seconds, RELAY_LOCK_KEY, *handoff)
            assert row is not None
            if not row["locked"]:
                return Relayed(RELAY_BUSY)
            for lag in row["lags"] or ():
                metrics.relay_lag.observe(lag)
            return Relayed(row["moved"], row["fanned"], row["local"], _handed(row["handed"], handoff[3]))
        handed: list[ClaimedDelivery] = []
        try:
            async with self.outbox_pool.acquire() as outbox, outbox.transaction():
                if not await outbox.fetchval(query("relay_lock"), RELAY_LOCK_KEY):
                    return Relayed(RELAY_BUSY)
                rows = await outbox.fetch(query("fetch_outbox"), limit)
                if not rows:
                    return Relayed(0)
                columns = list(zip(*rows, strict=True))
                async with self.pool.acquire() as bus:
                    appended = await bus.fetchrow(query("append_remote"), *columns, self.retention_seconds, *handoff)
                assert appended is not None
                handed = _handed(appended["handed"], handoff[3])
                # The bus side has committed; a crash before this delete re-relays the rows,
                # which ON CONFLICT turns into no-ops.
                await outbox.execute(query("delete_relayed"), list(columns[0]))
                relayed = Relayed(len(rows), appended["fanned"], appended["local"], handed)
        except Exception:
            # The outbox side failed after the bus side committed: the rows are relayed again
            # (no-ops), and the deliveries claimed for this process must not wait out a lease
            # and spend an attempt, as nobody will run them from here.
            if handed:
                with contextlib.suppress(Exception):
                    await self.release(handed)
            raise
        return relayed

    # -- deliveries ---------------------------------------------------------------------------

    async def claim(
        self, subscriptions: Sequence[SubscriptionRef], limit: int, lease: float, worker_id: str
    ) -> list[ClaimedDelivery]:
        ids, priorities = [s.id for s in subscriptions], [s.priority for s in subscriptions]
        while True:
            async with self.work_pool.acquire() as conn:
                rows = await conn.fetch(query("claim_deliveries"), ids, priorities, limit, lease, worker_id)
            buried = sum(row[15] for row in rows)
            if buried:
                log.error("deliveries dead-lettered at claim (event missing, or max attempts used up "
                          "by workers that never settled)", deliveries=buried)
            rows = [row for row in rows if row[0] is not None]
            if rows or not buried:  # a batch of only buried deliveries: claim again, do not stall
                break
        metrics.claimed.inc(len(rows))
        return _claimed(rows, worker_id)

    async def complete(self, claims: Sequence[ClaimedDelivery]) -> None:
        if not claims:
            return
        by_worker: dict[str, list[ClaimedDelivery]] = {}
        for claim in claims:
            by_worker.setdefault(claim.claimed_by, []).append(claim)
        async with self.work_pool.acquire() as conn:
            for worker, own in by_worker.items():
                status = await conn.execute(
                    query("complete_deliveries"), [c.delivery_id for c in own], [c.attempt for c in own], worker
                )
                _stale_settle("complete", own, _count(status))

    async def retry(self, claim: ClaimedDelivery, delay: float, error: str) -> None:
        async with self.work_pool.acquire() as conn:
            status = await conn.execute(
                query("retry_delivery"), claim.delivery_id, delay, error, claim.attempt, claim.claimed_by
            )
        _stale_settle("retry", [claim], _count(status))

    async def dead_letter(self, claim: ClaimedDelivery, reason: str, error: str, traceback: str) -> None:
        async with self.work_pool.acquire() as conn:
            status = await conn.execute(
                query("dead_letter_delivery"), claim.delivery_id, reason, error, traceback, claim.attempt,
                claim.claimed_by,
            )
        _stale_settle("dead-letter", [claim], _count(status))

    async def release(self, claims: Sequence[ClaimedDelivery]) -> None:
        if not claims:
            return
        async with self.work_pool.acquire() as conn:
            await conn.execute(
                query("release_deliveries"), [c.delivery_id for c in claims], [c.attempt for c in claims],
                claims[0].claimed_by,
            )

    async def extend_leases(self, claims: Sequence[ClaimedDelivery], lease: float) -> list[int]:
        if not claims:
            return []
        worker = claims[0].claimed_by
        async with self.work_pool.acquire() as conn:
            rows = await conn.fetch(
                query("extend_leases"), [c.delivery_id for c in claims], lease, [c.attempt for c in claims], worker
            )
        extended = [row[0] for row in rows]
        _stale_settle("extend", claims, len(extended))
        return extended

    async def seconds_until_due(self, subscriptions: Sequence[SubscriptionRef]) -> float | None:
        async with self.work_pool.acquire() as conn:
            value = await conn.fetchval(query("seconds_until_due"), [s.id for s in subscriptions])
        return None if value is None else max(0.0, float(value))

    async def follow_start(self) -> object:
        async with self.work_pool.acquire() as conn:
            return str(await conn.fetchval(query("follow_start")))

    async def follow(self, position: object, patterns: Sequence[str]) -> tuple[list[ClaimedDelivery], object]:
        async with self.work_pool.acquire() as conn:
            rows = await conn.fetch(query("follow"), position, [to_regex(p) for p in patterns])
        events = [ClaimedDelivery(0, 0, 1, *row[1:]) for row in rows if row[1] is not None]
        return events, rows[0][0]

    def inbox_batch(self) -> InboxBatch:
        return InboxBatch(self.outbox_pool)

    @asynccontextmanager
    async def inbox_transaction(self, subscription: str, event_id: UUID) -> AsyncIterator[Any]:
        async with self.outbox_pool.acquire() as conn, conn.transaction():
            recorded = await conn.fetchval(query("record_in_inbox"), subscription, event_id)
            if not recorded:
                raise AlreadyHandled()
            yield conn


async def connect_store(
    dsn: str,
    outbox_dsn: str | None,
    settings: BusSettings,
    *,
    source: str,
    on_publish: Callable[[Any], None] | None = None,
) -> tuple[PostgresStore, list[asyncpg.Pool]]:
    """Open the pools a bus needs, install the bus tables if missing, and return the store on
    them with the pools (for the bus to close). BusUnavailable if the database does not answer."""
    size = settings.pool_size
    pools: list[asyncpg.Pool] = []
    connected = False
    try:
        pool = await asyncpg.create_pool(
            dsn, min_size=1, max_size=max(2, size // 2), command_timeout=60,
            reset=pool_reset.reset_unless_published_only,
        )
        pools.append(pool)
        work_pool = await asyncpg.create_pool(
            dsn, min_size=1, max_size=size, command_timeout=60, server_settings={"synchronous_commit": "off"},
            reset=pool_reset.keep_session,
        )
        pools.append(work_pool)
        outbox_pool = pool
        if outbox_dsn:
            outbox_pool = await asyncpg.create_pool(
                outbox_dsn, min_size=1, max_size=size, command_timeout=60, reset=pool_reset.reset_unless_published_only
            )
            pools.append(outbox_pool)
        connected = True
        async with pool.acquire() as conn:
            if outbox_pool is pool:
                await schema.install(conn, unlogged_events=settings.unlogged_events)
            else:
                await schema.install_bus(conn, unlogged_events=settings.unlogged_events)
        if outbox_pool is not pool:
            async with outbox_pool.acquire() as conn:
                await schema.install_outbox(conn)
    except BaseException as exc:  # close what was opened, whatever went wrong
        for opened in pools:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(opened.close(), 5)
        if not connected and isinstance(exc, OSError | asyncpg.PostgresError):
            raise BusUnavailable(f"cannot reach the bus database: {exc}") from exc
        raise
    store = PostgresStore(
        pool, source=source, work_pool=work_pool, outbox_pool=outbox_pool, shared_database=outbox_pool is pool,
        retention_seconds=settings.retention, on_publish=on_publish,
    )
    return store, pools
