"""Operations on a running bus: look at events, repair deliveries, replay history.

These are the functions behind `buildify-events` and, on core, the admin HTTP API of the bus
dashboard. Each takes an asyncpg pool or connection, returns msgspec Structs (so a CLI can
print them as a table or JSON, and a Litestar controller can return them as they are), and
takes the tenant an administrator is limited to as a parameter (`tenant=None`: a platform
operator, every tenant). Actions that change deliveries (replay, redrive, purge) are written
to `event_ops_audit` in the same transaction as the change; dry runs change nothing at all.

All statements are set-based: replay moves a batch of events into the delivery tables with
one `INSERT ... SELECT ... ON CONFLICT DO UPDATE`, and its checkpoint moves in that same
statement, so a replay cut short resumes after the last batch that committed.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, cast
from uuid import UUID

import asyncpg
import msgspec

from broker.errors import BrokerError, BusUnavailable
from broker.patterns import to_regex
from broker.upcasting import UpcastError, Upcasters
from contracts.ids import uuid7

Db = asyncpg.Pool | asyncpg.Connection


# -- errors ---------------------------------------------------------------------------------


class OpsError(BrokerError):
    """The bus operation could not be carried out."""


class UnknownSubscription(OpsError):
    """No subscription has that name."""


class InactiveSubscription(OpsError):
    """The subscription is inactive: no worker would deliver to it."""


class UnknownEvent(OpsError):
    """No event has that id (it may have passed its retention)."""


class UnknownDeadLetter(OpsError):
    """No dead letter has that id."""


class UnknownReplay(OpsError):
    """No replay run has that id."""


class EmptySelection(OpsError):
    """Nothing matches the selection."""


class OutOfScope(OpsError):
    """The selection reaches outside the tenant this administrator may act on."""


class SchemaMissing(OpsError):
    """The bus tables are missing from this database: run the migrations first."""


# -- selections -------------------------------------------------------------------------------


class EventFilter(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Which events: every field narrows the selection; none at all means every event.

    Times compare with `recorded_at` (when the event reached the bus), which is indexed and
    within milliseconds of `occurred_at` for a healthy relay.
    """

    pattern: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    tenant_id: UUID | None = None
    company_id: UUID | None = None
    source: str | None = None
    event_ids: tuple[UUID, ...] = ()

    def params(self) -> tuple[Any, ...]:
        """The seven parameters of `_EVENT_FILTER`, in order."""
        regex = to_regex(self.pattern) if self.pattern else None
        return (regex, self.since, self.until, self.tenant_id, self.company_id, self.source,
                list(self.event_ids))


