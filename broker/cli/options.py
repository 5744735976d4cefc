"""The options commands share, declared once: typer `Annotated` aliases, and option groups that
hand a command one value (an event selection, a dead-letter selection) instead of six flags."""

import contextlib
import functools
import inspect
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, TypeVar
from uuid import UUID

import msgspec
import typer

from broker import ops
from broker.cli.running import EXIT_BAD_INPUT, errors_to_exit_codes, fail

F = TypeVar("F", bound=Callable[..., Any])

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
DryRun = Annotated[bool, typer.Option("--dry-run", help="Show what would happen; change nothing.")]
LetterSubscription = Annotated[str | None, typer.Option("--subscription", "-s", help="Subscription name.")]
LetterError = Annotated[str | None, typer.Option("--error", help="Text in the reason or error.")]
LetterIds = Annotated[list[int] | None, typer.Argument(help="Dead letter ids.", show_default=False)]
Everything = Annotated[bool, typer.Option("--all", help="Every open dead letter (no other filter needed).")]


def option_group(name: str, build: Callable[..., Any]) -> Callable[[F], F]:
    """Replace the command's parameter `name` by the parameters of `build` (typer options):
    typer sees those options, and the command gets `build(**their values)` as `name`."""
    group = list(inspect.signature(build).parameters.values())

    def decorate(command: F) -> F:
        signature = inspect.signature(command)
        params: list[inspect.Parameter] = []
        for param in signature.parameters.values():
            params.extend(group if param.name == name else [param])

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> Any:
            kwargs[name] = build(**{p.name: kwargs.pop(p.name) for p in group})
            return command(**kwargs)

        wrapper.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {
            **{k: v for k, v in command.__annotations__.items() if k != name},
            **{p.name: p.annotation for p in group},
        }
        return wrapper  # type: ignore[return-value]

    return decorate


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
        fail(f"{text!r} is not a time; use 2026-11-25, 2026-11-25T14:00, or an age such as 2h", EXIT_BAD_INPUT)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_uuid(text: str | None, what: str) -> UUID | None:
    """A UUID from the command line, or exit 2 naming what was expected."""
    if text is None:
        return None
    try:
        return UUID(text)
    except ValueError:
        fail(f"{text!r} is not a valid {what} (expected a UUID)", EXIT_BAD_INPUT)


# -- option groups ------------------------------------------------------------------------------


def _validated(selection: ops.EventFilter) -> ops.EventFilter:
    with errors_to_exit_codes(""):
        selection.params()  # a malformed pattern exits 2 before any connection is made
    return selection


def followed_events(
    pattern: TypePattern = None, tenant: Tenant = None, company: Company = None, source: Source = None
) -> ops.EventFilter:
    """Which kind of events: --type, --tenant, --company, --source."""
    return _validated(ops.EventFilter(
        pattern=pattern, tenant_id=parse_uuid(tenant, "tenant id"), company_id=parse_uuid(company, "company id"),
        source=source,
    ))


@option_group("kind", followed_events)
def selected_events(kind: ops.EventFilter, since: Since = None, until: Until = None) -> ops.EventFilter:
    """Which events: the kind, and --since / --until."""
    selection = msgspec.structs.replace(kind, since=parse_when(since), until=parse_when(until))
    if selection.since and selection.until and selection.since >= selection.until:
        fail("--since must be earlier than --until", EXIT_BAD_INPUT)
    return selection


def selected_letters(
    subscription: LetterSubscription = None, error: LetterError = None, tenant: Tenant = None,
    pattern: TypePattern = None,
) -> ops.DeadLetterFilter:
    """Which dead letters: --subscription, --error, --tenant, --type."""
    selection = ops.DeadLetterFilter(
        subscription=subscription, error=error, tenant_id=parse_uuid(tenant, "tenant id"), pattern=pattern,
    )
    with errors_to_exit_codes(""):
        selection.params()
    return selection
