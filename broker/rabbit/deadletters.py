"""The dead-letter queues (`<prefix>.<subscription>.dead`) kept in step with `event_dead_letters`.

A message the consumer gives up on goes to its subscription's dead-letter queue and is recorded
as a dead letter in Postgres, so `buildify-events dlq list/redrive/purge` and the bus dashboard
(`/api/v1/admin/bus/dead-letters`) see and redrive RabbitMQ dead letters as they do the others
(a redrive goes back through the subscription's queue, by the bridge). `trim` then removes from
the queue what was redriven or purged, so its depth is what is still open; the transport trims
its subscriptions' queues every minute, and `buildify-events dlq queues --trim` does it at once.
A message that is no Buildify envelope has no letter and stays until someone purges the queue.
"""

from collections.abc import Sequence
from uuid import UUID

import msgspec
from faststream.rabbit import RabbitBroker

from broker.ops.connection import Db
from broker.rabbit.publishing import outgoing, publish_confirmed
from broker.rabbit.topology import depth, depth_and_consumers, queue_names

BOUND = "SELECT subscription FROM bus_rabbit_bindings WHERE prefix = $1 ORDER BY subscription"

OPEN_LETTERS = """
SELECT s.name, count(dl.*) AS open FROM event_subscriptions s
LEFT JOIN event_dead_letters dl ON dl.subscription_id = s.id AND dl.redriven_at IS NULL
WHERE s.name = ANY($1::text[]) GROUP BY s.name
"""

STILL_OPEN = """
SELECT dl.event_id FROM event_dead_letters dl JOIN event_subscriptions s ON s.id = dl.subscription_id
WHERE s.name = $1 AND dl.redriven_at IS NULL AND dl.event_id = ANY($2::uuid[])
"""


class DeadQueue(msgspec.Struct, frozen=True, kw_only=True):
    """One subscription's queues: its dead-letter queue (messages, open letters in Postgres) and
    its main queue (messages ready, consumers attached).

    Unacknowledged messages are not here: AMQP's `queue.declare` answers with ready messages and
    consumers only (the count of unacknowledged ones needs RabbitMQ's management plugin)."""

    subscription: str
    queue: str
    messages: int
    open_letters: int
    trimmed: int = 0  # messages removed by this call (redriven or purged letters)
    main_queue: str = ""
    ready: int = 0
    consumers: int = 0


async def trim(broker: RabbitBroker, conn: Db, prefix: str, subscription: str) -> int:
    """Drop the queue's messages whose letter is no longer open; returns how many.

    Each message present at the start is taken once: kept ones are republished to the queue's
    tail (confirmed) before they are acknowledged, so a crash can duplicate, never lose one."""
    _, _, dead = queue_names(prefix, subscription)
    channel = broker._channel  # basic.get has no FastStream call: aio-pika, on FastStream's channel
    assert channel is not None, "connect the broker first"
    queue = await channel.get_queue(dead, ensure=False)
    taken = []
    for _ in range(await depth(broker, dead)):
        message = await queue.get(no_ack=False, fail=False)
        if message is None:
            break
        taken.append(message)
    ids = [UUID(m.message_id) for m in taken if m.message_id and _is_uuid(m.message_id)]
    rows = await conn.fetch(STILL_OPEN, subscription, ids)
    open_ids = {str(row["event_id"]) for row in rows}
    dropped = 0
    for message in taken:
        if message.message_id and _is_uuid(message.message_id) and message.message_id not in open_ids:
            dropped += 1
        else:
            await publish_confirmed(broker, outgoing(
                message.body, exchange=None, routing_key=dead, message_id=message.message_id,
                message_type=message.type, headers=dict(message.headers), priority=message.priority,
                content_type=message.content_type,
            ))
        await message.ack()
    return dropped


async def dead_queues(
    conn: Db, url: str, prefix: str, *, subscriptions: Sequence[str] = (), trim_first: bool = False
) -> list[DeadQueue]:
    """The queues of `prefix` (every bound subscription unless `subscriptions`): what
    `buildify-events dlq queues` prints and the bus dashboard shows (`/api/v1/admin/bus/queues`)."""
    broker = RabbitBroker(url, logger=None)
    try:
        await broker.connect()
        names = list(subscriptions) or [row["subscription"] for row in await conn.fetch(BOUND, prefix)]
        trimmed = {name: await trim(broker, conn, prefix, name) if trim_first else 0 for name in names}
        letters = {row["name"]: row["open"] for row in await conn.fetch(OPEN_LETTERS, names)}
        found = []
        for name in names:
            main, _, dead = queue_names(prefix, name)
            ready, consumers = await depth_and_consumers(broker, main)
            found.append(DeadQueue(
                subscription=name, queue=dead, messages=await depth(broker, dead),
                open_letters=int(letters.get(name, 0)), trimmed=trimmed[name],
                main_queue=main, ready=ready, consumers=consumers,
            ))
        return found
    finally:
        await broker.stop()


def _is_uuid(value: str) -> bool:
    try:
        UUID(value)
    except ValueError:
        return False
    return True
