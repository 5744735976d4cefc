"""How a command runs: connect, do the work, close, and turn every failure into one sentence
on stderr and an exit code."""

import asyncio
import contextlib
import getpass
import socket
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit

import asyncpg
import msgspec
import typer
from rich.console import Console

from broker import ops
from broker.errors import BusUnavailable, InvalidPattern

T = TypeVar("T")

EXIT_ERROR = 1
EXIT_BAD_INPUT = 2
EXIT_NOT_FOUND = 3
EXIT_EMPTY = 4
EXIT_UNAVAILABLE = 5
EXIT_SCHEMA = 6
EXIT_INTERRUPTED = 130

CONNECT_TIMEOUT = 5.0


def err() -> Console:
    return Console(stderr=True, highlight=False)


def out() -> Console:
    return Console(highlight=False, width=None if sys.stdout.isatty() else 200)


def fail(message: str, code: int) -> NoReturn:
    """Say what went wrong in one sentence on stderr and exit with `code`."""
    err().print(f"[bold red]error:[/] {message}", markup=True, soft_wrap=True)
    raise typer.Exit(code)


def emit_json(value: Any) -> None:
    sys.stdout.write(msgspec.json.encode(value).decode() + "\n")
    sys.stdout.flush()


def actor_or_me(actor: str | None) -> str:
    """Who is acting, for the audit table: as given, else user@host."""
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


@contextlib.contextmanager
def errors_to_exit_codes(url: str) -> Iterator[None]:
    try:
        yield
    except InvalidPattern as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    except ops.OutOfScope as exc:
        fail(str(exc), EXIT_BAD_INPUT)
    except (ops.UnknownSubscription, ops.InactiveSubscription, ops.UnknownEvent, ops.UnknownDeadLetter,
            ops.UnknownReplay) as exc:
        fail(str(exc), EXIT_NOT_FOUND)
    except ops.EmptySelection as exc:
        fail(str(exc), EXIT_EMPTY)
    except ops.SchemaMissing as exc:
        fail(f"{exc}: the database at {_where(url)} has no bus tables", EXIT_SCHEMA)
    except BusUnavailable as exc:
        fail(f"{exc} ({_where(url)})", EXIT_UNAVAILABLE)
    except ops.OpsError as exc:
        fail(str(exc), EXIT_ERROR)
    except (KeyboardInterrupt, asyncio.CancelledError):
        fail("interrupted", EXIT_INTERRUPTED)


async def _connect(url: str) -> asyncpg.Connection:
    try:
        return await asyncio.wait_for(asyncpg.connect(url, timeout=CONNECT_TIMEOUT), CONNECT_TIMEOUT + 1)
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        reason = str(exc) or type(exc).__name__
        raise BusUnavailable(f"the bus database does not answer: {reason}") from exc


def run(url: str | None, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Connect, run `work`, close; every failure becomes one sentence and an exit code."""
    if not url:
        fail("no database: pass --database-url or set EVENT_BUS_CONNECTION_STRING or DATABASE_URL",
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

    with errors_to_exit_codes(url):
        return asyncio.run(main())
    raise AssertionError("unreachable")  # pragma: no cover - errors_to_exit_codes exits
