"""The RabbitMQ fan-out transport (DESIGN, the event bus, point 7): `BusSettings(transport="rabbitmq")`.

Publishing does not change: events go through the Postgres outbox and the relay writes the
`events` log. Three pieces move them over RabbitMQ, all built on the ordinary `Worker` and on
FastStream's `RabbitBroker` (declarations, subscribers with a manual ack policy, confirmed
publishes); aio-pika is reached only through FastStream's own connection and channel, for what
FastStream has no call for (queue depth, delete, unbind, basic.get — docs/architecture.md,
"On FastStream"):

- **Forwarder** (`transport.py`, in a process that runs the relay): a built-in subscription
  `rabbitmq.forward` (pattern `#`, `handover.py`) whose handler publishes the envelope, with
  publisher confirms, to the durable topic exchange `<prefix>.events`, routing key = event type.
  It is an ordinary Postgres delivery, so forwarding is at-least-once with the bus's retries.
- **Consumer** (`messages.py`): per subscription of the service, a quorum queue
  `<prefix>.<subscription>` bound with the subscription's pattern (AMQP topic rules, as in
  broker/patterns.py), delay queues `<prefix>.<subscription>.retry.<ms>` (one per backoff step,
  `topology.py`) and `<prefix>.<subscription>.dead`. Messages reach a `Worker` through
  `MessageStore`, a `Store` whose claims are the received messages and whose complete / retry /
  dead_letter ack, republish to a delay queue or `.dead` (dead letters are also recorded in
  `event_dead_letters`, so `buildify-events dlq` and the dashboard list and redrive them).
- **Bridge**: the service's own subscriptions are kept `is_active = false` in Postgres, so the
  relay fans nothing out to them (no double handling). Deliveries that still appear for them
  (a backlog from before the switch, `dlq redrive`) are moved into their queue by a worker.
"""

from broker.rabbit.handover import FORWARD_NAME, add_forward_subscription, hand_over, keep_handed_over
from broker.rabbit.messages import MessageStore
from broker.rabbit.topology import delete_topology, exchange_name, queue_depth, queue_names
from broker.rabbit.transport import RabbitTransport

__all__ = [
    "FORWARD_NAME",
    "MessageStore",
    "RabbitTransport",
    "add_forward_subscription",
    "delete_topology",
    "exchange_name",
    "hand_over",
    "keep_handed_over",
    "queue_depth",
    "queue_names",
]
