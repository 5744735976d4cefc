"""Core's domain errors and the one mapper that turns any exception into an ErrorBody answer.

Each error's docstring is its default sentence; `code` is stable for clients; `extra` carries
the details a client can act on (the failing fields, a plan).
"""

from typing import Any

import asyncpg
import msgspec
import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException

from contracts.api import ErrorBody
from contracts.bodies import BadInput, check_body, check_url

log = structlog.get_logger("core.errors")


class CoreError(Exception):
    """The request could not be completed."""

    status_code = 400
    code = "error"

    def __init__(self, detail: str | None = None, *, extra: dict[str, Any] | list[Any] | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.detail = detail or (type(self).__doc__ or "error").strip()
        self.extra = extra
        self.headers = headers or {}
        super().__init__(self.detail)


class NotAuthenticated(CoreError):
    """A valid bearer token (or module key) is required."""

    status_code = 401
    code = "not_authenticated"


class Forbidden(CoreError):
    """You lack the permission this needs."""

    status_code = 403
    code = "forbidden"


class NotFound(CoreError):
    """Nothing with that id exists (or it belongs to another tenant)."""

    status_code = 404
    code = "not_found"


class Conflict(CoreError):
    """That conflicts with what exists already."""

    status_code = 409
    code = "conflict"


class Invalid(CoreError):
    """The request is not valid."""

    status_code = 422
    code = "invalid"


class BadRequest(CoreError):
    """The request cannot be accepted as sent."""

    status_code = 400
    code = "invalid_input"


class TooManyAttempts(CoreError):
    """Too many failed attempts; wait before trying again."""

    status_code = 429
    code = "too_many_attempts"

    def __init__(self, detail: str | None = None, *, retry_after: int) -> None:
        super().__init__(detail, extra={"retry_after": retry_after}, headers={"Retry-After": str(retry_after)})


class Busy(CoreError):
    """Core is busy with other requests of this kind; try again in a moment."""

    status_code = 503
    code = "busy"

    def __init__(self, detail: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(detail, extra={"retry_after": retry_after}, headers={"Retry-After": str(retry_after)})


def _field_of(message: str) -> str | None:
    marker = "at `$."
    if marker in message:
        return message.split(marker, 1)[1].split("`", 1)[0]
    return None


def _from_http(exc: HTTPException) -> ErrorBody:
    if isinstance(exc, ValidationException):
        extra = exc.extra if isinstance(exc.extra, list | dict) else None
        messages = [str(e.get("message", "")) for e in extra if isinstance(e, dict)] if isinstance(extra, list) else []
        detail = "; ".join(m for m in messages if m) or str(exc.detail)
        if "Malformed" in str(exc.detail) or "JSON is malformed" in detail or "malformed" in detail.lower():
            return ErrorBody(
                status_code=400, code="malformed_body", detail=f"The request body (body) is not valid JSON: {detail}"
            )
        keys = [str(e["key"]) for e in extra or [] if isinstance(e, dict) and e.get("key")]
        field = next((f for f in map(_field_of, messages) if f), None) or (keys[0] if keys else None)
        code = "invalid_field" if field else "invalid_request"
        where = f" (field `{field}`)" if field else ""
        return ErrorBody(status_code=400, code=code, detail=f"Invalid request{where}: {detail}", extra=extra)
    status = exc.status_code
    code = {401: "not_authenticated", 403: "forbidden", 404: "not_found", 405: "method_not_allowed"}.get(
        status, "http_error"
    )
    return ErrorBody(status_code=status, code=code, detail=str(exc.detail))


def to_error_body(exc: Exception) -> ErrorBody:
    """The ErrorBody of any exception; unknown ones are logged and answer 500 without internals."""
    if isinstance(exc, CoreError):
        return ErrorBody(status_code=exc.status_code, code=exc.code, detail=exc.detail, extra=exc.extra)
    if isinstance(exc, HTTPException):
        return _from_http(exc)
    if isinstance(exc, asyncpg.DataError | OverflowError):  # e.g. an id past int64; PostgreSQL's text stays here
        log.warning("value out of range", error=str(exc))
        return ErrorBody(status_code=400, code="invalid_input",
                         detail="A value in the request is out of the range core can store or look up.")
    if isinstance(exc, RecursionError):  # a structure deeper than the limits (kept as a net)
        return ErrorBody(status_code=400, code="invalid_input", detail="The request is nested too deeply.")
    if isinstance(exc, msgspec.ValidationError):
        return ErrorBody(status_code=400, code="invalid_field", detail=f"Invalid request: {exc}")
    log.error("unhandled error", exc_info=exc)
    return ErrorBody(status_code=500, code="internal_error", detail="Core failed to answer; the error is logged.")


async def reject_bad_input(request: Request[Any, Any, Any]) -> None:
    """App-wide `before_request`: no NUL in path, query or body, no body nested too deep (400, not 500)."""
    try:
        check_url(request.scope.get("raw_path") or request.url.path.encode(), request.scope.get("query_string", b""))
        if request.method in {"POST", "PUT", "PATCH", "DELETE"}:
            check_body(await request.body())
    except BadInput as exc:
        raise BadRequest(str(exc), extra={"field": exc.where} if exc.where else None) from None


def error_response(_request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorBody]:
    """Litestar exception handler: every error answer of core is an ErrorBody."""
    body = to_error_body(exc)
    headers = exc.headers if isinstance(exc, CoreError) else None
    return Response(content=body, status_code=body.status_code, media_type=MediaType.JSON, headers=headers)
