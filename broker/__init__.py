"""Buildify's event bus: transactional outbox on PostgreSQL, pattern subscriptions,
priorities, retries and dead letters.

    bus = EventBus(service="financial", dsn=url)
    bus.include_router(router)           # @router.on("core.company.created", priority=8)
    async with conn.transaction():
        await bus.publish(conn, InvoiceCreated(...), tenant_id=..., company_id=...)
"""

from broker.bus import EventBus
from broker.delivery import Delivery
from broker.errors import (
    AlreadyHandled,
    BrokerError,
    BusUnavailable,
    InvalidEvent,
    InvalidPattern,
    Reject,
    Retry,
)
from broker.health import BusHealth
from broker.patterns import matches, validate_pattern
from broker.retry import RetryPolicy
from broker.router import Router
from broker.settings import BusSettings

__all__ = [
    "AlreadyHandled",
    "BrokerError",
    "BusHealth",
    "BusSettings",
    "BusUnavailable",
    "Delivery",
    "EventBus",
    "InvalidEvent",
    "InvalidPattern",
    "Reject",
    "Retry",
    "RetryPolicy",
    "Router",
    "matches",
    "validate_pattern",
]
