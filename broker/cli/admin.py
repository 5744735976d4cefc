"""Commands for the state of the bus as a whole: stats, the audit trail, retiring
subscriptions, and the events log's durability."""

from typing import Annotated

import msgspec
import typer
from rich.table import Table

from broker import ops
from broker.cli import render
from broker.cli.app import app, subscriptions_app
from broker.cli.options import AsJson, DatabaseUrl, Limit, Tenant, parse_duration, parse_uuid
from broker.cli.running import emit_json, out, run


@app.command("stats")
def stats_command(
    window: Annotated[str, typer.Option("--window", "-w", help="Rates over this period: 5m, 1h, ...")] = "5m",
    tenant: Tenant = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Rates, backlog per subscription, oldest pending age, retries and dead letters."""
    seconds = parse_duration(window)
    tenant_id = parse_uuid(tenant, "tenant id")
    snapshot = run(database_url, lambda conn: ops.stats(conn, window=seconds, tenant=tenant_id))
    if as_json:
        emit_json(snapshot)
        return
    console = out()
    console.print(
        f"last {window}: {snapshot.events} event(s) ({snapshot.events_per_second}/s), "
        f"{snapshot.delivered} delivered ({snapshot.delivered_per_second}/s, "
        f"{snapshot.delivered_after_retry} after a retry), {snapshot.dead_lettered} dead-lettered"
    )
    console.print(
        f"now: {snapshot.pending} pending, {snapshot.retrying} waiting to retry, oldest pending "
        f"{render.age(snapshot.oldest_pending_seconds) or '-'}, {snapshot.dead_letters_open} open dead letter(s)"
        + (f", outbox {snapshot.outbox_rows} row(s)"
           f" (oldest {render.age(snapshot.outbox_oldest_seconds) or '-'})" if snapshot.outbox_rows is not None else "")
    )
    table = Table(title="subscriptions")
    for column in ("subscription", "pattern", "state", "prio", "pending", "due", "in flight", "retrying",
                   "oldest pending", "dead letters"):
        table.add_column(column, no_wrap=column == "subscription")
    for s in snapshot.subscriptions:
        table.add_row(s.name, s.pattern, render.subscription_state(s), str(s.priority), str(s.pending),
                      str(s.due), str(s.in_flight), str(s.retrying), render.age(s.oldest_pending_seconds),
                      f"[red]{s.dead_letters}[/]" if s.dead_letters else "0")
    console.print(table)
    if snapshot.types:
        types = Table(title=f"event types, last {window}")
        types.add_column("type")
        types.add_column("events", justify="right")
        for t in snapshot.types:
            types.add_row(t.event_type, str(t.events))
        console.print(types)



@app.command("audit")
def audit_command(
    limit: Limit = 50,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Show the latest replays, redrives and purges: who, when, what, how many."""
    entries = run(database_url, lambda conn: ops.list_audit(conn, limit=limit))
    if as_json:
        emit_json(entries)
        return
    table = Table(title="operations")
    for column in ("id", "action", "actor", "started (UTC)", "status", "affected", "selection"):
        table.add_column(column)
    for a in entries:
        table.add_row(str(a.id), a.action, a.actor, render.when(a.started_at), a.status, str(a.affected),
                      msgspec.json.encode(a.selection).decode())
    out().print(table)


@subscriptions_app.command("retire")
def subscriptions_retire_command(
    name: Annotated[str, typer.Argument(help="The subscription, e.g. financial.create_default_accounts.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Switch a subscription off: no new deliveries, pending ones stay (replay or purge them)."""
    pending = run(database_url, lambda conn: ops.retire_subscription(conn, name))
    out().print(f"retired {name}; {pending} pending delivery(ies) left as they are")


@subscriptions_app.command("activate")
def subscriptions_activate_command(
    name: Annotated[str, typer.Argument(help="The subscription to switch on again.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Switch a retired subscription on again (events published meanwhile are not backfilled:
    replay them)."""
    run(database_url, lambda conn: ops.retire_subscription(conn, name, active=True))
    out().print(f"activated {name}")


@app.command("events-log")
def events_log_command(
    logged: Annotated[bool, typer.Option("--logged/--unlogged", help="Durable (WAL) or UNLOGGED events log.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Switch the events log between LOGGED and UNLOGGED (rewrites it under an exclusive lock:
    run it while the bus is quiet). Services never switch it on their own."""
    from broker import schema

    changed = run(database_url, lambda conn: schema.set_events_logged(conn, logged=logged))
    state = "logged" if logged else "unlogged"
    out().print(f"the events log is now {state}" if changed else f"the events log was already {state}")