class DeadLetterFilter(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Which dead letters: by subscription name, error text, tenant, event pattern or ids.

    Open letters only (not yet redriven) unless `include_redriven`.
    """

    subscription: str | None = None
    error: str | None = None
    tenant_id: UUID | None = None
    pattern: str | None = None
    ids: tuple[int, ...] = ()
    include_redriven: bool = False

    def params(self) -> tuple[Any, ...]:
        """The six parameters of `_DLQ_FILTER`, in order."""
        regex = to_regex(self.pattern) if self.pattern else None
        error = None
        if self.error:
            error = "%" + self.error.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return (self.subscription, error, self.tenant_id, regex, list(self.ids), self.include_redriven)

    @property
    def is_empty(self) -> bool:
        """Whether nothing narrows the selection (a purge then needs an explicit 'all')."""
        return not (self.subscription or self.error or self.tenant_id or self.pattern or self.ids)


def _scoped_events(selection: EventFilter, tenant: UUID | None) -> EventFilter:
    if tenant is None:
        return selection
    if selection.tenant_id not in (None, tenant):
        raise OutOfScope(f"you may act on tenant {tenant} only, not on {selection.tenant_id}")
    return msgspec.structs.replace(selection, tenant_id=tenant)


def _scoped_letters(selection: DeadLetterFilter, tenant: UUID | None) -> DeadLetterFilter:
    if tenant is None:
        return selection
    if selection.tenant_id not in (None, tenant):
        raise OutOfScope(f"you may act on tenant {tenant} only, not on {selection.tenant_id}")
    return msgspec.structs.replace(selection, tenant_id=tenant)


# -- SQL ----------------------------------------------------------------------------------------

# $1 type regex, $2 since, $3 until, $4 tenant, $5 company, $6 source, $7 event ids. The time
# bounds are COALESCEd rather than OR-ed with IS NULL so that a generic plan still uses the index.
_EVENT_FILTER = """
    e.recorded_at >= COALESCE($2::timestamptz, '-infinity')
    AND e.recorded_at < COALESCE($3::timestamptz, 'infinity')
    AND ($1::text IS NULL OR ('.' || e.event_type) ~ $1::text)
    AND ($4::uuid IS NULL OR e.tenant_id = $4::uuid)
    AND ($5::uuid IS NULL OR e.company_id = $5::uuid)
    AND ($6::text IS NULL OR e.source = $6::text)
    AND (cardinality($7::uuid[]) = 0 OR e.id = ANY($7::uuid[]))
"""

_EVENT_COLUMNS = """e.id, e.event_type, e.source, e.tenant_id, e.company_id, e.ordering_key, e.occurred_at,
    e.recorded_at, e.correlation_id, e.causation_id, e.version"""

LIST_EVENTS = f"""
WITH page AS (
    SELECT {_EVENT_COLUMNS}
    FROM events e
    WHERE {_EVENT_FILTER}
    ORDER BY e.recorded_at DESC, e.id DESC
    LIMIT $8
)
SELECT page.*, c.pending, c.done, c.dead
FROM page CROSS JOIN LATERAL (
    SELECT count(*) FILTER (WHERE d.status = 'pending') AS pending,
           count(*) FILTER (WHERE d.status = 'done') AS done,
           count(*) FILTER (WHERE d.status = 'dead') AS dead
    FROM event_deliveries d WHERE d.event_id = page.id
) c
ORDER BY page.recorded_at DESC, page.id DESC
"""

# Tail reads a little behind its cursor (the caller dedupes by id), because sequence and
# clock order is not commit order: an event recorded a moment earlier may commit later.
TAIL_EVENTS = f"""
SELECT {_EVENT_COLUMNS}, e.payload::text
FROM events e
WHERE {_EVENT_FILTER} AND e.recorded_at >= $8
ORDER BY e.recorded_at, e.id
LIMIT $9
"""

GET_EVENT = f"SELECT {_EVENT_COLUMNS}, e.payload::text AS payload, e.expires_at FROM events e WHERE e.id = $1"

EVENT_DELIVERIES = """
SELECT d.id, s.name AS subscription, d.status, d.attempts, d.priority, d.available_at, d.locked_by,
       d.last_error, d.created_at, d.finished_at
FROM event_deliveries d JOIN event_subscriptions s ON s.id = d.subscription_id
WHERE d.event_id = $1
ORDER BY s.name
"""

_LETTER_COLUMNS = """dl.id, s.name AS subscription, dl.event_id, e.event_type, e.tenant_id, dl.attempts,
    dl.reason, dl.error, dl.failed_at, dl.redriven_at, dl.redriven_by"""

EVENT_DEAD_LETTERS = f"""
SELECT {_LETTER_COLUMNS}, dl.traceback
FROM event_dead_letters dl JOIN event_subscriptions s ON s.id = dl.subscription_id
LEFT JOIN events e ON e.id = dl.event_id
WHERE dl.event_id = $1
ORDER BY dl.failed_at
"""

SUBSCRIPTION_BY_NAME = """
SELECT id, name, is_active, event_pattern FROM event_subscriptions WHERE name = $1
"""

SUBSCRIPTION_NAMES = "SELECT name FROM event_subscriptions WHERE id = ANY($1::bigint[]) ORDER BY name"

ACTIVE_SUBSCRIPTIONS = "SELECT id FROM event_subscriptions WHERE is_active ORDER BY id"

SIMILAR_SUBSCRIPTIONS = """
SELECT name FROM event_subscriptions ORDER BY (name ILIKE '%' || $1 || '%') DESC, name LIMIT 5
"""

# $8 subscription ids, $9 the run's upper bound on recorded_at.
REPLAY_COUNT = f"""
SELECT count(DISTINCT e.id) AS events, count(*) AS deliveries
FROM events e JOIN event_subscriptions s
  ON s.id = ANY($8::bigint[]) AND ('.' || e.event_type) ~ s.pattern_regex
WHERE {_EVENT_FILTER} AND e.recorded_at <= $9
"""

REPLAY_SAMPLE = f"""
SELECT e.id, e.event_type, e.tenant_id, e.recorded_at, array_agg(s.name ORDER BY s.name) AS subscriptions
FROM events e JOIN event_subscriptions s
  ON s.id = ANY($8::bigint[]) AND ('.' || e.event_type) ~ s.pattern_regex
WHERE {_EVENT_FILTER} AND e.recorded_at <= $9
GROUP BY e.id
ORDER BY e.recorded_at, e.id
LIMIT $10
"""

START_REPLAY = """
WITH audit AS (
    INSERT INTO event_ops_audit (action, actor, tenant_id, selection, status, run_id)
    VALUES ('replay', $2, $3, $4::jsonb, 'running', $1)
    RETURNING id
)
INSERT INTO event_replay_runs (id, actor, tenant_id, selection, subscription_ids, upper_bound, audit_id)
SELECT $1, $2, $3, $4::jsonb, $5::bigint[], $6, audit.id FROM audit
"""

GET_REPLAY = """
SELECT id, actor, tenant_id, selection::text, subscription_ids, upper_bound, position_at, position_id,
       events, deliveries, status, audit_id, started_at, finished_at
FROM event_replay_runs WHERE id = $1
"""

# One batch of a replay: pick the next events after the checkpoint, make or reset one
# delivery per matching target, close the open dead letters those deliveries supersede, and
# move the checkpoint — one statement, one transaction. The walk is a keyset on the primary
# key (UUIDv7, so roughly publish order), which lets every batch start where the last one
# stopped through the index instead of sorting what is left; `recorded_at <= upper bound`
# freezes the selection at the start of the run. A delivery a worker holds under a live
# lease is left to that worker.
# $8 position (last event id), $9 upper bound, $10 batch size, $11 subscription ids,
# $12 actor (for superseded dead letters), $13 run id.
REPLAY_BATCH = f"""
WITH picked AS (
    SELECT e.id, e.event_type, e.ordering_key, e.recorded_at
    FROM events e
    WHERE {_EVENT_FILTER}
      AND e.id > $8::uuid AND e.recorded_at <= $9
      AND EXISTS (SELECT 1 FROM event_subscriptions t
                  WHERE t.id = ANY($11::bigint[]) AND ('.' || e.event_type) ~ t.pattern_regex)
    ORDER BY e.id
    LIMIT $10
), last AS (
    SELECT recorded_at, id FROM picked ORDER BY id DESC LIMIT 1
), upserted AS (
    INSERT INTO event_deliveries (subscription_id, event_id, priority, ordering_key)
    SELECT s.id, p.id, s.priority, CASE WHEN s.ordered THEN p.ordering_key END
    FROM picked p JOIN event_subscriptions s
      ON s.id = ANY($11::bigint[]) AND ('.' || p.event_type) ~ s.pattern_regex
    ORDER BY p.id, s.id
    ON CONFLICT (subscription_id, event_id) DO UPDATE
        SET status = 'pending', attempts = 0, available_at = now(), locked_by = NULL, last_error = NULL,
            finished_at = NULL, created_at = now(), priority = EXCLUDED.priority
        WHERE NOT (event_deliveries.status = 'pending' AND event_deliveries.locked_by IS NOT NULL
                   AND event_deliveries.available_at > now())
    RETURNING subscription_id, event_id
), superseded AS (
    UPDATE event_dead_letters dl SET redriven_at = now(), redriven_by = $12
    FROM upserted u
    WHERE dl.event_id = u.event_id AND dl.subscription_id = u.subscription_id AND dl.redriven_at IS NULL
    RETURNING 1
), moved AS (
    UPDATE event_replay_runs r
    SET position_at = last.recorded_at, position_id = last.id,
        events = r.events + (SELECT count(*) FROM picked),
        deliveries = r.deliveries + (SELECT count(*) FROM upserted), updated_at = now()
    FROM last
    WHERE r.id = $13
    RETURNING 1
)
SELECT (SELECT count(*) FROM picked) AS events, (SELECT count(*) FROM upserted) AS deliveries,
       (SELECT count(*) FROM superseded) AS superseded, (SELECT count(*) FROM moved) AS moved,
       (SELECT id FROM last) AS position_id
"""

# The planner underestimates how many events pass the pattern test and would rather sort
# what is left of the log than walk the primary key; without a sort it walks the key from the
# checkpoint and stops after one batch, which keeps a long replay linear instead of quadratic.
# The penalty that turns sorting off also inflates the plan's cost past the JIT thresholds,
# and compiling would cost more than the batch itself: JIT goes off too.
REPLAY_PLAN = "SET LOCAL enable_sort = off; SET LOCAL jit = off"

FINISH_REPLAY = """
WITH run AS (
    UPDATE event_replay_runs SET status = $2, finished_at = CASE WHEN $2 = 'done' THEN now() END,
                                 updated_at = now()
    WHERE id = $1
    RETURNING audit_id, deliveries
)
UPDATE event_ops_audit a SET status = $2, affected = run.deliveries, finished_at = now()
FROM run WHERE a.id = run.audit_id
"""

# $1 subscription name, $2 error ILIKE pattern, $3 tenant, $4 type regex, $5 ids, $6 include redriven.
_DLQ_FILTER = """
    ($1::text IS NULL OR s.name = $1::text)
    AND ($2::text IS NULL OR dl.reason ILIKE $2::text OR dl.error ILIKE $2::text)
    AND ($3::uuid IS NULL OR e.tenant_id = $3::uuid)
    AND ($4::text IS NULL OR ('.' || e.event_type) ~ $4::text)
    AND (cardinality($5::bigint[]) = 0 OR dl.id = ANY($5::bigint[]))
    AND ($6::boolean OR dl.redriven_at IS NULL)
"""

DLQ_LIST = f"""
SELECT {_LETTER_COLUMNS}
FROM event_dead_letters dl JOIN event_subscriptions s ON s.id = dl.subscription_id
LEFT JOIN events e ON e.id = dl.event_id
WHERE {_DLQ_FILTER}
ORDER BY dl.failed_at DESC, dl.id DESC
LIMIT $7
"""

DLQ_COUNT = f"""
SELECT count(*) FROM event_dead_letters dl JOIN event_subscriptions s ON s.id = dl.subscription_id
LEFT JOIN events e ON e.id = dl.event_id
WHERE {_DLQ_FILTER}
"""

DLQ_GET = f"""
SELECT {_LETTER_COLUMNS}, dl.traceback
FROM event_dead_letters dl JOIN event_subscriptions s ON s.id = dl.subscription_id
LEFT JOIN events e ON e.id = dl.event_id
WHERE dl.id = $1
"""

# Redrive: the chosen open letters are marked (who, when) and their deliveries set back to
# pending with no attempts, due now — same event id, so inbox-backed handlers stay idempotent.
# Letters whose event has left the log cannot be redriven and are not chosen.
# $7 actor, then the audit row: $8 tenant, $9 selection.
DLQ_REDRIVE = f"""
WITH chosen AS (
    SELECT dl.id, dl.subscription_id, dl.event_id, s.priority, s.ordered, e.ordering_key
    FROM event_dead_letters dl JOIN event_subscriptions s ON s.id = dl.subscription_id
    JOIN events e ON e.id = dl.event_id
    WHERE {_DLQ_FILTER} AND dl.redriven_at IS NULL
    FOR UPDATE OF dl SKIP LOCKED
), marked AS (
    UPDATE event_dead_letters dl SET redriven_at = now(), redriven_by = $7
    FROM chosen c WHERE dl.id = c.id
    RETURNING dl.id
), reset AS (
    INSERT INTO event_deliveries (subscription_id, event_id, priority, ordering_key)
    SELECT DISTINCT ON (c.subscription_id, c.event_id)
           c.subscription_id, c.event_id, c.priority, CASE WHEN c.ordered THEN c.ordering_key END
    FROM chosen c
    ORDER BY c.subscription_id, c.event_id
    ON CONFLICT (subscription_id, event_id) DO UPDATE
        SET status = 'pending', attempts = 0, available_at = now(), locked_by = NULL, last_error = NULL,
            finished_at = NULL, created_at = now()
    RETURNING 1
), audit AS (
    INSERT INTO event_ops_audit (action, actor, tenant_id, selection, affected, finished_at)
    SELECT 'redrive', $7, $8, $9::jsonb, count(*), now() FROM marked
    RETURNING id
)
SELECT (SELECT count(*) FROM marked) AS letters, (SELECT count(*) FROM reset) AS deliveries,
       (SELECT id FROM audit) AS audit_id
"""

# Purge: the letters go, and with them their dead deliveries, so cleanup may then let the
# events expire. $7 actor, $8 tenant, $9 selection.
DLQ_PURGE = f"""
WITH chosen AS (
    SELECT dl.id, dl.subscription_id, dl.event_id
    FROM event_dead_letters dl JOIN event_subscriptions s ON s.id = dl.subscription_id
    LEFT JOIN events e ON e.id = dl.event_id
    WHERE {_DLQ_FILTER}
    FOR UPDATE OF dl SKIP LOCKED
), gone AS (
    DELETE FROM event_dead_letters dl USING chosen c WHERE dl.id = c.id RETURNING dl.id
), dead AS (
    DELETE FROM event_deliveries d USING chosen c
    WHERE d.subscription_id = c.subscription_id AND d.event_id = c.event_id AND d.status = 'dead'
    RETURNING 1
), audit AS (
    INSERT INTO event_ops_audit (action, actor, tenant_id, selection, affected, finished_at)
    SELECT 'purge', $7, $8, $9::jsonb, count(*), now() FROM gone
    RETURNING id
)
SELECT (SELECT count(*) FROM gone) AS letters, (SELECT count(*) FROM dead) AS deliveries,
       (SELECT id FROM audit) AS audit_id
"""

# $1 window seconds, $2 tenant.
STATS_TOTALS = """
SELECT
    (SELECT count(*) FROM events e WHERE e.recorded_at >= now() - make_interval(secs => $1)
        AND ($2::uuid IS NULL OR e.tenant_id = $2)) AS events,
    (SELECT count(*) FROM event_deliveries d WHERE d.status = 'done'
        AND d.finished_at >= now() - make_interval(secs => $1)
        AND ($2::uuid IS NULL
             OR EXISTS (SELECT 1 FROM events e WHERE e.id = d.event_id AND e.tenant_id = $2)))
        AS delivered,
    (SELECT count(*) FROM event_deliveries d WHERE d.status = 'done' AND d.attempts > 1
        AND d.finished_at >= now() - make_interval(secs => $1)
        AND ($2::uuid IS NULL
             OR EXISTS (SELECT 1 FROM events e WHERE e.id = d.event_id AND e.tenant_id = $2)))
        AS delivered_after_retry,
    (SELECT count(*) FROM event_dead_letters dl WHERE dl.failed_at >= now() - make_interval(secs => $1)
        AND ($2::uuid IS NULL
             OR EXISTS (SELECT 1 FROM events e WHERE e.id = dl.event_id AND e.tenant_id = $2)))
        AS dead_lettered
"""

STATS_TYPES = """
SELECT e.event_type, count(*) AS events
FROM events e
WHERE e.recorded_at >= now() - make_interval(secs => $1) AND ($2::uuid IS NULL OR e.tenant_id = $2)
GROUP BY e.event_type
ORDER BY events DESC, e.event_type
LIMIT 20
"""

STATS_SUBSCRIPTIONS = """
SELECT s.name, s.module_name, s.event_pattern, s.is_active, s.priority, s.last_seen_at,
       s.retired_at IS NOT NULL AS retired,
       s.is_active AND s.callback_url IS NULL
           AND (s.last_seen_at IS NULL OR s.last_seen_at < now() - make_interval(secs => $2)) AS unserved,
       p.pending, p.due, p.in_flight, p.retrying, p.oldest_pending_seconds, dl.dead_letters
FROM event_subscriptions s
CROSS JOIN LATERAL (
    SELECT count(*) AS pending,
           count(*) FILTER (WHERE d.available_at <= now()) AS due,
           count(*) FILTER (WHERE d.locked_by IS NOT NULL AND d.available_at > now()) AS in_flight,
           count(*) FILTER (WHERE d.attempts > 0 AND d.locked_by IS NULL) AS retrying,
           EXTRACT(EPOCH FROM now() - min(d.created_at))::float8 AS oldest_pending_seconds
    FROM event_deliveries d
    WHERE d.subscription_id = s.id AND d.status = 'pending'
      AND ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM events e WHERE e.id = d.event_id AND e.tenant_id = $1))
) p
CROSS JOIN LATERAL (
    SELECT count(*) AS dead_letters FROM event_dead_letters l
    WHERE l.subscription_id = s.id AND l.redriven_at IS NULL
      AND ($1::uuid IS NULL OR EXISTS (SELECT 1 FROM events e WHERE e.id = l.event_id AND e.tenant_id = $1))
) dl
ORDER BY s.name
"""

OUTBOX_EXISTS = "SELECT to_regclass('bus_outbox') IS NOT NULL"

STATS_OUTBOX = """
SELECT count(*) AS rows, EXTRACT(EPOCH FROM now() - min(occurred_at))::float8 AS oldest_seconds
FROM bus_outbox
"""

LIST_AUDIT = """
SELECT id, action, actor, tenant_id, selection::text, affected, status, run_id, started_at, finished_at
FROM event_ops_audit
WHERE ($1::uuid IS NULL OR tenant_id = $1)
ORDER BY started_at DESC, id DESC
LIMIT $2
"""


# -- results --------------------------------------------------------------------------------


class EventSummary(msgspec.Struct, frozen=True, kw_only=True):
    """One line of `list`: the envelope and how its deliveries stand."""

    id: UUID
    type: str
    source: str
    tenant_id: UUID | None
    company_id: UUID | None
    ordering_key: str | None
    occurred_at: datetime
    recorded_at: datetime
    correlation_id: UUID | None
    causation_id: UUID | None
    version: int
    pending: int = 0
    done: int = 0
    dead: int = 0


class DeliveryInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A delivery of one event to one subscription, as an operator needs to see it."""

    id: int
    subscription: str
    status: str
    attempts: int
    priority: int
    available_at: datetime
    locked_by: str | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


