"""`buildify-events dlq queues`: the RabbitMQ dead-letter queues beside the dead letters they
hold (registered on the `dlq` group by broker/cli/__init__.py)."""

from typing import Annotated

import typer
from rich.table import Table

from broker.cli.app import dlq_app
from broker.cli.options import AsJson, DatabaseUrl
from broker.cli.running import EXIT_BAD_INPUT, emit_json, fail, out, run
from broker.rabbit.deadletters import DeadQueue, dead_queues

AmqpUrl = Annotated[
    str | None, typer.Option("--amqp-url", envvar="BUS_AMQP_URL", help="RabbitMQ (env BUS_AMQP_URL).")
]
Prefix = Annotated[
    str, typer.Option("--prefix", envvar="BUS_AMQP_PREFIX", help="Exchange and queue prefix (env BUS_AMQP_PREFIX).")
]


@dlq_app.command("queues")
def dlq_queues_command(
    subscriptions: Annotated[list[str] | None, typer.Argument(help="Subscriptions (default: all bound).")] = None,
    trim: Annotated[bool, typer.Option("--trim", help="First drop messages of redriven or purged letters.")] = False,
    amqp_url: AmqpUrl = None,
    prefix: Prefix = "buildify",
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """List the RabbitMQ dead-letter queues: messages in each, open dead letters in Postgres,
    and beside them each subscription's main queue (messages ready, consumers).

    `dlq list`, `dlq redrive` and `dlq purge` act on those letters; a redrive goes back through
    the subscription's queue."""
    if not amqp_url:
        fail("no RabbitMQ: pass --amqp-url or set BUS_AMQP_URL", EXIT_BAD_INPUT)
    url = amqp_url
    found = run(database_url, lambda conn: dead_queues(conn, url, prefix, subscriptions=subscriptions or (),
                                                       trim_first=trim))
    if as_json:
        emit_json(found)
    else:
        out().print(_table(found))


def _table(queues: list[DeadQueue]) -> Table:
    table = Table("subscription", "dead-letter queue", "messages", "open letters", "trimmed", "ready", "consumers")
    for queue in queues:
        table.add_row(queue.subscription, queue.queue, str(queue.messages), str(queue.open_letters), str(queue.trimmed),
                      str(queue.ready), str(queue.consumers))
    return table
