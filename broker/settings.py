"""Bus settings, read from the environment by a service's composition root."""

import os
from dataclasses import dataclass, field, fields, replace
from typing import Any


def _env_bool(value: str) -> bool:
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True, slots=True)
class BusSettings:
    """How a service's bus runs.

    Attributes:
        poll_interval: seconds between polls when no notification arrives (lost NOTIFY only delays).
        listen: wake this process's relay and workers on LISTEN/NOTIFY; off means polling only.
            (A publishing process always sends its NOTIFY after commit, for whoever listens.)
        relay: run a relay in this process.
        workers: number of worker loops in this process (0: publish only).
        relay_batch: outbox rows moved per relay statement.
        worker_batch: deliveries claimed per worker round trip.
        lease: seconds a claimed delivery stays with its worker before another may take it.
            A running handler's lease is extended every `lease / 3` s, up to its timeout.
        handler_timeout: seconds after which a running handler counts as failed (and is
            retried), unless its `@router.on(..., timeout=...)` says otherwise. A handler that
            ignores the cancellation loses its lease, so another worker may take it over.
        heartbeat_interval: seconds between a worker process's "I serve these subscriptions"
            marks; a subscription unmarked for 3 intervals counts as unserved in stats.
        retention: seconds an event stays in the log before cleanup removes it.
        done_retention: seconds a finished delivery is kept for inspection.
        cleanup_interval: seconds between cleanup runs (0: no cleanup in this process).
        unlogged_events: make the `events` log UNLOGGED (faster, emptied by a server crash).
        pool_size: connections in the bus pool.
        callbacks: deliver the callback_url subscriptions of the whole bus from this process.
        transport: `postgres` (the default) or `rabbitmq`: this service's subscriptions are
            consumed from RabbitMQ queues, and a relay process forwards every event to RabbitMQ
            (broker/rabbit/).
        amqp_url: the RabbitMQ URL for `transport="rabbitmq"`.
        amqp_prefix: names the exchange (`<prefix>.events`) and queues (`<prefix>.<subscription>`).
        amqp_prefetch: unacknowledged messages a consuming process holds per channel.
        amqp_start_timeout: seconds `start()` waits for RabbitMQ before going on without it (the
            transport keeps connecting in the background; events wait in Postgres meanwhile).
    """

    poll_interval: float = 1.0
    listen: bool = True
    relay: bool = True
    workers: int = 2
    relay_batch: int = 500
    worker_batch: int = 100
    lease: float = 30.0
    handler_timeout: float = 120.0
    heartbeat_interval: float = 30.0
    retention: float = 7 * 24 * 3600.0
    done_retention: float = 3600.0
    cleanup_interval: float = 60.0
    unlogged_events: bool = False
    pool_size: int = 5
    callbacks: bool = False
    transport: str = "postgres"
    amqp_url: str = ""
    amqp_prefix: str = "buildify"
    amqp_prefetch: int = 100
    amqp_start_timeout: float = 5.0
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_env(cls, prefix: str = "BUS_") -> "BusSettings":
        """Read `BUS_POLL_INTERVAL`, `BUS_LISTEN`, `BUS_WORKERS`, ... over the defaults."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "extra":
                continue
            raw = os.environ.get(prefix + f.name.upper())
            if raw is None:
                continue
            default = getattr(cls(), f.name)
            if isinstance(default, str):
                values[f.name] = raw
            elif isinstance(default, bool):
                values[f.name] = _env_bool(raw)
            elif isinstance(default, int):
                values[f.name] = int(raw)
            else:
                values[f.name] = float(raw)
        return cls(**values)

    def but(self, **changes: Any) -> "BusSettings":
        """A copy with some settings changed."""
        return replace(self, **changes)