class DeadLetter(msgspec.Struct, frozen=True, kw_only=True):
    """A delivery that gave up, with why; `traceback` only on `show`."""

    id: int
    subscription: str
    event_id: UUID
    event_type: str | None
    tenant_id: UUID | None
    attempts: int
    reason: str
    error: str | None
    failed_at: datetime
    redriven_at: datetime | None
    redriven_by: str | None
    traceback: str | None = None


class EventDetail(msgspec.Struct, frozen=True, kw_only=True):
    """Everything about one event: envelope, payload as stored and as today's code reads it."""

    event: EventSummary
    expires_at: datetime
    payload: Any
    current_version: int | None = None
    current_payload: Any = None
    upcast_error: str | None = None
    deliveries: list[DeliveryInfo] = []
    dead_letters: list[DeadLetter] = []


class TailedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event as `tail` prints it."""

    event: EventSummary
    payload: Any


class SubscriptionStats(msgspec.Struct, frozen=True, kw_only=True):
    """How one subscription is keeping up."""

    name: str
    module: str
    pattern: str
    active: bool
    priority: int
    pending: int
    due: int
    in_flight: int
    retrying: int
    oldest_pending_seconds: float | None
    dead_letters: int
    last_seen_at: datetime | None = None  # when a running process last said it serves this
    unserved: bool = False  # active, yet no running process has served it lately
    retired: bool = False  # switched off by an operator; processes declaring it leave it off


class TypeCount(msgspec.Struct, frozen=True):
    """Events of one type in the window."""

    event_type: str
    events: int


class Stats(msgspec.Struct, frozen=True, kw_only=True):
    """The bus at a glance: rates over `window_seconds`, backlog now."""

    window_seconds: float
    events: int
    events_per_second: float
    delivered: int
    delivered_per_second: float
    delivered_after_retry: int
    dead_lettered: int
    pending: int
    retrying: int
    oldest_pending_seconds: float | None
    dead_letters_open: int
    outbox_rows: int | None
    outbox_oldest_seconds: float | None
    types: list[TypeCount]
    subscriptions: list[SubscriptionStats]
    unserved: list[str] = []  # names of active subscriptions no running process serves


class ReplaySample(msgspec.Struct, frozen=True, kw_only=True):
    """An event a replay would send, and where to."""

    id: UUID
    type: str
    tenant_id: UUID | None
    recorded_at: datetime
    subscriptions: list[str]


class ReplayResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a replay sent (or, on a dry run, would send)."""

    run_id: UUID | None
    dry_run: bool
    selection: EventFilter
    subscriptions: list[str]
    upper_bound: datetime
    events: int
    deliveries: int
    status: str
    seconds: float = 0.0
    sample: list[ReplaySample] = []


