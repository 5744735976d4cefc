"""Operations on a running bus: look at events, repair deliveries, replay history.

These are the functions behind `buildify-events` and, on core, the admin HTTP API of the bus
dashboard. Each takes an asyncpg pool or connection, returns msgspec Structs (so a CLI can
print them as a table or JSON, and a Litestar controller can return them as they are), and
takes the tenant an administrator is limited to as a parameter (`tenant=None`: a platform
operator, every tenant). Actions that change deliveries (replay, redrive, purge) are written
to `event_ops_audit` in the same transaction as the change; dry runs change nothing at all.

One module per concern (events, stats, subscriptions, replay, dead letters, audit); their
SQL is in broker/sql/queries/, loaded by name (`broker.queries`).
"""

from broker.ops.audit import list_audit
from broker.ops.connection import Db
from broker.ops.dead_letters import dlq_list, dlq_purge, dlq_redrive, dlq_show
from broker.ops.errors import (
    EmptySelection,
    InactiveSubscription,
    OpsError,
    OutOfScope,
    SchemaMissing,
    UnknownDeadLetter,
    UnknownEvent,
    UnknownReplay,
    UnknownSubscription,
)
from broker.ops.events import list_events, show_event, tail_events
from broker.ops.replay import ReplayRequest, replay, run_replay
from broker.ops.results import (
    AuditEntry,
    DeadLetter,
    DeliveryInfo,
    DlqActionResult,
    EventDetail,
    EventSummary,
    ReplayProgress,
    ReplayResult,
    ReplaySample,
    Stats,
    SubscriptionStats,
    TailedEvent,
    TypeCount,
)
from broker.ops.selections import DeadLetterFilter, EventFilter
from broker.ops.stats import export_gauges, stats
from broker.ops.subscriptions import retire_subscription

__all__ = [
    "AuditEntry",
    "Db",
    "DeadLetter",
    "DeadLetterFilter",
    "DeliveryInfo",
    "DlqActionResult",
    "EmptySelection",
    "EventDetail",
    "EventFilter",
    "EventSummary",
    "InactiveSubscription",
    "OpsError",
    "OutOfScope",
    "ReplayProgress",
    "ReplayRequest",
    "ReplayResult",
    "ReplaySample",
    "SchemaMissing",
    "Stats",
    "SubscriptionStats",
    "TailedEvent",
    "TypeCount",
    "UnknownDeadLetter",
    "UnknownEvent",
    "UnknownReplay",
    "UnknownSubscription",
    "dlq_list",
    "dlq_purge",
    "dlq_redrive",
    "dlq_show",
    "export_gauges",
    "list_audit",
    "list_events",
    "replay",
    "retire_subscription",
    "run_replay",
    "show_event",
    "stats",
    "tail_events",
]
