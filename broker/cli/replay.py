"""The replay command: deliver past events again, with a progress bar and a resumable run."""

from typing import Annotated, Any

import asyncpg
import msgspec
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from broker import ops
from broker.cli import render
from broker.cli.app import app
from broker.cli.options import Actor, AsJson, DatabaseUrl, option_group, parse_uuid, selected_events
from broker.cli.running import EXIT_BAD_INPUT, actor_or_me, emit_json, err, fail, out, run
from contracts.ids import uuid7


@app.command("replay")
@option_group("selection", selected_events)
def replay_command(
    selection: ops.EventFilter,
    event_ids: Annotated[
        list[str] | None, typer.Option("--event-id", "-e", help="Replay this event (repeatable).")
    ] = None,
    subscription: Annotated[
        str | None, typer.Option("--subscription", "-s", help="Deliver to this subscription only.")
    ] = None,
    all_subscriptions: Annotated[
        bool, typer.Option("--all-subscriptions", help="Deliver to every active subscription that matches.")
    ] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show what would be sent; change nothing.")] = False,
    rate: Annotated[
        float | None, typer.Option("--rate", min=0.001, help="At most this many events per second.")
    ] = None,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1, help="Events per transaction.")] = 5000,
    resume: Annotated[
        str | None, typer.Option("--resume", help="Continue an interrupted replay by its run id.")
    ] = None,
    actor: Actor = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Deliver past events again, to one subscription or to all that match.

    Existing deliveries are reset to pending with no attempts, others are created; events
    keep their ids, so handlers with an inbox skip what they already applied.
    """
    resume_id = parse_uuid(resume, "run id")
    if resume_id is None and subscription is None and not all_subscriptions:
        fail("say where to replay: --subscription NAME, or --all-subscriptions", EXIT_BAD_INPUT)
    if subscription is not None and all_subscriptions:
        fail("--subscription and --all-subscriptions exclude each other", EXIT_BAD_INPUT)
    ids = tuple(u for u in (parse_uuid(i, "event id") for i in event_ids or []) if u is not None)
    selection = msgspec.structs.replace(selection, event_ids=ids)
    who = actor_or_me(actor)
    run_id = None if resume_id else uuid7()
    stderr = err()
    show_progress = not as_json and not dry_run

    async def work(conn: asyncpg.Connection) -> ops.ReplayResult:
        bar: list[tuple[Progress, Any]] = []

        def on_progress(p: ops.ReplayProgress) -> None:
            if not bar:
                stderr.print(f"replay {p.run_id}: if it stops, continue with "
                          f"buildify-events replay --resume {p.run_id}", soft_wrap=True)
                progress = Progress(TextColumn("replay"), BarColumn(), MofNCompleteColumn(),
                                    TextColumn("events"), TimeRemainingColumn(), console=stderr,
                                    disable=not show_progress)
                progress.start()
                bar.append((progress, progress.add_task("replay", total=p.total_events)))
            progress, task = bar[0]
            progress.update(task, completed=p.events, total=p.total_events)

        try:
            return await ops.replay(
                conn, selection, actor=who, subscription=subscription, dry_run=dry_run,
                batch_size=batch_size, rate=rate, resume=resume_id, run_id=run_id, on_progress=on_progress,
            )
        finally:
            for progress, _task in bar:
                progress.stop()

    result = run(database_url, work)
    if as_json:
        emit_json(result)
        return
    console = out()
    if result.dry_run:
        console.print(f"dry run: would replay {result.events} event(s) as {result.deliveries} delivery(ies) "
                  f"into {', '.join(result.subscriptions)}; nothing was changed")
        table = Table(title=f"first {len(result.sample)} event(s)")
        for column in ("id", "type", "tenant", "recorded (UTC)", "to"):
            table.add_column(column, no_wrap=column in ("id", "type"))
        for s in result.sample:
            table.add_row(str(s.id), s.type, render.text(s.tenant_id), render.when(s.recorded_at),
                          ", ".join(s.subscriptions))
        console.print(table)
        return
    rate_text = f" ({result.events / result.seconds:,.0f} events/s)" if result.seconds > 0 else ""
    console.print(f"replayed {result.events} event(s) as {result.deliveries} delivery(ies) into "
              f"{', '.join(result.subscriptions)} in {result.seconds:.2f}s{rate_text}; run {result.run_id}")
