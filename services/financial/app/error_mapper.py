"""The one place where errors become HTTP answers: `contracts.api.ErrorBody` with a sentence."""

from typing import Any

import asyncpg
import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from contracts.api import ErrorBody
from contracts.bodies import BadInput, check_body, check_url
from services.financial.app.errors import FinancialError, InvalidInput

log = structlog.get_logger("financial.errors")


def _answer(status: int, detail: str, code: str, extra: Any = None) -> Response[ErrorBody]:
    return Response(ErrorBody(status_code=status, detail=detail, code=code, extra=extra), status_code=status)


def domain_error(_: Request[Any, Any, Any], exc: FinancialError) -> Response[ErrorBody]:
    return _answer(exc.status_code, exc.message, exc.code, exc.extra)


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[ErrorBody]:
    """Framework errors (bad JSON, wrong types, unknown route) keep their status; validation
    problems are spelled out in the sentence, not only in `extra`."""
    detail = exc.detail
    extra = exc.extra if isinstance(exc.extra, dict | list) else None
    if isinstance(exc, ValidationException):
        problems = [
            f"{item.get('message')} ({item.get('key')})" if item.get("key") else str(item.get("message"))
            for item in (extra if isinstance(extra, list) else [])
            if isinstance(item, dict)
        ]
        detail = "The request is not valid: " + "; ".join(problems) if problems else (
            f"The request is not valid: {detail}"
        )
        return _answer(400, detail, "invalid_input", extra)
    code = {401: "not_authenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}.get(
        exc.status_code, "error"
    )
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"There is no {request.method} {request.url.path} in the financial API"
    return _answer(exc.status_code, detail, code, extra)


def database_error(request: Request[Any, Any, Any], exc: asyncpg.PostgresError) -> Response[ErrorBody]:
    """Constraint violations that slipped past validation are the caller's conflict, not ours."""
    if isinstance(exc, asyncpg.RaiseError):
        return _answer(409, f"Refused by the ledger: {exc}", "conflict")
    if isinstance(exc, asyncpg.IntegrityConstraintViolationError):
        return _answer(409, f"That conflicts with existing records ({exc.constraint_name})", "conflict")  # type: ignore[attr-defined]
    if isinstance(exc, asyncpg.DataError):  # the database's own words stay in the log, not in the answer
        log.warning("data error", path=request.url.path, error=str(exc))
        return _answer(400, "A value is out of the range the ledger can store (too large, too precise or not "
                            "representable); check the numbers and dates you sent", "invalid_input")
    log.error("database error", path=request.url.path, error=str(exc))
    return _answer(503, "The financial database did not complete the request; try again", "database_error")


def unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    if isinstance(exc, RecursionError):  # a structure deeper than the limits (kept as a net)
        return _answer(400, "The request is nested too deeply", "invalid_input")
    if isinstance(exc, OSError | asyncpg.InterfaceError):
        return _answer(503, "The financial database is unreachable; try again shortly", "unavailable")
    log.exception("unhandled error", path=request.url.path, error=repr(exc))
    return _answer(500, "The financial service failed unexpectedly; the error was logged", "internal_error")


async def reject_bad_input(request: Request[Any, Any, Any]) -> None:
    """App-wide `before_request`: no NUL in path, query or body, no body nested too deep (400, not 500)."""
    try:
        check_url(request.scope.get("raw_path") or request.url.path.encode(), request.scope.get("query_string", b""))
        if request.method in {"POST", "PUT", "PATCH", "DELETE"}:
            check_body(await request.body())
    except BadInput as exc:
        raise InvalidInput(str(exc), extra={"field": exc.where} if exc.where else None) from None


HANDLERS: dict[type[Exception], Any] = {
    FinancialError: domain_error,
    HTTPException: http_error,
    asyncpg.PostgresError: database_error,
    Exception: unexpected_error,
}
