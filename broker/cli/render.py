"""How results look in a terminal: times, ages and the tables several commands print."""

from datetime import UTC, datetime
from typing import Any

import msgspec
from rich.table import Table

from broker import ops

# -- rendering ----------------------------------------------------------------------------------


def when(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def text(value: object | None) -> str:
    return "" if value is None else str(value)


def age(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 120:
        return f"{seconds:.1f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def subscription_state(sub: ops.SubscriptionStats) -> str:
    """What an operator needs first about a subscription: who delivers its events, if anybody."""
    if sub.retired:
        return "[dim]retired[/]"
    if sub.rabbitmq:
        return "[red]unserved[/] (RabbitMQ)" if sub.unserved else "[cyan]RabbitMQ[/]"
    if not sub.active:
        return "[dim]inactive[/]"
    return "[red]unserved[/]" if sub.unserved else "active"


def events_table(events: list[ops.EventSummary]) -> Table:
    table = Table(title=f"{len(events)} event(s), newest first")
    table.add_column("id", no_wrap=True)
    table.add_column("type", no_wrap=True)
    table.add_column("source")
    table.add_column("tenant", no_wrap=True)
    table.add_column("recorded (UTC)", no_wrap=True)
    table.add_column("v", justify="right")
    table.add_column("pending", justify="right")
    table.add_column("done", justify="right")
    table.add_column("dead", justify="right")
    for e in events:
        table.add_row(str(e.id), e.type, e.source, text(e.tenant_id), when(e.recorded_at), str(e.version),
                      str(e.pending), str(e.done), f"[red]{e.dead}[/]" if e.dead else "0")
    return table


def letters_table(letters: list[ops.DeadLetter]) -> Table:
    table = Table(title=f"{len(letters)} dead letter(s), newest first")
    table.add_column("id", justify="right", no_wrap=True)
    table.add_column("subscription", no_wrap=True)
    table.add_column("event", no_wrap=True)
    table.add_column("type", no_wrap=True)
    table.add_column("attempts", justify="right")
    table.add_column("failed (UTC)", no_wrap=True)
    table.add_column("reason")
    table.add_column("redriven")
    for dl in letters:
        redriven = f"{when(dl.redriven_at)} by {dl.redriven_by}" if dl.redriven_at else ""
        table.add_row(str(dl.id), dl.subscription, str(dl.event_id), text(dl.event_type), str(dl.attempts),
                      when(dl.failed_at), dl.reason, redriven)
    return table


def pretty_json(value: Any) -> str:
    return msgspec.json.format(msgspec.json.encode(value), indent=2).decode()
