"""`buildify-events`: see and repair the event bus from a terminal (also `python -m broker`).

    buildify-events list --type 'financial.#' --since 2h
    buildify-events show 01935c1e-...
    buildify-events tail --type 'core.*'
    buildify-events stats --window 15m
    buildify-events replay --type 'core.company.*' --since 2026-11-25 --until 2026-11-26 \\
        --subscription financial.create_default_accounts --dry-run
    buildify-events dlq list --subscription financial.create_default_accounts
    buildify-events dlq redrive --error 'timeout' --dry-run

Every command reads the bus database from `--database-url`, else `EVENT_BUS_CONNECTION_STRING`,
else `DATABASE_URL`, prints a table (or JSON with `--json`), and exits non-zero with one
sentence on stderr when it cannot do what was asked. Exit codes: 2 bad input (a malformed
pattern, time or id), 3 no such subscription / event / dead letter / run, 4 nothing matches,
5 the database does not answer, 6 the bus tables are missing, 1 anything else, 130 interrupted.
"""

import asyncio
import contextlib
import getpass
import importlib
import re
import socket
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, NoReturn, TypeVar
from urllib.parse import urlsplit
from uuid import UUID

import asyncpg
import msgspec
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from broker import ops
from broker.asyncapi_cli import asyncapi_command
from broker.errors import BusUnavailable, InvalidPattern
from broker.upcasting import Upcasters
from contracts.ids import uuid7

T = TypeVar("T")

EXIT_ERROR = 1
EXIT_BAD_INPUT = 2
EXIT_NOT_FOUND = 3
EXIT_EMPTY = 4
EXIT_UNAVAILABLE = 5
EXIT_SCHEMA = 6
EXIT_INTERRUPTED = 130

CONNECT_TIMEOUT = 5.0

app = typer.Typer(
    name="buildify-events",
    help="See and repair the Buildify event bus: events, deliveries, replays and dead letters.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
dlq_app = typer.Typer(help="Dead letters: list, show, redrive, purge.", no_args_is_help=True)
app.add_typer(dlq_app, name="dlq")
app.command("asyncapi")(asyncapi_command)
subscriptions_app = typer.Typer(help="Subscriptions: retire one that no code serves any more.", no_args_is_help=True)
app.add_typer(subscriptions_app, name="subscriptions")

# -- shared options -------------------------------------------------------------------------

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar=["EVENT_BUS_CONNECTION_STRING", "DATABASE_URL"],
        help="The bus database (env EVENT_BUS_CONNECTION_STRING or DATABASE_URL).",
        show_envvar=False,
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
TypePattern = Annotated[
    str | None, typer.Option("--type", "-t", help="Event type pattern: words, '*' one word, '#' any.")
]
Tenant = Annotated[str | None, typer.Option("--tenant", help="Tenant id.")]
Company = Annotated[str | None, typer.Option("--company", help="Company id.")]
Source = Annotated[str | None, typer.Option("--source", help="Publishing service.")]
Since = Annotated[
    str | None, typer.Option("--since", help="From: ISO time or date (UTC), or an age like 90s, 15m, 2h, 1d.")
]
Until = Annotated[str | None, typer.Option("--until", help="Before: same forms as --since.")]
Limit = Annotated[int, typer.Option("--limit", "-n", min=1, help="At most this many rows.")]
Actor = Annotated[
    str | None, typer.Option("--actor", help="Who is acting, for the audit table (default: user@host).")
]


def _err() -> Console:
    return Console(stderr=True, highlight=False)


def _out() -> Console:
    return Console(highlight=False, width=None if sys.stdout.isatty() else 200)


def _fail(message: str, code: int) -> NoReturn:
    _err().print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    raise typer.Exit(code)


def _emit_json(value: Any) -> None:
    sys.stdout.write(msgspec.json.encode(value).decode() + "\n")
    sys.stdout.flush()


# -- parsing ------------------------------------------------------------------------------------

_AGE = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text: str) -> float:
    """Seconds in '90', '90s', '15m', '2h', '1d' or '1w'; BadParameter otherwise."""
    text = text.strip().lower()
    with contextlib.suppress(ValueError):
        return float(text)
    match = _AGE.match(text)
    if not match:
        raise typer.BadParameter(f"{text!r} is not a duration; use e.g. 90s, 15m, 2h or 1d")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_when(text: str | None, *, now: datetime | None = None) -> datetime | None:
    """A point in time from an ISO date/time (naive means UTC) or an age ('2h' = two hours ago)."""
    if text is None:
        return None
    now = now or datetime.now(UTC)
    cleaned = text.strip()
    if cleaned.lower() == "now":
        return now
    if cleaned.lower() == "today":
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    if cleaned.lower() == "yesterday":
        return now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    if _AGE.match(cleaned.lower()):
        return now - timedelta(seconds=parse_duration(cleaned))
    try:
        value = datetime.fromisoformat(cleaned.replace("Z", "+00:00"))
    except ValueError:
        _fail(f"{text!r} is not a time; use 2026-11-25, 2026-11-25T14:00, or an age such as 2h", EXIT_BAD_INPUT)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _uuid(text: str | None, what: str) -> UUID | None:
    if text is None:
        return None
    try:
        return UUID(text)
    except ValueError:
        _fail(f"{text!r} is not a valid {what} (expected a UUID)", EXIT_BAD_INPUT)


