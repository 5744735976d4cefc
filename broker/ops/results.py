"""What operations return: msgspec Structs a CLI prints as a table or JSON and a Litestar
controller returns as they are."""

from datetime import datetime
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from broker.ops.selections import DeadLetterFilter, EventFilter


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
    unserved: bool = False  # active (or on RabbitMQ), yet no running process has served it lately
    retired: bool = False  # switched off by an operator; processes declaring it leave it off
    rabbitmq: bool = False  # consumed over RabbitMQ: off in Postgres (no backlog here), its queue bound


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


def summary_of(row: asyncpg.Record) -> EventSummary:
    """An `EventSummary` from a row of the `event_columns` (and delivery counts, if any)."""
    return EventSummary(
        id=row["id"], type=row["event_type"], source=row["source"], tenant_id=row["tenant_id"],
        company_id=row["company_id"], ordering_key=row["ordering_key"], occurred_at=row["occurred_at"],
        recorded_at=row["recorded_at"], correlation_id=row["correlation_id"],
        causation_id=row["causation_id"], version=row["version"],
        pending=row.get("pending") or 0, done=row.get("done") or 0, dead=row.get("dead") or 0,
    )


def letter_of(row: asyncpg.Record) -> DeadLetter:
    """A `DeadLetter` from a row of the `letter_columns` (and traceback, if any)."""
    return DeadLetter(
        id=row["id"], subscription=row["subscription"], event_id=row["event_id"],
        event_type=row["event_type"], tenant_id=row["tenant_id"], attempts=row["attempts"],
        reason=row["reason"], error=row["error"], failed_at=row["failed_at"],
        redriven_at=row["redriven_at"], redriven_by=row["redriven_by"], traceback=row.get("traceback"),
    )
