"""Commands that read the events log: list, show, tail."""

import asyncio
import contextlib
import importlib
import time
from datetime import datetime, timedelta
from typing import Annotated
from uuid import UUID

import asyncpg
import msgspec
import typer
from rich.table import Table

from broker import ops
from broker.cli import render
from broker.cli.app import app
from broker.cli.options import (
    AsJson,
    DatabaseUrl,
    Limit,
    followed_events,
    option_group,
    parse_uuid,
    parse_when,
    selected_events,
)
from broker.cli.running import EXIT_BAD_INPUT, emit_json, err, fail, out, run
from broker.upcasting import Upcasters


@app.command("list")
@option_group("selection", selected_events)
def list_command(
    selection: ops.EventFilter,
    limit: Limit = 50,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """List events, newest first, with how their deliveries stand."""
    events = run(database_url, lambda conn: ops.list_events(conn, selection, limit=limit))
    if as_json:
        emit_json(events)
    else:
        out().print(render.events_table(events))


def _load_upcasters(spec: str | None) -> Upcasters | None:
    if not spec:
        return None
    module_name, _, attr = spec.partition(":")
    try:
        value = getattr(importlib.import_module(module_name), attr or "upcasters")
    except (ImportError, AttributeError) as exc:
        fail(f"cannot load upcasters from {spec!r}: {exc}", EXIT_BAD_INPUT)
    if not isinstance(value, Upcasters):
        fail(f"{spec!r} is a {type(value).__name__}, not broker.upcasting.Upcasters", EXIT_BAD_INPUT)
    return value


@app.command("show")
def show_command(
    event_id: Annotated[str, typer.Argument(help="The event id.")],
    upcasters: Annotated[
        str | None,
        typer.Option("--upcasters", envvar="BUILDIFY_UPCASTERS",
                     help="module:attribute of an Upcasters registry, to show today's shape."),
    ] = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Show one event: envelope, payload, deliveries, attempts, errors and dead letters."""
    eid = parse_uuid(event_id, "event id")
    assert eid is not None
    registry = _load_upcasters(upcasters)
    detail = run(database_url, lambda conn: ops.show_event(conn, eid, upcasters=registry))
    if as_json:
        emit_json(detail)
        return
    console = out()
    e = detail.event
    envelope = Table.grid(padding=(0, 2))
    envelope.add_column(style="bold")
    envelope.add_column()
    for name, value in [
        ("id", e.id), ("type", e.type), ("version", e.version), ("source", e.source),
        ("tenant", e.tenant_id), ("company", e.company_id), ("ordering key", e.ordering_key),
        ("occurred", render.when(e.occurred_at)), ("recorded", render.when(e.recorded_at)),
        ("correlation", e.correlation_id), ("causation", e.causation_id), ("expires", render.when(detail.expires_at)),
    ]:
        envelope.add_row(name, render.text(value))
    console.print(envelope)
    console.print("[bold]payload[/]")
    console.print(render.pretty_json(detail.payload), markup=False)
    if detail.current_version is not None and detail.current_version != e.version:
        console.print(f"[bold]payload as v{detail.current_version} (upcast)[/]")
        console.print(render.pretty_json(detail.current_payload), markup=False)
    if detail.upcast_error:
        console.print(f"[red]upcast failed:[/] {detail.upcast_error}")
    table = Table(title="deliveries")
    for column in ("subscription", "status", "attempts", "available (UTC)", "locked by", "last error"):
        table.add_column(column)
    for d in detail.deliveries:
        table.add_row(d.subscription, d.status, str(d.attempts), render.when(d.available_at), render.text(d.locked_by),
                      render.text(d.last_error))
    console.print(table)
    if detail.dead_letters:
        console.print(render.letters_table(detail.dead_letters))


@app.command("tail")
@option_group("selection", followed_events)
def tail_command(
    selection: ops.EventFilter,
    since: Annotated[str | None, typer.Option("--since", help="Start this far back (default: now).")] = None,
    count: Annotated[int | None, typer.Option("--count", min=1, help="Stop after this many events.")] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", help="Stop after this many seconds.")] = None,
    poll: Annotated[float, typer.Option("--poll", help="Poll at least this often (seconds).")] = 1.0,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Follow events as they reach the bus (LISTEN on bus_deliveries/bus_outbox, and polling)."""
    asked = parse_when(since)
    console = out()

    async def follow(conn: asyncpg.Connection) -> int:
        wake = asyncio.Event()

        def on_notify(*_args: object) -> None:
            wake.set()

        for channel in ("bus_deliveries", "bus_outbox"):
            await conn.add_listener(channel, on_notify)
        # "Now" is the database's clock, which stamps recorded_at, not this machine's.
        start: datetime = asked or await conn.fetchval("SELECT now()")
        err().print(f"following events since {render.when(start)} UTC (Ctrl-C to stop)")
        seen: dict[UUID, datetime] = {}
        cursor = start
        shown = 0
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wake.clear()
            # Read from a little before the newest event shown: one recorded earlier may
            # commit later. `seen` keeps anything from being printed twice.
            events = await ops.tail_events(conn, max(start, cursor - timedelta(seconds=5)), selection)
            for item in events:
                if item.event.id in seen:
                    continue
                seen[item.event.id] = item.event.recorded_at
                cursor = max(cursor, item.event.recorded_at)
                shown += 1
                if as_json:
                    emit_json(item)
                else:
                    e = item.event
                    console.print(f"{render.when(e.recorded_at)}  {e.type}  {e.id}  source={e.source} "
                              f"tenant={render.text(e.tenant_id)}  {msgspec.json.encode(item.payload).decode()}",
                              markup=False, soft_wrap=True)
                if count is not None and shown >= count:
                    return shown
            horizon = cursor - timedelta(seconds=10)
            for event_id in [k for k, v in seen.items() if v < horizon]:
                del seen[event_id]
            wait = poll
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    return shown
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), wait)

    run(database_url, follow)