class ReplayProgress(msgspec.Struct, frozen=True, kw_only=True):
    """Where a running replay is, passed to `on_progress` after each batch."""

    run_id: UUID
    events: int
    deliveries: int
    total_events: int


class DlqActionResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a redrive or purge did (or, on a dry run, would do)."""

    action: str
    dry_run: bool
    selection: DeadLetterFilter
    letters: int
    deliveries: int
    audit_id: int | None = None
    sample: list[DeadLetter] = []


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One recorded replay, redrive or purge."""

    id: int
    action: str
    actor: str
    tenant_id: UUID | None
    selection: Any
    affected: int
    status: str
    run_id: UUID | None
    started_at: datetime
    finished_at: datetime | None


# -- plumbing -----------------------------------------------------------------------------------


@asynccontextmanager
async def _connection(db: Db) -> AsyncIterator[asyncpg.Connection]:
    """A connection from a pool, or the connection itself; driver failures become ours."""
    try:
        if isinstance(db, asyncpg.Pool):
            async with db.acquire() as conn:
                yield cast(asyncpg.Connection, conn)
        else:
            yield db
    except asyncpg.UndefinedTableError as exc:
        raise SchemaMissing(f"{SchemaMissing.__doc__} ({exc})") from exc
    except (OSError, asyncpg.InterfaceError, asyncpg.exceptions.ConnectionDoesNotExistError) as exc:
        raise BusUnavailable(f"lost the bus database: {exc}") from exc


