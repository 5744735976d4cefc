"""Core's problems: the kit's one hierarchy (RFC 9457 `application/problem+json`) with core's facts.

Each class's docstring is its default sentence and its `code` the problem `type` clients match on.
`field=` names the input a problem concerns (it becomes the body's `errors: [{field, message}]`);
problems that ask the caller to wait carry a `Retry-After` header.
"""

from collections.abc import Callable
from typing import Any, ClassVar

import msgspec
from litestar import Request, Response

from modulekit import errors as kit
from modulekit.errors import FieldProblem
from modulekit.problems import PROBLEM_HANDLERS, answer


class CoreProblem(kit.Problem):
    """The request could not be completed."""

    def __init__(self, detail: str | None = None, *, field: str | None = None,
                 errors: list[FieldProblem] | None = None) -> None:
        super().__init__(detail, errors=errors)
        if field is not None and errors is None:
            self.errors = [FieldProblem(field=field, message=self.detail)]


class Waiting(CoreProblem):
    """Try again later; `Retry-After` says when."""

    def __init__(self, detail: str | None = None, *, retry_after: int = 1) -> None:
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after)}


class NotAuthenticated(CoreProblem, kit.Unauthorized):
    """A valid bearer token (or module key) is required."""


class Forbidden(CoreProblem, kit.Forbidden):
    """You lack the permission this needs."""


class NotFound(CoreProblem, kit.NotFound):
    """Nothing with that id exists (or it belongs to another tenant)."""


class Conflict(CoreProblem, kit.Conflict):
    """That conflicts with what exists already."""


class Invalid(CoreProblem, kit.Unprocessable):
    """The request is not valid."""


class BadRequest(CoreProblem, kit.InvalidInput):
    """The request cannot be accepted as sent."""


class TooManyAttempts(Waiting, kit.TooManyRequests):
    """Too many failed attempts; wait before trying again."""

    code: ClassVar[str] = "too-many-attempts"


class Busy(Waiting, kit.Unavailable):
    """Core is busy with other requests of this kind; try again in a moment."""

    code: ClassVar[str] = "busy"


def _waiting(_request: Request[Any, Any, Any], exc: Waiting) -> Response[Any]:
    return answer(exc, exc.headers)


def _out_of_range(_request: Request[Any, Any, Any], _exc: Exception) -> Response[Any]:
    return answer(BadRequest("A value in the request is out of the range core can store or look up."))


def _invalid_value(_request: Request[Any, Any, Any], exc: msgspec.ValidationError) -> Response[Any]:
    return answer(BadRequest(f"Invalid request: {exc}"))


EXCEPTION_HANDLERS: dict[type[Exception] | int, Callable[[Request[Any, Any, Any], Any], Response[Any]]] = {
    **PROBLEM_HANDLERS,
    Waiting: _waiting,
    OverflowError: _out_of_range,  # e.g. an id past int64
    msgspec.ValidationError: _invalid_value,
}
