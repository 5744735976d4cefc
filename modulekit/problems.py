"""The one exception-handler map of every service: any error becomes a `ProblemBody`.

Covered: our `Problem` hierarchy, Litestar's validation errors (msgspec), a malformed body
(recognised by the `SerializationException` Litestar chains, never by its message text),
framework HTTP errors (unknown route, wrong method), asyncpg constraint violations, and
anything else as a 500 that names no internals.
"""

import re
from collections.abc import Callable, Mapping
from typing import Any

import asyncpg
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException

from contracts.bodies import BadInput, check_body, check_url
from modulekit.errors import (
    PROBLEM_JSON,
    Conflict,
    FieldProblem,
    Forbidden,
    InternalError,
    InvalidInput,
    MalformedBody,
    MethodNotAllowed,
    NotFound,
    Problem,
    TooManyRequests,
    Unauthorized,
    Unavailable,
    Unprocessable,
)

log = structlog.get_logger("modulekit.problems")

AnyRequest = Request[Any, Any, Any]
_BY_STATUS: dict[int, type[Problem]] = {
    401: Unauthorized, 403: Forbidden, 404: NotFound, 405: MethodNotAllowed, 409: Conflict, 422: Unprocessable,
    429: TooManyRequests, 503: Unavailable,
}


def answer(problem: Problem, headers: Mapping[str, str] | None = None) -> Response[Any]:
    """The HTTP answer of a problem, with the RFC 9457 media type."""
    return Response(problem.body(), status_code=problem.status, media_type=PROBLEM_JSON, headers=headers)


def problem_error(_: AnyRequest, exc: Problem) -> Response[Any]:
    return answer(exc)


_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$\.?(?P<path>[^`]*)`)?$", re.DOTALL)
_MISSING = re.compile(r"missing required field `(?P<name>[^`]+)`")


def field_problem(key: str, message: str) -> FieldProblem:
    """One field problem; msgspec's body errors carry the field only in their text
    (`Expected `str`, got `int` - at `$.lines[0].amount``), so it is read from there."""
    parts = _AT.match(message)
    text, path = (parts["message"], parts["path"]) if parts else (message, None)
    missing = _MISSING.search(text)
    if missing:
        path = f"{path}.{missing['name']}" if path else missing["name"]
    if key == "data" or path:
        key = path or "body"
    return FieldProblem(field=key, message=text)


def field_problems(extra: object) -> list[FieldProblem]:
    """Litestar's validation details (`[{message, key, source}]`) as field problems."""
    items = extra if isinstance(extra, list) else []
    return [
        field_problem(str(item.get("key") or item.get("source") or "body"), str(item.get("message")))
        for item in items
        if isinstance(item, dict)
    ]


def http_error(request: AnyRequest, exc: HTTPException) -> Response[Any]:
    """Framework errors keep their status; the body says what to change, in our shape."""
    if isinstance(exc, ValidationException):
        errors = field_problems(exc.extra)
        sentence = "; ".join(f"{e.field}: {e.message}" for e in errors) or str(exc.detail)
        return answer(InvalidInput(f"The request is not valid: {sentence}", errors=errors or None))
    if isinstance(exc.__cause__, SerializationException):
        return answer(MalformedBody(f"The request body is not well-formed JSON: {exc.__cause__}"))
    headers = exc.headers or None
    if exc.status_code == 404:
        return answer(NotFound(f"There is no {request.method} {request.url.path} here"), headers)
    if exc.status_code == 405:
        return answer(MethodNotAllowed(f"{request.url.path} does not answer {request.method}"), headers)
    kind = _BY_STATUS.get(exc.status_code)
    if kind is not None:
        return answer(kind(str(exc.detail) or None), headers)
    if exc.status_code < 500:
        problem = InvalidInput(str(exc.detail) or None)
        return Response(problem.body(), status_code=exc.status_code, media_type=PROBLEM_JSON, headers=headers)
    log.error("server error", path=request.url.path, error=str(exc.detail))
    return answer(InternalError())


def database_error(request: AnyRequest, exc: asyncpg.PostgresError) -> Response[Any]:
    """Constraint violations that slipped past validation are the caller's to fix, not a 500."""
    constraint = getattr(exc, "constraint_name", None) or "a constraint"
    if isinstance(exc, asyncpg.UniqueViolationError):
        return answer(Conflict(f"That already exists ({constraint})"))
    if isinstance(exc, asyncpg.ForeignKeyViolationError):
        return answer(Conflict(f"That refers to a record that does not exist, or is still referred to ({constraint})"))
    if isinstance(exc, asyncpg.CheckViolationError | asyncpg.NotNullViolationError):
        return answer(Unprocessable(f"A value breaks a rule of the data ({constraint})"))
    if isinstance(exc, asyncpg.RaiseError):  # a trigger refusing the change says why in its own words
        return answer(Conflict(f"Refused by the database: {exc}"))
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return answer(Conflict(f"That conflicts with existing records ({constraint})"))
    if isinstance(exc, asyncpg.DataError):  # the database's own words stay in the log
        log.warning("data error", path=request.url.path, error=str(exc))
        return answer(InvalidInput("A value is out of the range the service can store (too large, too precise or "
                                   "not representable); check the numbers and dates you sent"))
    log.error("database error", path=request.url.path, error=str(exc))
    return answer(Unavailable("The database did not complete the request; try again"))


def unexpected_error(request: AnyRequest, exc: Exception) -> Response[Any]:
    """A 500 that names no internals; the traceback goes to the log."""
    if isinstance(exc, RecursionError):  # a structure deeper than the limits (kept as a net)
        return answer(InvalidInput("The request is nested too deeply"))
    if isinstance(exc, OSError | asyncpg.InterfaceError):
        return answer(Unavailable("The database is unreachable; try again shortly"))
    log.exception("unhandled error", path=request.url.path, error=repr(exc))
    return answer(InternalError())


async def reject_bad_input(request: AnyRequest) -> None:
    """App-wide `before_request`: no NUL in path, query or body, no body nested too deep (400, not 500)."""
    try:
        check_url(request.scope.get("raw_path") or request.url.path.encode(), request.scope.get("query_string", b""))
        if request.method in {"POST", "PUT", "PATCH", "DELETE"}:
            check_body(await request.body())
    except BadInput as exc:
        errors = [FieldProblem(field=exc.where, message=str(exc))] if exc.where else None
        raise InvalidInput(str(exc), errors=errors) from None


PROBLEM_HANDLERS: dict[type[Exception] | int, Callable[[AnyRequest, Any], Response[Any]]] = {
    Problem: problem_error,
    HTTPException: http_error,
    asyncpg.PostgresError: database_error,
    Exception: unexpected_error,
}