def _json(text: str | None) -> Any:
    return None if text is None else msgspec.json.decode(text)


def _summary(row: asyncpg.Record) -> EventSummary:
    return EventSummary(
        id=row["id"], type=row["event_type"], source=row["source"], tenant_id=row["tenant_id"],
        company_id=row["company_id"], ordering_key=row["ordering_key"], occurred_at=row["occurred_at"],
        recorded_at=row["recorded_at"], correlation_id=row["correlation_id"],
        causation_id=row["causation_id"], version=row["version"],
        pending=row.get("pending") or 0, done=row.get("done") or 0, dead=row.get("dead") or 0,
    )


def _letter(row: asyncpg.Record) -> DeadLetter:
    return DeadLetter(
        id=row["id"], subscription=row["subscription"], event_id=row["event_id"],
        event_type=row["event_type"], tenant_id=row["tenant_id"], attempts=row["attempts"],
        reason=row["reason"], error=row["error"], failed_at=row["failed_at"],
        redriven_at=row["redriven_at"], redriven_by=row["redriven_by"], traceback=row.get("traceback"),
    )


# -- reading ----------------------------------------------------------------------------------


async def list_events(
    db: Db, selection: EventFilter | None = None, *, limit: int = 50, tenant: UUID | None = None
) -> list[EventSummary]:
    """The newest events matching `selection`, with delivery counts, newest first.

    The counts (pending / done / dead per event) are what tells an operator at a glance
    whether an event reached everyone it should have.
    """
    selection = _scoped_events(selection or EventFilter(), tenant)
    async with _connection(db) as conn:
        rows = await conn.fetch(LIST_EVENTS, *selection.params(), limit)
    return [_summary(row) for row in rows]


