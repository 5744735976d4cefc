"""Confirmed publishing in batches (broker/rabbit/publishing.py), on a real RabbitMQ: a batch is
one write, yet every message keeps its own confirm, return and failure."""

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import pytest
from faststream.rabbit import RabbitBroker, RabbitQueue

from broker.errors import BrokerError
from broker.rabbit import queue_depth
from broker.rabbit.publishing import outgoing, publish_all, publish_confirmed
from tests.rabbitmq import amqp_url, amqp_url_or_skip

pytestmark = [pytest.mark.rabbit]


@pytest.fixture(autouse=True)
def _needs_rabbitmq() -> None:
    amqp_url_or_skip()


@pytest.fixture
async def broker() -> AsyncIterator[RabbitBroker]:
    broker = RabbitBroker(amqp_url(), logger=None)
    await broker.connect()
    yield broker
    await broker.stop()


@pytest.fixture
async def queue(broker: RabbitBroker) -> AsyncIterator[str]:
    """A durable queue of this test's own, deleted afterwards."""
    name = f"test-publishing-{uuid4().hex[:12]}"
    await broker.declare_queue(RabbitQueue(name, durable=True, auto_delete=False))
    yield name
    cleaner = RabbitBroker(amqp_url(), logger=None)  # the test may have closed the broker's channel
    await cleaner.connect()
    channel = cleaner._channel
    assert channel is not None
    await (await channel.get_underlay_channel()).queue_delete(name)
    await cleaner.stop()


async def writes(broker: RabbitBroker, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count what is handed to the connection's writer (each item is one socket write)."""
    channel = broker._channel
    assert channel is not None
    write_queue = (await channel.get_underlay_channel()).write_queue  # the connection's
    put = write_queue.put
    counted: list[int] = []

    async def counting(item: Any) -> None:
        counted.append(1)
        await put(item)

    monkeypatch.setattr(write_queue, "put", counting)
    return counted


async def test_a_batch_is_one_write_and_each_message_gets_its_own_confirm_or_return(broker, queue, monkeypatch):
    """Three messages, the middle one to a queue that does not exist: one write, and the answer
    says which were taken (True) and which RabbitMQ returned (False), in order."""
    counted = await writes(broker, monkeypatch)
    to = [queue, f"{queue}-nobody-declared-this", queue]
    results = await publish_all(broker, [
        outgoing(f"m{n}".encode(), exchange=None, routing_key=key, message_id=None, message_type="t", headers={})
        for n, key in enumerate(to)
    ])
    assert results == [True, False, True]
    assert counted == [1]
    assert await queue_depth(amqp_url(), queue) == 2


async def test_one_message_is_taken_or_returned(broker, queue):
    def one(key: str) -> Any:
        return outgoing(b"x", exchange=None, routing_key=key, message_id=str(uuid4()), message_type="t", headers={})

    assert await publish_confirmed(broker, one(queue)) is True
    assert await publish_confirmed(broker, one(f"{queue}-missing")) is False
    assert await queue_depth(amqp_url(), queue) == 1


async def test_publishing_on_a_closed_channel_raises_at_once_and_sends_nothing(broker, queue):
    channel = broker._channel
    assert channel is not None
    await channel.close()
    with pytest.raises(BrokerError, match="channel is closed"):
        await publish_all(broker, [
            outgoing(b"x", exchange=None, routing_key=queue, message_id=None, message_type="t", headers={})
        ])


async def test_a_message_that_cannot_be_sent_fails_alone(broker, queue):
    """A routing key longer than AMQP allows (an event type of 300 characters, say) fails its own
    message; the batch's other messages go out and are confirmed."""
    to = [queue, "x" * 300, queue]
    results = await publish_all(broker, [
        outgoing(b"m", exchange=None, routing_key=key, message_id=None, message_type="t", headers={}) for key in to
    ])
    assert results[0] is True and results[2] is True
    assert isinstance(results[1], BrokerError) and "255 bytes" in str(results[1])
    assert await queue_depth(amqp_url(), queue) == 2


async def test_a_connection_closing_before_the_batch_is_written_is_a_broker_error(broker, queue, monkeypatch):
    """aiormq rejects a closing connection's futures with CancelledError; the publisher (the
    forwarder's batch task) must get an error it retries on, not a cancellation that ends it."""
    channel = broker._channel
    assert channel is not None
    amqp = await channel.get_underlay_channel()
    closing: list[asyncio.Task[None]] = []
    put = amqp.write_queue.put

    async def stalled_writer(_frame: Any) -> None:  # the batch never reaches the socket...
        amqp.write_queue.put = put  # type: ignore[method-assign]  # ...the connection's Close does
        closing.append(asyncio.create_task(amqp.connection.close()))

    monkeypatch.setattr(amqp.write_queue, "put", stalled_writer)
    with pytest.raises(BrokerError, match="closed while the batch was written"):
        await publish_all(broker, [
            outgoing(b"x", exchange=None, routing_key=queue, message_id=None, message_type="t", headers={})
        ])
    await asyncio.gather(*closing, return_exceptions=True)
