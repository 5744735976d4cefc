"""`buildify-events`: see and repair the event bus from a terminal (also `python -m broker`).

    buildify-events list --type 'financial.#' --since 2h
    buildify-events show 01935c1e-...
    buildify-events tail --type 'core.*'
    buildify-events stats --window 15m
    buildify-events replay --type 'core.company.*' --since 2026-11-25 --until 2026-11-26 \\
        --subscription financial.create_default_accounts --dry-run
    buildify-events dlq list --subscription financial.create_default_accounts
    buildify-events dlq redrive --error 'timeout' --dry-run
    buildify-events dlq queues --amqp-url amqp://... --trim     # RabbitMQ dead-letter queues

Every command reads the bus database from `--database-url`, else `EVENT_BUS_CONNECTION_STRING`,
else `DATABASE_URL`, prints a table (or JSON with `--json`), and exits non-zero with one
sentence on stderr when it cannot do what was asked. Exit codes: 2 bad input (a malformed
pattern, time or id), 3 no such subscription / event / dead letter / run, 4 nothing matches,
5 the database does not answer, 6 the bus tables are missing, 1 anything else, 130 interrupted.

One module per concern: `events` (list, show, tail), `replay`, `dead_letters` (dlq), `admin`
(stats, audit, subscriptions, events-log); the options they share are declared once in
`options`, and how a command connects and fails in `running`.
"""

from broker.cli import admin, dead_letters, events, replay  # noqa: F401 - they register their commands
from broker.cli.app import app
from broker.cli.options import parse_duration, parse_when
from broker.cli.running import (
    EXIT_BAD_INPUT,
    EXIT_EMPTY,
    EXIT_ERROR,
    EXIT_INTERRUPTED,
    EXIT_NOT_FOUND,
    EXIT_SCHEMA,
    EXIT_UNAVAILABLE,
)
from broker.rabbit import cli as rabbit_cli  # noqa: F401 - dlq queues (RabbitMQ)

__all__ = [
    "EXIT_BAD_INPUT",
    "EXIT_EMPTY",
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "EXIT_NOT_FOUND",
    "EXIT_SCHEMA",
    "EXIT_UNAVAILABLE",
    "app",
    "main",
    "parse_duration",
    "parse_when",
]


def main() -> None:
    """Entry point of the `buildify-events` console script and `python -m broker`."""
    app()