async def show_event(
    db: Db, event_id: UUID, *, upcasters: Upcasters | None = None, tenant: UUID | None = None
) -> EventDetail:
    """One event with its deliveries, attempts, last errors and dead letters.

    With `upcasters`, also the payload as today's handlers would decode it, which is the
    first thing to check when an old event dead-letters with a decoding error.
    """
    async with _connection(db) as conn:
        row = await conn.fetchrow(GET_EVENT, event_id)
        if row is None or (tenant is not None and row["tenant_id"] != tenant):
            raise UnknownEvent(f"no event {event_id} (it may have passed its retention)")
        deliveries = await conn.fetch(EVENT_DELIVERIES, event_id)
        letters = await conn.fetch(EVENT_DEAD_LETTERS, event_id)
    payload = _json(row["payload"])
    current_version = current_payload = upcast_error = None
    if upcasters is not None:
        try:
            current_version, text = upcasters.upcast_json(row["event_type"], row["version"], row["payload"])
            current_payload = _json(text)
        except UpcastError as exc:
            upcast_error = str(exc)
    return EventDetail(
        event=_summary(row),
        expires_at=row["expires_at"],
        payload=payload,
        current_version=current_version,
        current_payload=current_payload,
        upcast_error=upcast_error,
        deliveries=[DeliveryInfo(**dict(d)) for d in deliveries],
        dead_letters=[_letter(d) for d in letters],
    )


async def tail_events(
    db: Db,
    since: datetime,
    selection: EventFilter | None = None,
    *,
    limit: int = 500,
    tenant: UUID | None = None,
) -> list[TailedEvent]:
    """Events recorded at or after `since`, oldest first, for a live view.

    The caller keeps a set of ids already shown and asks again from a little before the
    newest one it saw, because an event may commit after a later-recorded one.
    """
    selection = _scoped_events(selection or EventFilter(), tenant)
    async with _connection(db) as conn:
        rows = await conn.fetch(TAIL_EVENTS, *selection.params(), since, limit)
    return [TailedEvent(event=_summary(row), payload=_json(row["payload"])) for row in rows]


async def stats(
    db: Db, *, window: float = 300.0, tenant: UUID | None = None, unserved_after: float = 90.0
) -> Stats:
    """Rates over the last `window` seconds and the backlog of every subscription.

    Backlog is what grows when a consumer is down or slow; the oldest pending age says how
    far behind it is; open dead letters are what needs a person. A subscription is
    `unserved` when it is active but no process has marked it served for `unserved_after`
    seconds (worker processes mark theirs every `BusSettings.heartbeat_interval`): its
    events wait for a process that may never come back, until someone retires it.
    """
    async with _connection(db) as conn:
        totals = await conn.fetchrow(STATS_TOTALS, window, tenant)
        types = await conn.fetch(STATS_TYPES, window, tenant)
        subs = await conn.fetch(STATS_SUBSCRIPTIONS, tenant, unserved_after)
        outbox_rows = outbox_oldest = None
        if tenant is None and await conn.fetchval(OUTBOX_EXISTS):
            outbox = await conn.fetchrow(STATS_OUTBOX)
            assert outbox is not None
            outbox_rows, outbox_oldest = int(outbox["rows"]), outbox["oldest_seconds"]
    assert totals is not None
    subscriptions = [
        SubscriptionStats(
            name=r["name"], module=r["module_name"], pattern=r["event_pattern"], active=r["is_active"],
            priority=r["priority"], pending=r["pending"], due=r["due"], in_flight=r["in_flight"],
            retrying=r["retrying"], oldest_pending_seconds=r["oldest_pending_seconds"],
            dead_letters=r["dead_letters"], last_seen_at=r["last_seen_at"], unserved=r["unserved"],
            retired=r["retired"],
        )
        for r in subs
    ]
    ages = [s.oldest_pending_seconds for s in subscriptions if s.oldest_pending_seconds is not None]
    return Stats(
        window_seconds=window,
        events=totals["events"],
        events_per_second=round(totals["events"] / window, 3),
        delivered=totals["delivered"],
        delivered_per_second=round(totals["delivered"] / window, 3),
        delivered_after_retry=totals["delivered_after_retry"],
        dead_lettered=totals["dead_lettered"],
        pending=sum(s.pending for s in subscriptions),
        retrying=sum(s.retrying for s in subscriptions),
        oldest_pending_seconds=max(ages) if ages else None,
        dead_letters_open=sum(s.dead_letters for s in subscriptions),
        outbox_rows=outbox_rows,
        outbox_oldest_seconds=outbox_oldest,
        types=[TypeCount(r["event_type"], r["events"]) for r in types],
        subscriptions=subscriptions,
        unserved=[s.name for s in subscriptions if s.unserved],
    )


RETIRE = """
UPDATE event_subscriptions
SET is_active = $2, retired_at = CASE WHEN $2 THEN NULL ELSE now() END, updated_at = now()
WHERE name = $1
RETURNING (SELECT count(*) FROM event_deliveries d
           WHERE d.subscription_id = event_subscriptions.id AND d.status = 'pending')
"""


async def retire_subscription(db: Db, name: str, *, active: bool = False) -> int:
    """Switch a subscription off (or on again, `active=True`); returns its pending deliveries.

    Retiring is an operator's decision, never a side effect of a process starting: a retired
    subscription gets no new deliveries, its pending ones stay (replay or purge them), and
    processes that still declare it do not serve it until it is activated again.
    """
    async with _connection(db) as conn:
        pending = await conn.fetchval(RETIRE, name, active)
    if pending is None:
        raise UnknownSubscription(f"no subscription is named {name!r}")
    return int(pending)


