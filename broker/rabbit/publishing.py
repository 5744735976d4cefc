"""Confirmed publishing to RabbitMQ (persistent, mandatory): the forwarder, the bridge and the
consumer's republishing (to a delay or dead-letter queue) all go through here."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from faststream.rabbit import RabbitBroker, RabbitExchange

from broker.errors import BrokerError
from contracts.envelope import Envelope

PUBLISH_TIMEOUT = 10.0
ATTEMPT_HEADER = "x-buildify-attempt"
MESSAGE_PRIORITY = 5


class Unroutable(BrokerError):
    """RabbitMQ returned the message: no queue is bound for it."""


async def publish_confirmed(
    broker: RabbitBroker,
    body: bytes,
    *,
    exchange: RabbitExchange | None,
    routing_key: str,
    message_id: str | None,
    message_type: str | None,
    headers: dict[str, Any],
    priority: int | None = MESSAGE_PRIORITY,
    content_type: str | None = "application/json",
) -> bool:
    """Publish persistent and mandatory, await the confirm; whether a queue took the message.

    FastStream hands back aio-pika's confirmation frame: `Basic.Ack`, or for a message RabbitMQ
    returned (mandatory, unroutable) the returned message, which carries `delivery` (Basic.Return).
    """
    async with asyncio.timeout(PUBLISH_TIMEOUT):  # a reconnecting channel may wait, not hang
        result = await broker.publish(
            body, exchange=exchange, routing_key=routing_key, mandatory=True, persist=True,
            priority=priority, message_id=message_id, message_type=message_type, headers=headers,
            content_type=content_type, timeout=PUBLISH_TIMEOUT,
        )
    return not _returned(result)


def _returned(result: object) -> bool:
    """Whether a confirmed publish came back returned (mandatory and unroutable), or unconfirmed."""
    return result is None or hasattr(result, "delivery")


def publisher(
    broker: RabbitBroker, exchange: RabbitExchange | None, routing_key: Callable[[Envelope], str]
) -> Callable[[Envelope], Awaitable[bool]]:
    """Publish an envelope with confirms and mandatory=True; the result says whether a queue took it."""

    async def publish(envelope: Envelope) -> bool:
        return await publish_confirmed(
            broker, msgspec.json.encode(envelope), exchange=exchange, routing_key=routing_key(envelope),
            message_id=str(envelope.id), message_type=envelope.type, headers={ATTEMPT_HEADER: 0},
        )

    return publish