def _event_filter(
    pattern: str | None,
    tenant: str | None,
    company: str | None,
    source: str | None,
    since: str | None,
    until: str | None,
    event_ids: list[str] | None = None,
) -> ops.EventFilter:
    ids = tuple(u for u in (_uuid(i, "event id") for i in event_ids or []) if u is not None)
    selection = ops.EventFilter(
        pattern=pattern,
        since=parse_when(since),
        until=parse_when(until),
        tenant_id=_uuid(tenant, "tenant id"),
        company_id=_uuid(company, "company id"),
        source=source,
        event_ids=ids,
    )
    if selection.since and selection.until and selection.since >= selection.until:
        _fail("--since must be earlier than --until", EXIT_BAD_INPUT)
    return selection


def _actor(actor: str | None) -> str:
    if actor:
        return actor
    try:
        user = getpass.getuser()
    except Exception:
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _where(url: str) -> str:
    """The database URL without its password, for messages."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
        return f"{host}{port}{parts.path}"
    except ValueError:
        return "the given URL"


# -- running ------------------------------------------------------------------------------------


@contextlib.contextmanager
def _errors_to_exit_codes(url: str) -> Iterator[None]:
    try:
        yield
    except InvalidPattern as exc:
        _fail(str(exc), EXIT_BAD_INPUT)
    except ops.OutOfScope as exc:
        _fail(str(exc), EXIT_BAD_INPUT)
    except (ops.UnknownSubscription, ops.InactiveSubscription, ops.UnknownEvent, ops.UnknownDeadLetter,
            ops.UnknownReplay) as exc:
        _fail(str(exc), EXIT_NOT_FOUND)
    except ops.EmptySelection as exc:
        _fail(str(exc), EXIT_EMPTY)
    except ops.SchemaMissing as exc:
        _fail(f"{exc}: the database at {_where(url)} has no bus tables", EXIT_SCHEMA)
    except BusUnavailable as exc:
        _fail(f"{exc} ({_where(url)})", EXIT_UNAVAILABLE)
    except ops.OpsError as exc:
        _fail(str(exc), EXIT_ERROR)
    except (KeyboardInterrupt, asyncio.CancelledError):
        _fail("interrupted", EXIT_INTERRUPTED)


async def _connect(url: str) -> asyncpg.Connection:
    try:
        return await asyncio.wait_for(asyncpg.connect(url, timeout=CONNECT_TIMEOUT), CONNECT_TIMEOUT + 1)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        reason = str(exc) or type(exc).__name__
        raise BusUnavailable(f"the bus database does not answer: {reason}") from exc


def _run(url: str | None, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Connect, run `work`, close; every failure becomes one sentence and an exit code."""
    if not url:
        _fail("no database: pass --database-url or set EVENT_BUS_CONNECTION_STRING or DATABASE_URL",
              EXIT_BAD_INPUT)

    async def main() -> T:
        conn = await _connect(url)
        try:
            return await work(conn)
        except (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError) as exc:
            raise BusUnavailable(f"lost the bus database: {exc}") from exc
        except asyncpg.UndefinedTableError as exc:
            raise ops.SchemaMissing(str(exc)) from exc
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2)

    with _errors_to_exit_codes(url):
        return asyncio.run(main())
    raise AssertionError("unreachable")  # pragma: no cover - _errors_to_exit_codes exits


# -- rendering ----------------------------------------------------------------------------------