def export_gauges(snapshot: Stats) -> None:
    """Copy a `stats` snapshot into the Prometheus backlog gauges.

    Backlog lives in the database, not in any one process's counters, so a service's
    `/metrics` (or a periodic task) calls `stats` and then this to publish it.
    """
    from broker import metrics

    for sub in snapshot.subscriptions:
        metrics.backlog.labels(sub.name).set(sub.pending)


async def list_audit(db: Db, *, limit: int = 50, tenant: UUID | None = None) -> list[AuditEntry]:
    """The latest replays, redrives and purges: who did what to which selection."""
    async with _connection(db) as conn:
        rows = await conn.fetch(LIST_AUDIT, tenant, limit)
    return [AuditEntry(**{**dict(r), "selection": _json(r["selection"])}) for r in rows]


# -- replay -------------------------------------------------------------------------------------


async def _subscription_ids(
    conn: asyncpg.Connection, subscription: str | None
) -> tuple[list[int], list[str]]:
    if subscription is None:
        ids = [int(r["id"]) for r in await conn.fetch(ACTIVE_SUBSCRIPTIONS)]
        return ids, []
    row = await conn.fetchrow(SUBSCRIPTION_BY_NAME, subscription)
    if row is None:
        similar = [r["name"] for r in await conn.fetch(SIMILAR_SUBSCRIPTIONS, subscription)]
        hint = f"; known subscriptions include: {', '.join(similar)}" if similar else "; there are none"
        raise UnknownSubscription(f"no subscription named {subscription!r}{hint}")
    if not row["is_active"]:
        raise InactiveSubscription(
            f"subscription {subscription!r} is inactive (its module no longer declares it): "
            "no worker would deliver a replay to it"
        )
    return [int(row["id"])], [row["name"]]


async def _names(conn: asyncpg.Connection, ids: list[int]) -> list[str]:
    rows = await conn.fetch(SUBSCRIPTION_NAMES, ids)
    return [r["name"] for r in rows]


async def replay(
    db: Db,
    selection: EventFilter | None = None,
    *,
    actor: str,
    subscription: str | None = None,
    dry_run: bool = False,
    batch_size: int = 5000,
    rate: float | None = None,
    resume: UUID | None = None,
    run_id: UUID | None = None,
    tenant: UUID | None = None,
    sample_size: int = 20,
    on_progress: Callable[[ReplayProgress], None] | None = None,
) -> ReplayResult:
    """Deliver past events again: to one subscription, or to every active one they match.

    Each chosen (subscription, event) delivery is created, or reset to pending with no
    attempts if it exists; the event keeps its id, so handlers that record it in their inbox
    skip what they already applied. The selection is frozen at the start (events recorded
    later are not part of it) and each batch commits with its checkpoint, so an interrupted
    replay continues with `resume=<run id>` exactly where it stopped.

    Args:
        selection: which events (pattern, time range, tenant, company, source, ids).
        actor: who asked, for the audit table.
        subscription: the one subscription to deliver to; None for all matching active ones.
        dry_run: count and sample what would be sent, change nothing.
        batch_size: events per statement and transaction.
        rate: at most this many events per second (None: as fast as the database goes).
        resume: the run id of an interrupted replay; `selection` and `subscription` are then
            taken from that run.
        run_id: the id to give a new run (so a caller can show it before the first batch).
        tenant: the tenant the caller is limited to (None: platform operator).
        on_progress: called after each batch, for a progress bar.

    Raises:
        InvalidPattern, UnknownSubscription, InactiveSubscription, EmptySelection,
        OutOfScope, UnknownReplay.
    """
    started = time.perf_counter()
    async with _connection(db) as conn:
        if resume is not None:
            run = await conn.fetchrow(GET_REPLAY, resume)
            if run is None or (tenant is not None and run["tenant_id"] != tenant):
                raise UnknownReplay(f"no replay run {resume}")
            if run["status"] == "done":
                raise OpsError(f"replay {resume} already finished ({run['deliveries']} deliveries)")
            selection = msgspec.json.decode(run["selection"], type=EventFilter)
            ids = list(run["subscription_ids"])
            upper = run["upper_bound"]
            run_id = resume
            position: UUID | None = run["position_id"]
            done_events, done_deliveries = int(run["events"]), int(run["deliveries"])
        else:
            selection = _scoped_events(selection or EventFilter(), tenant)
            selection.params()  # validates the pattern before anything else
            ids, _ = await _subscription_ids(conn, subscription)
            upper = await conn.fetchval("SELECT now()")
            run_id = run_id or uuid7()
            position = None
            done_events = done_deliveries = 0
        names = await _names(conn, ids)
        params = selection.params()
        if not ids:
            raise EmptySelection("there is no active subscription to replay into")
        count = await conn.fetchrow(REPLAY_COUNT, *params, ids, upper)
        assert count is not None
        total_events = int(count["events"])
        if total_events == 0 and resume is None:
            raise EmptySelection(f"no event matches {_describe(selection)} for {', '.join(names)}")
        if dry_run:
            rows = await conn.fetch(REPLAY_SAMPLE, *params, ids, upper, sample_size)
            return ReplayResult(
                run_id=None, dry_run=True, selection=selection, subscriptions=names, upper_bound=upper,
                events=total_events, deliveries=int(count["deliveries"]), status="dry-run",
                seconds=time.perf_counter() - started,
                sample=[ReplaySample(id=r["id"], type=r["event_type"], tenant_id=r["tenant_id"],
                                     recorded_at=r["recorded_at"], subscriptions=list(r["subscriptions"]))
                        for r in rows],
            )
        if resume is None:
            await conn.execute(START_REPLAY, run_id, actor, tenant, msgspec.json.encode(selection).decode(),
                               ids, upper)
        else:
            await conn.execute("UPDATE event_replay_runs SET status = 'running' WHERE id = $1", run_id)
        if resume is not None:
            # The count above is the whole selection; the run already did part of it.
            total_events = max(total_events, done_events)

    # Under a rate limit, batches hold a tenth of a second's worth, so the pace stays even.
    step = max(1, min(batch_size, int(rate / 10))) if rate else batch_size
    status = "interrupted"
    try:
        while True:
            batch_started = time.perf_counter()
            async with _connection(db) as conn, conn.transaction():
                await conn.execute(REPLAY_PLAN)
                row = await conn.fetchrow(
                    REPLAY_BATCH, *params, position or UUID(int=0), upper, step, ids, f"replay:{actor}", run_id
                )
                assert row is not None
            if row["events"]:
                position = row["position_id"]
            picked = int(row["events"])
            done_events += picked
            done_deliveries += int(row["deliveries"])
            if on_progress is not None:
                on_progress(ReplayProgress(run_id=run_id, events=done_events, deliveries=done_deliveries,
                                           total_events=total_events))
            if picked < step:
                break
            if rate:
                pause = picked / rate - (time.perf_counter() - batch_started)
                if pause > 0:
                    await asyncio.sleep(pause)
        status = "done"
    finally:
        async with _connection(db) as conn:
            await conn.execute(FINISH_REPLAY, run_id, status)
    return ReplayResult(
        run_id=run_id, dry_run=False, selection=selection, subscriptions=names, upper_bound=upper,
        events=done_events, deliveries=done_deliveries, status=status, seconds=time.perf_counter() - started,
    )


