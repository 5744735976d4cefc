"""The consumer side: RabbitMQ messages handed to an ordinary `Worker` through a `Store`."""

import itertools
from collections import deque
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any
from uuid import UUID

import structlog
from faststream.rabbit import RabbitBroker, RabbitMessage

from broker.context import EnvelopeFields
from broker.delivery import ClaimedDelivery
from broker.errors import BrokerError
from broker.postgres import PostgresStore
from broker.rabbit.acks import Acknowledger
from broker.rabbit.publishing import ATTEMPT_HEADER, Unroutable, outgoing, publish_confirmed
from broker.rabbit.topology import delay_queue, delay_step, queue_names
from broker.router import Handler
from broker.store import SubscriptionRef
from contracts.envelope import Envelope, Event

log = structlog.get_logger("broker.rabbit")

DEAD_LETTER = """
INSERT INTO event_dead_letters (delivery_id, subscription_id, event_id, attempts, reason, error, traceback)
VALUES (NULL, $1, $2, $3, $4, $5, $6)
"""


async def undecoded(message: RabbitMessage) -> RabbitMessage:
    """FastStream's decoder for our subscribers: hand the handler the message itself (its body is
    decoded once, as an envelope, by the handler)."""
    return message


def claimed_from(envelope: Envelope, *, delivery_id: int, subscription_id: int, attempt: int) -> ClaimedDelivery:
    """A received envelope as the delivery a worker or the broadcast follower runs."""
    return ClaimedDelivery(
        delivery_id=delivery_id,
        subscription_id=subscription_id,
        attempt=attempt,
        event_id=envelope.id,
        event_type=envelope.type,
        source=envelope.source,
        tenant_id=envelope.tenant_id,
        company_id=envelope.company_id,
        ordering_key=envelope.ordering_key,
        occurred_at=envelope.occurred_at,
        correlation_id=envelope.correlation_id,
        causation_id=envelope.causation_id,
        version=envelope.version,
        payload=bytes(envelope.payload).decode(),
    )


