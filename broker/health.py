"""The bus's own health, for a service's /health: events that wait somewhere an operator should know about."""

from typing import Literal

import msgspec


class BusHealth(msgspec.Struct, frozen=True, kw_only=True):
    """`degraded` while events cannot move (RabbitMQ away, forwarding failing); `problems` says why.

    Attributes:
        status: `ok` or `degraded`.
        transport: `postgres`, `rabbitmq` or `memory`.
        problems: one sentence per problem, for a person.
        rabbitmq_connected: whether the RabbitMQ transport is connected with its queues bound
            (None on the other transports).
        forward_failing_attempt: attempt number of the oldest event the forwarder keeps failing
            to publish (0 when forwarding works).
    """

    status: Literal["ok", "degraded"]
    transport: str
    problems: list[str] = msgspec.field(default_factory=list)
    rabbitmq_connected: bool | None = None
    forward_failing_attempt: int = 0
