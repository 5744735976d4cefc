"""`buildify-events dlq`: list, show, redrive and purge dead letters."""

from dataclasses import dataclass
from typing import Annotated

import msgspec
import typer

from broker import ops
from broker.cli import render
from broker.cli.app import dlq_app
from broker.cli.options import (
    Actor,
    AsJson,
    DatabaseUrl,
    DryRun,
    Everything,
    LetterIds,
    Limit,
    option_group,
    selected_letters,
)
from broker.cli.running import EXIT_BAD_INPUT, actor_or_me, emit_json, fail, out, run


@dlq_app.command("list")
@option_group("selection", selected_letters)
def dlq_list_command(
    selection: ops.DeadLetterFilter,
    include_redriven: Annotated[bool, typer.Option("--include-redriven", help="Also redriven ones.")] = False,
    limit: Limit = 50,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """List dead letters, newest first."""
    selection = msgspec.structs.replace(selection, include_redriven=include_redriven)
    letters = run(database_url, lambda conn: ops.dlq_list(conn, selection, limit=limit))
    if as_json:
        emit_json(letters)
    else:
        out().print(render.letters_table(letters))


@dlq_app.command("show")
def dlq_show_command(
    letter_id: Annotated[int, typer.Argument(help="The dead letter id.")],
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Show one dead letter: why it failed, with the traceback summary."""
    letter = run(database_url, lambda conn: ops.dlq_show(conn, letter_id))
    if as_json:
        emit_json(letter)
        return
    console = out()
    console.print(render.letters_table([letter]))
    console.print(f"[bold]error[/]: {render.text(letter.error)}", soft_wrap=True)
    if letter.traceback:
        console.print("[bold]traceback[/]")
        console.print(letter.traceback, markup=False, soft_wrap=True)
    console.print(f"event: buildify-events show {letter.event_id}")


@dataclass(frozen=True, slots=True)
class _How:
    """How to redrive or purge: the options both commands take."""

    everything: bool
    dry_run: bool
    actor: str | None
    database_url: str | None
    as_json: bool


def _how(
    everything: Everything = False, dry_run: DryRun = False, actor: Actor = None, database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> _How:
    """--all, --dry-run, --actor, --database-url, --json."""
    return _How(everything, dry_run, actor, database_url, as_json)


def _act(action: str, selection: ops.DeadLetterFilter, how: _How) -> None:
    """Redrive or purge the selection and say what happened."""
    if selection.is_empty and not how.everything:
        fail(f"say which dead letters to {action}: ids, --subscription, --error, --tenant or --type "
             "(or --all for every open letter)", EXIT_BAD_INPUT)
    operation = ops.dlq_redrive if action == "redrive" else ops.dlq_purge
    who = actor_or_me(how.actor)
    result = run(how.database_url, lambda conn: operation(conn, selection, actor=who, dry_run=how.dry_run))
    if how.as_json:
        emit_json(result)
        return
    console = out()
    if result.dry_run:
        console.print(f"dry run: would {action} {result.letters} dead letter(s); nothing was changed")
        console.print(render.letters_table(result.sample))
    elif action == "redrive":
        console.print(f"redrove {result.letters} dead letter(s): {result.deliveries} delivery(ies) pending again "
                      f"(audit #{result.audit_id})")
    else:
        console.print(f"purged {result.letters} dead letter(s) and {result.deliveries} dead delivery(ies) "
                      f"(audit #{result.audit_id})")


@dlq_app.command("redrive")
@option_group("selection", selected_letters)
@option_group("how", _how)
def dlq_redrive_command(selection: ops.DeadLetterFilter, how: _How, ids: LetterIds = None) -> None:
    """Deliver the chosen dead letters again (same event id, from attempt 1), recording who did it."""
    _act("redrive", msgspec.structs.replace(selection, ids=tuple(ids or ())), how)


@dlq_app.command("purge")
@option_group("selection", selected_letters)
@option_group("how", _how)
def dlq_purge_command(
    selection: ops.DeadLetterFilter,
    how: _How,
    ids: LetterIds = None,
    include_redriven: Annotated[
        bool, typer.Option("--include-redriven", help="Also delete letters already redriven.")
    ] = False,
) -> None:
    """Discard the chosen dead letters for good (recorded in the audit table)."""
    _act("purge", msgspec.structs.replace(selection, ids=tuple(ids or ()), include_redriven=include_redriven), how)