class MessageStore:
    """A `Store` whose deliveries are RabbitMQ messages, so `Worker` handles them unchanged.

    Publishing and the inbox go to the bus's Postgres store; settling acts on the message.
    """

    def __init__(self, store: PostgresStore, broker: RabbitBroker, prefix: str) -> None:
        self.store = store
        self.broker = broker
        self.prefix = prefix
        self.pending: deque[ClaimedDelivery] = deque()
        self.held: dict[int, tuple[ClaimedDelivery, RabbitMessage, str]] = {}
        self.priorities: dict[int, int] = {}
        self._ids = itertools.count(1)
        self.claimed = 0  # messages handed to the worker so far (run_until_idle counts them)
        self.retries_out = 0  # messages sent to a retry queue, and those back from one:
        self.retries_back = 0  # run_until_idle waits for every retry to come back
        self.acks = Acknowledger()
        self.delay_queues: set[str] = set()  # declared by this process (declared when first used)

    def received(self, message: RabbitMessage, ref: SubscriptionRef, envelope: Envelope) -> None:
        attempts = message.headers.get(ATTEMPT_HEADER, 0)
        if isinstance(attempts, int) and attempts > 0:
            self.retries_back += 1
        claimed = claimed_from(
            envelope, delivery_id=next(self._ids), subscription_id=ref.id,
            attempt=(attempts if isinstance(attempts, int) else 0) + 1,
        )
        self.held[claimed.delivery_id] = (claimed, message, ref.name)
        self.priorities[ref.id] = ref.priority
        self.pending.append(claimed)

    # -- what the worker calls ----------------------------------------------------------------

    async def publish(self, conn: Any, events: Sequence[Event], fields: EnvelopeFields) -> list[UUID]:
        return await self.store.publish(conn, events, fields)

    def inbox_transaction(self, subscription: str, event_id: UUID) -> AbstractAsyncContextManager[Any]:
        return self.store.inbox_transaction(subscription, event_id)

    async def sync_subscriptions(self, module: str, handlers: Sequence[Handler]) -> list[SubscriptionRef]:
        raise BrokerError("subscriptions are synced by the bus, not by the RabbitMQ consumer")

    async def relay_batch(self, limit: int) -> int:
        return 0

    async def claim(
        self, subscriptions: Sequence[SubscriptionRef], limit: int, lease: float, worker_id: str
    ) -> list[ClaimedDelivery]:
        """The received messages, highest subscription priority first, oldest first within one."""
        self.claimed += min(limit, len(self.pending))
        if len(self.pending) <= limit:
            batch = list(self.pending)
            self.pending.clear()
            batch.sort(key=lambda c: -self.priorities.get(c.subscription_id, 0))  # stable: oldest first
            return batch
        ranked = sorted(self.pending, key=lambda c: -self.priorities.get(c.subscription_id, 0))
        batch, rest = ranked[:limit], {c.delivery_id for c in ranked[limit:]}
        self.pending = deque(c for c in self.pending if c.delivery_id in rest)
        return batch

    async def complete(self, claims: Sequence[ClaimedDelivery]) -> None:
        await self._ack([self.held.pop(claim.delivery_id)[1] for claim in claims])

    async def _ack(self, messages: Sequence[RabbitMessage]) -> None:
        stale = await self.acks.ack(messages)
        if stale:  # not an error of this batch: raising would skip settling its failures
            log.info("acknowledgements lost with a closed channel; those messages come back", messages=stale)

    async def retry(self, claim: ClaimedDelivery, delay: float, error: str) -> None:
        claimed, message, name = self.held[claim.delivery_id]  # held (unacknowledged) until republished
        queue = delay_queue(self.prefix, name, delay_step(delay))
        if queue.name not in self.delay_queues:
            await self.broker.declare_queue(queue)
            self.delay_queues.add(queue.name)
        await self._republish(message, queue.name, {ATTEMPT_HEADER: claimed.attempt, "x-buildify-error": error[:1000]})
        self.retries_out += 1
        del self.held[claim.delivery_id]
        await self._ack([message])

    async def dead_letter(self, claim: ClaimedDelivery, reason: str, error: str, traceback: str) -> None:
        claimed, message, name = self.held[claim.delivery_id]
        _, _, dead_queue = queue_names(self.prefix, name)
        headers = {ATTEMPT_HEADER: claimed.attempt, "x-buildify-reason": reason[:1000],
                   "x-buildify-error": error[:1000]}
        await self._republish(message, dead_queue, headers)
        async with self.store.pool.acquire() as conn:
            await conn.execute(DEAD_LETTER, claimed.subscription_id, claimed.event_id, claimed.attempt,
                               reason, error, traceback)
        del self.held[claim.delivery_id]
        await self._ack([message])

    async def not_an_envelope(self, message: RabbitMessage, subscription: str, reason: str) -> None:
        """Move a message that is no Buildify envelope to the dead-letter queue (no event id to record)."""
        _, _, dead = queue_names(self.prefix, subscription)
        await self._republish(message, dead, {"x-buildify-reason": reason[:1000]})
        await self._ack([message])

    async def extend_leases(self, claims: Sequence[ClaimedDelivery], lease: float) -> list[int]:
        # an unacknowledged message stays with its consumer until the channel closes
        return [claim.delivery_id for claim in claims]

    async def seconds_until_due(self, subscriptions: Sequence[SubscriptionRef]) -> float | None:
        return None

    async def _republish(self, received: RabbitMessage, queue: str, headers: dict[str, Any]) -> None:
        raw = received.raw_message
        if not await publish_confirmed(self.broker, outgoing(
            received.body, exchange=None, routing_key=queue, message_id=received.message_id,
            message_type=raw.type, headers=headers, priority=raw.priority, content_type=received.content_type,
        )):
            raise Unroutable(f"queue {queue} does not exist: the message stays unacknowledged and comes back")