def _t(value: datetime | None) -> str:
    return "" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def _short(value: object | None) -> str:
    return "" if value is None else str(value)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return ""
    if seconds < 120:
        return f"{seconds:.1f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}m"
    if seconds < 172800:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86400:.1f}d"


def _events_table(events: list[ops.EventSummary]) -> Table:
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
        table.add_row(str(e.id), e.type, e.source, _short(e.tenant_id), _t(e.recorded_at), str(e.version),
                      str(e.pending), str(e.done), f"[red]{e.dead}[/]" if e.dead else "0")
    return table


def _letters_table(letters: list[ops.DeadLetter]) -> Table:
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
        redriven = f"{_t(dl.redriven_at)} by {dl.redriven_by}" if dl.redriven_at else ""
        table.add_row(str(dl.id), dl.subscription, str(dl.event_id), _short(dl.event_type), str(dl.attempts),
                      _t(dl.failed_at), dl.reason, redriven)
    return table


def _pretty_json(value: Any) -> str:
    return msgspec.json.format(msgspec.json.encode(value), indent=2).decode()


# -- commands -----------------------------------------------------------------------------------


@app.command("list")
def list_command(
    pattern: TypePattern = None,
    tenant: Tenant = None,
    company: Company = None,
    source: Source = None,
    since: Since = None,
    until: Until = None,
    limit: Limit = 50,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """List events, newest first, with how their deliveries stand."""
    selection = _event_filter(pattern, tenant, company, source, since, until)
    with _errors_to_exit_codes(database_url or ""):
        selection.params()
    events = _run(database_url, lambda conn: ops.list_events(conn, selection, limit=limit))
    if as_json:
        _emit_json(events)
    else:
        _out().print(_events_table(events))


def _load_upcasters(spec: str | None) -> Upcasters | None:
    if not spec:
        return None
    module_name, _, attr = spec.partition(":")
    try:
        value = getattr(importlib.import_module(module_name), attr or "upcasters")
    except (ImportError, AttributeError) as exc:
        _fail(f"cannot load upcasters from {spec!r}: {exc}", EXIT_BAD_INPUT)
    if not isinstance(value, Upcasters):
        _fail(f"{spec!r} is a {type(value).__name__}, not broker.upcasting.Upcasters", EXIT_BAD_INPUT)
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
    eid = _uuid(event_id, "event id")
    assert eid is not None
    registry = _load_upcasters(upcasters)
    detail = _run(database_url, lambda conn: ops.show_event(conn, eid, upcasters=registry))
    if as_json:
        _emit_json(detail)
        return
    out = _out()
    e = detail.event
    envelope = Table.grid(padding=(0, 2))
    envelope.add_column(style="bold")
    envelope.add_column()
    for name, value in [
        ("id", e.id), ("type", e.type), ("version", e.version), ("source", e.source),
        ("tenant", e.tenant_id), ("company", e.company_id), ("ordering key", e.ordering_key),
        ("occurred", _t(e.occurred_at)), ("recorded", _t(e.recorded_at)),
        ("correlation", e.correlation_id), ("causation", e.causation_id), ("expires", _t(detail.expires_at)),
    ]:
        envelope.add_row(name, _short(value))
    out.print(envelope)
    out.print("[bold]payload[/]")
    out.print(_pretty_json(detail.payload), markup=False)
    if detail.current_version is not None and detail.current_version != e.version:
        out.print(f"[bold]payload as v{detail.current_version} (upcast)[/]")
        out.print(_pretty_json(detail.current_payload), markup=False)
    if detail.upcast_error:
        out.print(f"[red]upcast failed:[/] {detail.upcast_error}")
    table = Table(title="deliveries")
    for column in ("subscription", "status", "attempts", "available (UTC)", "locked by", "last error"):
        table.add_column(column)
    for d in detail.deliveries:
        table.add_row(d.subscription, d.status, str(d.attempts), _t(d.available_at), _short(d.locked_by),
                      _short(d.last_error))
    out.print(table)
    if detail.dead_letters:
        out.print(_letters_table(detail.dead_letters))


@app.command("tail")
def tail_command(
    pattern: TypePattern = None,
    tenant: Tenant = None,
    company: Company = None,
    source: Source = None,
    since: Annotated[str | None, typer.Option("--since", help="Start this far back (default: now).")] = None,
    count: Annotated[int | None, typer.Option("--count", min=1, help="Stop after this many events.")] = None,
    timeout: Annotated[float | None, typer.Option("--timeout", help="Stop after this many seconds.")] = None,
    poll: Annotated[float, typer.Option("--poll", help="Poll at least this often (seconds).")] = 1.0,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Follow events as they reach the bus (LISTEN on bus_deliveries/bus_outbox, and polling)."""
    selection = _event_filter(pattern, tenant, company, source, None, None)
    with _errors_to_exit_codes(database_url or ""):
        selection.params()
    asked = parse_when(since)
    out = _out()

    async def follow(conn: asyncpg.Connection) -> int:
        wake = asyncio.Event()

        def on_notify(*_args: object) -> None:
            wake.set()

        for channel in ("bus_deliveries", "bus_outbox"):
            await conn.add_listener(channel, on_notify)
        # "Now" is the database's clock, which stamps recorded_at, not this machine's.
        start: datetime = asked or await conn.fetchval("SELECT now()")
        _err().print(f"following events since {_t(start)} UTC (Ctrl-C to stop)")
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
                    _emit_json(item)
                else:
                    e = item.event
                    out.print(f"{_t(e.recorded_at)}  {e.type}  {e.id}  source={e.source} "
                              f"tenant={_short(e.tenant_id)}  {msgspec.json.encode(item.payload).decode()}",
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

    _run(database_url, follow)


@app.command("stats")
def stats_command(
    window: Annotated[str, typer.Option("--window", "-w", help="Rates over this period: 5m, 1h, ...")] = "5m",
    tenant: Tenant = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Rates, backlog per subscription, oldest pending age, retries and dead letters."""
    seconds = parse_duration(window)
    tenant_id = _uuid(tenant, "tenant id")
    snapshot = _run(database_url, lambda conn: ops.stats(conn, window=seconds, tenant=tenant_id))
    if as_json:
        _emit_json(snapshot)
        return
    out = _out()
    out.print(
        f"last {window}: {snapshot.events} event(s) ({snapshot.events_per_second}/s), "
        f"{snapshot.delivered} delivered ({snapshot.delivered_per_second}/s, "
        f"{snapshot.delivered_after_retry} after a retry), {snapshot.dead_lettered} dead-lettered"
    )
    out.print(
        f"now: {snapshot.pending} pending, {snapshot.retrying} waiting to retry, oldest pending "
        f"{_age(snapshot.oldest_pending_seconds) or '-'}, {snapshot.dead_letters_open} open dead letter(s)"
        + (f", outbox {snapshot.outbox_rows} row(s)"
           f" (oldest {_age(snapshot.outbox_oldest_seconds) or '-'})" if snapshot.outbox_rows is not None else "")
    )
    table = Table(title="subscriptions")
    for column in ("subscription", "pattern", "active", "prio", "pending", "due", "in flight", "retrying",
                   "oldest pending", "dead letters"):
        table.add_column(column, no_wrap=column == "subscription")
    for s in snapshot.subscriptions:
        active = ("[red]unserved[/]" if s.unserved else "yes") if s.active else "[dim]no[/]"
        table.add_row(s.name, s.pattern, active, str(s.priority), str(s.pending),
                      str(s.due), str(s.in_flight), str(s.retrying), _age(s.oldest_pending_seconds),
                      f"[red]{s.dead_letters}[/]" if s.dead_letters else "0")
    out.print(table)
    if snapshot.types:
        types = Table(title=f"event types, last {window}")
        types.add_column("type")
        types.add_column("events", justify="right")
        for t in snapshot.types:
            types.add_row(t.event_type, str(t.events))
        out.print(types)


@app.command("replay")
def replay_command(
    pattern: TypePattern = None,
    tenant: Tenant = None,
    company: Company = None,
    source: Source = None,
    since: Since = None,
    until: Until = None,
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
    resume_id = _uuid(resume, "run id")
    if resume_id is None and subscription is None and not all_subscriptions:
        _fail("say where to replay: --subscription NAME, or --all-subscriptions", EXIT_BAD_INPUT)
    if subscription is not None and all_subscriptions:
        _fail("--subscription and --all-subscriptions exclude each other", EXIT_BAD_INPUT)
    selection = _event_filter(pattern, tenant, company, source, since, until, event_ids)
    with _errors_to_exit_codes(database_url or ""):
        selection.params()
    who = _actor(actor)
    run_id = None if resume_id else uuid7()
    err = _err()
    show_progress = not as_json and not dry_run

    async def work(conn: asyncpg.Connection) -> ops.ReplayResult:
        bar: list[tuple[Progress, Any]] = []

        def on_progress(p: ops.ReplayProgress) -> None:
            if not bar:
                err.print(f"replay {p.run_id}: if it stops, continue with "
                          f"buildify-events replay --resume {p.run_id}", soft_wrap=True)
                progress = Progress(TextColumn("replay"), BarColumn(), MofNCompleteColumn(),
                                    TextColumn("events"), TimeRemainingColumn(), console=err,
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

    result = _run(database_url, work)
    if as_json:
        _emit_json(result)
        return
    out = _out()
    if result.dry_run:
        out.print(f"dry run: would replay {result.events} event(s) as {result.deliveries} delivery(ies) "
                  f"into {', '.join(result.subscriptions)}; nothing was changed")
        table = Table(title=f"first {len(result.sample)} event(s)")
        for column in ("id", "type", "tenant", "recorded (UTC)", "to"):
            table.add_column(column, no_wrap=column in ("id", "type"))
        for s in result.sample:
            table.add_row(str(s.id), s.type, _short(s.tenant_id), _t(s.recorded_at), ", ".join(s.subscriptions))
        out.print(table)
        return
    rate_text = f" ({result.events / result.seconds:,.0f} events/s)" if result.seconds > 0 else ""
    out.print(f"replayed {result.events} event(s) as {result.deliveries} delivery(ies) into "
              f"{', '.join(result.subscriptions)} in {result.seconds:.2f}s{rate_text}; run {result.run_id}")


def _letter_filter(
    subscription: str | None,
    error: str | None,
    tenant: str | None,
    pattern: str | None,
    ids: list[int] | None,
    include_redriven: bool = False,
) -> ops.DeadLetterFilter:
    selection = ops.DeadLetterFilter(
        subscription=subscription, error=error, tenant_id=_uuid(tenant, "tenant id"), pattern=pattern,
        ids=tuple(ids or ()), include_redriven=include_redriven,
    )
    with _errors_to_exit_codes(""):
        selection.params()
    return selection


LetterSubscription = Annotated[str | None, typer.Option("--subscription", "-s", help="Subscription name.")]
LetterError = Annotated[str | None, typer.Option("--error", help="Text in the reason or error.")]
LetterIds = Annotated[list[int] | None, typer.Argument(help="Dead letter ids.", show_default=False)]


@dlq_app.command("list")
def dlq_list_command(
    subscription: LetterSubscription = None,
    error: LetterError = None,
    tenant: Tenant = None,
    pattern: TypePattern = None,
    include_redriven: Annotated[bool, typer.Option("--include-redriven", help="Also redriven ones.")] = False,
    limit: Limit = 50,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """List dead letters, newest first."""
    selection = _letter_filter(subscription, error, tenant, pattern, None, include_redriven)
    letters = _run(database_url, lambda conn: ops.dlq_list(conn, selection, limit=limit))
    if as_json:
        _emit_json(letters)
    else:
        _out().print(_letters_table(letters))


@dlq_app.command("show")
def dlq_show_command(
    letter_id: Annotated[int, typer.Argument(help="The dead letter id.")],
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Show one dead letter: why it failed, with the traceback summary."""
    letter = _run(database_url, lambda conn: ops.dlq_show(conn, letter_id))
    if as_json:
        _emit_json(letter)
        return
    out = _out()
    out.print(_letters_table([letter]))
    out.print(f"[bold]error[/]: {_short(letter.error)}", soft_wrap=True)
    if letter.traceback:
        out.print("[bold]traceback[/]")
        out.print(letter.traceback, markup=False, soft_wrap=True)
    out.print(f"event: buildify-events show {letter.event_id}")


def _dlq_action(
    action: str,
    ids: list[int] | None,
    subscription: str | None,
    error: str | None,
    tenant: str | None,
    pattern: str | None,
    include_redriven: bool,
    everything: bool,
    dry_run: bool,
    actor: str | None,
    database_url: str | None,
    as_json: bool,
) -> None:
    selection = _letter_filter(subscription, error, tenant, pattern, ids, include_redriven)
    if selection.is_empty and not everything:
        _fail(f"say which dead letters to {action}: ids, --subscription, --error, --tenant or --type "
              "(or --all for every open letter)", EXIT_BAD_INPUT)
    run = ops.dlq_redrive if action == "redrive" else ops.dlq_purge
    who = _actor(actor)
    result = _run(database_url, lambda conn: run(conn, selection, actor=who, dry_run=dry_run))
    if as_json:
        _emit_json(result)
        return
    out = _out()
    if result.dry_run:
        out.print(f"dry run: would {action} {result.letters} dead letter(s); nothing was changed")
        out.print(_letters_table(result.sample))
    elif action == "redrive":
        out.print(f"redrove {result.letters} dead letter(s): {result.deliveries} delivery(ies) pending again "
                  f"(audit #{result.audit_id})")
    else:
        out.print(f"purged {result.letters} dead letter(s) and {result.deliveries} dead delivery(ies) "
                  f"(audit #{result.audit_id})")


Everything = Annotated[bool, typer.Option("--all", help="Every open dead letter (no other filter needed).")]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would happen; change nothing.")]


@dlq_app.command("redrive")
def dlq_redrive_command(
    ids: LetterIds = None,
    subscription: LetterSubscription = None,
    error: LetterError = None,
    tenant: Tenant = None,
    pattern: TypePattern = None,
    everything: Everything = False,
    dry_run: DryRun = False,
    actor: Actor = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Deliver the chosen dead letters again (same event id, from attempt 1), recording who did it."""
    _dlq_action("redrive", ids, subscription, error, tenant, pattern, False, everything, dry_run, actor,
                database_url, as_json)


@dlq_app.command("purge")
def dlq_purge_command(
    ids: LetterIds = None,
    subscription: LetterSubscription = None,
    error: LetterError = None,
    tenant: Tenant = None,
    pattern: TypePattern = None,
    include_redriven: Annotated[
        bool, typer.Option("--include-redriven", help="Also delete letters already redriven.")
    ] = False,
    everything: Everything = False,
    dry_run: DryRun = False,
    actor: Actor = None,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Discard the chosen dead letters for good (recorded in the audit table)."""
    _dlq_action("purge", ids, subscription, error, tenant, pattern, include_redriven, everything, dry_run,
                actor, database_url, as_json)


@app.command("audit")
def audit_command(
    limit: Limit = 50,
    database_url: DatabaseUrl = None,
    as_json: AsJson = False,
) -> None:
    """Show the latest replays, redrives and purges: who, when, what, how many."""
    entries = _run(database_url, lambda conn: ops.list_audit(conn, limit=limit))
    if as_json:
        _emit_json(entries)
        return
    table = Table(title="operations")
    for column in ("id", "action", "actor", "started (UTC)", "status", "affected", "selection"):
        table.add_column(column)
    for a in entries:
        table.add_row(str(a.id), a.action, a.actor, _t(a.started_at), a.status, str(a.affected),
                      msgspec.json.encode(a.selection).decode())
    _out().print(table)


@subscriptions_app.command("retire")
def subscriptions_retire_command(
    name: Annotated[str, typer.Argument(help="The subscription, e.g. financial.create_default_accounts.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Switch a subscription off: no new deliveries, pending ones stay (replay or purge them)."""
    pending = _run(database_url, lambda conn: ops.retire_subscription(conn, name))
    _out().print(f"retired {name}; {pending} pending delivery(ies) left as they are")


@subscriptions_app.command("activate")
def subscriptions_activate_command(
    name: Annotated[str, typer.Argument(help="The subscription to switch on again.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Switch a retired subscription on again (events published meanwhile are not backfilled:
    replay them)."""
    _run(database_url, lambda conn: ops.retire_subscription(conn, name, active=True))
    _out().print(f"activated {name}")


@app.command("events-log")
def events_log_command(
    logged: Annotated[bool, typer.Option("--logged/--unlogged", help="Durable (WAL) or UNLOGGED events log.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Switch the events log between LOGGED and UNLOGGED (rewrites it under an exclusive lock:
    run it while the bus is quiet). Services never switch it on their own."""
    from broker import schema

    changed = _run(database_url, lambda conn: schema.set_events_logged(conn, logged=logged))
    state = "logged" if logged else "unlogged"
    _out().print(f"the events log is now {state}" if changed else f"the events log was already {state}")


def main() -> None:
    """Entry point of the `buildify-events` console script and `python -m broker`."""
    app()
