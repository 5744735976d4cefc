"""Confirmed publishing to RabbitMQ (persistent, mandatory): the forwarder, the bridge and the
consumer's republishing (to a delay or dead-letter queue) all go through here.

The frame goes out through aiormq on FastStream's own channel (the broker's default channel, with
publisher confirms), not through `broker.publish`: FastStream's publisher layer builds an aio-pika
`Message` and looks the exchange up per call, about 30 % of the forwarder's CPU per event for
nothing we use (docs/architecture.md, "On FastStream"; docs/benchmarks.md has the figures).
"""

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from aiormq import spec
from faststream.rabbit import RabbitBroker, RabbitExchange

from broker.errors import BrokerError
from contracts.envelope import Envelope

PUBLISH_TIMEOUT = 10.0
ATTEMPT_HEADER = "x-buildify-attempt"
MESSAGE_PRIORITY = 5
PERSISTENT = 2  # AMQP delivery-mode


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

    aiormq answers with the confirmation frame: `Basic.Ack`, or for a message RabbitMQ returned
    (mandatory, unroutable) the returned message, which carries `delivery` (Basic.Return); a
    `Basic.Nack` raises. A channel that is reconnecting raises at once: the caller retries.
    """
    channel = broker._channel  # FastStream's default channel (publisher confirms on)
    if channel is None or channel.is_closed:  # as aio-pika checks: a closed channel would wait out the timeout
        raise BrokerError("the RabbitMQ channel is closed (reconnecting)")
    properties = spec.Basic.Properties(
        delivery_mode=PERSISTENT, priority=priority, message_id=message_id, message_type=message_type,
        headers=headers, content_type=content_type,
    )
    result = await (await channel.get_underlay_channel()).basic_publish(
        body, exchange=exchange.name if exchange is not None else "", routing_key=routing_key,
        properties=properties, mandatory=True, timeout=PUBLISH_TIMEOUT,
    )
    return not _returned(result)


def _returned(result: object) -> bool:
    """Whether a confirmed publish came back returned (mandatory and unroutable), or unconfirmed."""
    return result is None or hasattr(result, "delivery")


def publisher(
    broker: RabbitBroker, exchange: RabbitExchange | None, routing_key: Callable[[Envelope], str]
) -> Callable[[Envelope], Awaitable[bool]]:
    """Publish an envelope with confirms and mandatory=True; the result says whether a queue took it."""
    encode = msgspec.json.Encoder().encode

    async def publish(envelope: Envelope) -> bool:
        return await publish_confirmed(
            broker, encode(envelope), exchange=exchange, routing_key=routing_key(envelope),
            message_id=str(envelope.id), message_type=envelope.type, headers={ATTEMPT_HEADER: 0},
        )

    return publish