def _describe(selection: EventFilter) -> str:
    parts = [f"{k}={v}" for k, v in msgspec.structs.asdict(selection).items() if v not in (None, ())]
    return "the selection (" + ", ".join(parts) + ")" if parts else "the selection (everything)"


# -- dead letters -------------------------------------------------------------------------------


async def dlq_list(
    db: Db, selection: DeadLetterFilter | None = None, *, limit: int = 50, tenant: UUID | None = None
) -> list[DeadLetter]:
    """Dead letters, newest first: what failed, where, after how many attempts and why."""
    selection = _scoped_letters(selection or DeadLetterFilter(), tenant)
    async with _connection(db) as conn:
        rows = await conn.fetch(DLQ_LIST, *selection.params(), limit)
    return [_letter(r) for r in rows]


async def dlq_show(db: Db, letter_id: int, *, tenant: UUID | None = None) -> DeadLetter:
    """One dead letter with its traceback summary."""
    async with _connection(db) as conn:
        row = await conn.fetchrow(DLQ_GET, letter_id)
    if row is None or (tenant is not None and row["tenant_id"] != tenant):
        raise UnknownDeadLetter(f"no dead letter {letter_id}")
    return _letter(row)


async def _dlq_action(
    db: Db,
    action: str,
    sql: str,
    selection: DeadLetterFilter,
    *,
    actor: str,
    dry_run: bool,
    tenant: UUID | None,
    sample_size: int,
) -> DlqActionResult:
    selection = _scoped_letters(selection, tenant)
    if action == "redrive":
        selection = msgspec.structs.replace(selection, include_redriven=False)
    params = selection.params()
    async with _connection(db) as conn:
        if selection.subscription is not None and await conn.fetchrow(
            SUBSCRIPTION_BY_NAME, selection.subscription
        ) is None:
            await _subscription_ids(conn, selection.subscription)  # raises with the known names
        if dry_run:
            count = int(await conn.fetchval(DLQ_COUNT, *params))
            if count == 0:
                raise EmptySelection(f"no dead letter matches {_describe_letters(selection)}")
            rows = await conn.fetch(DLQ_LIST, *params, sample_size)
            return DlqActionResult(action=action, dry_run=True, selection=selection, letters=count,
                                   deliveries=count, sample=[_letter(r) for r in rows])
        async with conn.transaction():
            row = await conn.fetchrow(sql, *params, actor, tenant, msgspec.json.encode(selection).decode())
            assert row is not None
            if row["letters"] == 0:
                # Roll back the empty audit row: nothing happened, and the caller is told so.
                raise EmptySelection(f"no dead letter matches {_describe_letters(selection)}")
    return DlqActionResult(action=action, dry_run=False, selection=selection, letters=row["letters"],
                           deliveries=row["deliveries"], audit_id=row["audit_id"])


def _describe_letters(selection: DeadLetterFilter) -> str:
    parts = [f"{k}={v}" for k, v in msgspec.structs.asdict(selection).items() if v not in (None, (), False)]
    return "the selection (" + ", ".join(parts) + ")" if parts else "the selection (every open letter)"


async def dlq_redrive(
    db: Db,
    selection: DeadLetterFilter,
    *,
    actor: str,
    dry_run: bool = False,
    tenant: UUID | None = None,
    sample_size: int = 20,
) -> DlqActionResult:
    """Send the chosen open dead letters to their subscriptions again, once more from attempt 1.

    The event keeps its original id (handlers' inboxes recognise it), the letter records who
    redrove it and when, and the audit table gets one row. Usually run after the fix for
    the failure has been deployed.
    """
    return await _dlq_action(db, "redrive", DLQ_REDRIVE, selection, actor=actor, dry_run=dry_run,
                             tenant=tenant, sample_size=sample_size)


async def dlq_purge(
    db: Db,
    selection: DeadLetterFilter,
    *,
    actor: str,
    dry_run: bool = False,
    tenant: UUID | None = None,
    sample_size: int = 20,
) -> DlqActionResult:
    """Discard the chosen dead letters (and their dead deliveries) for good.

    For letters nobody will ever redrive, e.g. events of a deleted test tenant; once gone,
    cleanup lets their events expire. Recorded in the audit table.
    """
    return await _dlq_action(db, "purge", DLQ_PURGE, selection, actor=actor, dry_run=dry_run,
                             tenant=tenant, sample_size=sample_size)
