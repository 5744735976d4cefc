"""Confirmed publishing to RabbitMQ (persistent, mandatory): the forwarder, the bridge and the
consumer's republishing (to a delay or dead-letter queue) all go through here.

The frames go out through aiormq on FastStream's own channel (the broker's default channel, with
publisher confirms), not through `broker.publish`: FastStream's publisher layer builds an aio-pika
`Message` and looks the exchange up per call, about 30 % of the forwarder's CPU per event for
nothing we use (docs/architecture.md, "On FastStream"; docs/benchmarks.md has the figures).

A batch goes out as one write. aiormq's `basic_publish` writes each message on its own, and on
loopback every write is a `send` that also runs RabbitMQ's side of the TCP stack: a fifth of the
forwarder's CPU at 3,000 events/s. `publish_all` does what `basic_publish` does for each message
(a sequence number, a confirmation future RabbitMQ's ack or return settles, the message id for a
return) under the channel's lock, then hands the writer every message's frames at once. It uses
aiormq's channel attributes for that; pyproject.toml pins aiormq's major version.
"""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any, NamedTuple
from uuid import uuid4

import msgspec
from aiormq import Channel as AmqpChannel
from aiormq import spec
from aiormq.abc import ChannelFrame
from aiormq.exceptions import PublishError
from faststream.rabbit import RabbitBroker, RabbitExchange
from pamqp.body import ContentBody
from pamqp.frame import marshal
from pamqp.header import ContentHeader

from broker.errors import BrokerError
from contracts.envelope import Envelope

PUBLISH_TIMEOUT = 10.0
ATTEMPT_HEADER = "x-buildify-attempt"
MESSAGE_PRIORITY = 5
PERSISTENT = 2  # AMQP delivery-mode


class Unroutable(BrokerError):
    """RabbitMQ returned the message: no queue is bound for it."""


class Outgoing(NamedTuple):
    """One message to publish: where to, its body and its AMQP properties."""

    exchange: str
    routing_key: str
    body: bytes
    properties: spec.Basic.Properties


def outgoing(
    body: bytes,
    *,
    exchange: RabbitExchange | None,
    routing_key: str,
    message_id: str | None,
    message_type: str | None,
    headers: dict[str, Any],
    priority: int | None = MESSAGE_PRIORITY,
    content_type: str | None = "application/json",
) -> Outgoing:
    """A persistent message to publish; without a message id it gets one (a return is matched by it)."""
    properties = spec.Basic.Properties(
        delivery_mode=PERSISTENT, priority=priority, message_id=message_id or uuid4().hex,
        message_type=message_type, headers=headers, content_type=content_type,
    )
    return Outgoing(exchange.name if exchange is not None else "", routing_key, body, properties)


async def publish_confirmed(broker: RabbitBroker, one: Outgoing) -> bool:
    """Publish one message and await its confirm; whether a queue took it. A nack, a lost
    channel or no confirm in time raises."""
    (outcome,) = await publish_all(broker, [one])
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


async def publish_all(broker: RabbitBroker, messages: Sequence[Outgoing]) -> list[bool | BaseException]:
    """Publish `messages` persistent and mandatory in one write and await their confirms together.

    Per message, in order: True (a queue took it), False (RabbitMQ returned it: no queue is
    bound), or the exception that stands for its failure (a message that cannot be framed, a
    nack, the channel lost meanwhile, no confirm within PUBLISH_TIMEOUT); one message's failure
    is never its neighbours'. A channel that is closed, or closes before the batch is written,
    raises `BrokerError`: the caller publishes the batch again (at least once: part of it may
    have gone out).
    """
    if not messages:
        return []
    channel = broker._channel  # FastStream's default channel (publisher confirms on)
    if channel is None or channel.is_closed:  # as aio-pika checks: a closed channel would wait out the timeout
        raise BrokerError("the RabbitMQ channel is closed (reconnecting)")
    deadline = asyncio.get_running_loop().time() + PUBLISH_TIMEOUT
    async with asyncio.timeout_at(deadline):  # a writer that never drains: raise, as basic_publish
        amqp = await channel.get_underlay_channel()
        if not isinstance(amqp, AmqpChannel) or not amqp.publisher_confirms:  # what _send relies on
            raise BrokerError(f"expected aiormq's confirming channel under FastStream's, got {amqp!r}")
        try:
            sent = await _send(amqp, messages)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise  # this task is being cancelled
            # aiormq rejects a closing channel's futures with CancelledError: not ours to propagate
            raise BrokerError("the RabbitMQ channel closed while the batch was written") from None
    confirmations = [each for each in sent if isinstance(each, asyncio.Future)]
    if confirmations:
        _, late = await asyncio.wait(confirmations, timeout=max(0.0, deadline - asyncio.get_running_loop().time()))
        for confirmation in late:
            confirmation.cancel()  # aiormq ignores the confirm if it still comes
    return [_outcome(each) if isinstance(each, asyncio.Future) else each for each in sent]


async def _send(channel: AmqpChannel, messages: Sequence[Outgoing]) -> list["asyncio.Future[Any] | BaseException"]:
    """Number the messages, register their confirmations, and write their frames at once (what
    `basic_publish` does per message, under the same lock, so delivery tags stay in order).
    Per message its confirmation, or why it could not be framed (it is left out of the write)."""
    sent: list[asyncio.Future[Any] | BaseException] = []
    async with channel.lock:
        first_tag = channel.delivery_tag
        drain: asyncio.Future[Any] | None = None
        payload: list[bytes] = []
        try:
            for message in messages:
                try:
                    payload.append(_marshalled(channel, message))
                except Exception as exc:  # this message only (a routing key too long, say)
                    sent.append(BrokerError(f"cannot publish to {message.routing_key[:80]!r}: {exc}"))
                    continue
                channel.delivery_tag += 1
                tag = channel.delivery_tag
                confirmation = channel.create_future()
                channel.confirmations[tag] = confirmation
                message_id = str(message.properties.message_id)
                channel.message_id_delivery_tag[message_id] = tag
                confirmation.add_done_callback(partial(_forget_message_id, channel, message_id, tag))
                sent.append(confirmation)
            if not payload:
                return sent
            drain = channel.create_future()
            frame = ChannelFrame(payload=b"".join(payload), should_close=False, drain_future=drain)
            await channel.write_queue.put(frame)
        except BaseException:  # nothing reached the writer: give the sequence numbers back
            for tag in range(first_tag + 1, channel.delivery_tag + 1):
                channel.confirmations.pop(tag, None)
            channel.delivery_tag = first_tag
            for each in (*sent, drain):
                if isinstance(each, asyncio.Future):
                    each.cancel()
            raise
        await drain  # as basic_publish: the lock is held until the frames are written
    return sent


def _marshalled(channel: AmqpChannel, message: Outgoing) -> bytes:
    """One message's frames as they go on the wire (what `ChannelFrame.marshall` writes)."""
    if len(message.routing_key.encode()) > 255:  # as basic_publish checks
        raise ValueError("routing key longer than 255 bytes")
    frames: list[spec.Basic.Publish | ContentHeader | ContentBody] = [
        spec.Basic.Publish(exchange=message.exchange, routing_key=message.routing_key, mandatory=True),
        ContentHeader(properties=message.properties, body_size=len(message.body)),
        *channel._split_body(message.body),
    ]
    return b"".join(marshal(frame, channel.number) for frame in frames)


def _forget_message_id(channel: AmqpChannel, message_id: str, tag: int, _: object) -> None:
    if channel.message_id_delivery_tag.get(message_id) == tag:
        channel.message_id_delivery_tag.pop(message_id)


def _outcome(confirmation: "asyncio.Future[Any]") -> bool | BaseException:
    if confirmation.cancelled():
        return TimeoutError(f"RabbitMQ did not confirm the message within {PUBLISH_TIMEOUT:g} s")
    error = confirmation.exception()
    if isinstance(error, PublishError):  # returned, on a channel that raises on returns
        return False
    if isinstance(error, asyncio.CancelledError):  # how aiormq rejects a closing channel's futures
        return BrokerError("the RabbitMQ channel closed before the message was confirmed")
    if error is not None:
        return error
    return not _returned(confirmation.result())


def _returned(result: object) -> bool:
    """Whether a confirmed publish came back returned (mandatory and unroutable), or unconfirmed."""
    return result is None or hasattr(result, "delivery")


def envelope_message(envelope: Envelope, exchange: RabbitExchange | None, routing_key: str) -> Outgoing:
    """An envelope as the message every subscription's queue gets (attempt 0)."""
    return outgoing(
        _encode(envelope), exchange=exchange, routing_key=routing_key, message_id=str(envelope.id),
        message_type=envelope.type, headers={ATTEMPT_HEADER: 0},
    )


_encode = msgspec.json.Encoder().encode


Publish = Callable[[Sequence[Envelope]], Awaitable[list[bool | BaseException]]]


def publisher(
    broker: RabbitBroker, exchange: RabbitExchange | None, routing_key: Callable[[Envelope], str]
) -> Publish:
    """Publish envelopes with confirms and mandatory=True, in one write; per envelope, whether a
    queue took it or why it failed (`publish_all`)."""

    async def publish(envelopes: Sequence[Envelope]) -> list[bool | BaseException]:
        return await publish_all(
            broker, [envelope_message(envelope, exchange, routing_key(envelope)) for envelope in envelopes]
        )

    return publish
