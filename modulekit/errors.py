"""One error hierarchy for every service, answered as RFC 9457 `application/problem+json`.

A `Problem`'s docstring is the sentence a person reads when no detail is given; its `code`
becomes the problem `type` (`urn:buildify:problem:<code>`), which clients match on instead
of the sentence. Services subclass these for their own facts, declared in the class line:
`class Overpayment(Conflict, title="Overpayment", code="overpayment")`.
"""

from typing import ClassVar

import msgspec

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:buildify:problem:"


def problem_type(code: str) -> str:
    """The `type` URI of a problem code, e.g. `problem_type("not-found")`."""
    return TYPE_PREFIX + code


class FieldProblem(msgspec.Struct, frozen=True, kw_only=True):
    """What is wrong with one input field (`field` is a dotted path, `body` for the whole body)."""

    field: str
    message: str


class ProblemBody(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Every 4xx/5xx answer of every service (RFC 9457); `errors` only for invalid input."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = None


class Problem(Exception):
    """The request could not be completed."""

    status: ClassVar[int] = 400
    title: ClassVar[str] = "Bad request"
    code: ClassVar[str] = "bad-request"

    def __init_subclass__(cls, *, status: int | None = None, title: str | None = None, code: str | None = None,
                          **kwargs: object) -> None:
        """Declare a problem type in its class line; what is not given is inherited."""
        super().__init_subclass__(**kwargs)
        if status is not None:
            cls.status = status
        if title is not None:
            cls.title = title
        if code is not None:
            cls.code = code

    def __init__(self, detail: str | None = None, *, errors: list[FieldProblem] | None = None) -> None:
        self.detail = detail or (type(self).__doc__ or "").strip()
        self.errors = errors
        super().__init__(self.detail)

    @property
    def type(self) -> str:
        return problem_type(self.code)

    def body(self) -> ProblemBody:
        return ProblemBody(type=self.type, title=self.title, status=self.status, detail=self.detail,
                           errors=self.errors)


class InvalidInput(Problem, status=400, title="Invalid input", code="invalid-input"):
    """The request is not valid."""


class MalformedBody(InvalidInput, title="Malformed body", code="malformed-body"):
    """The request body is not well-formed JSON."""


class Unauthorized(Problem, status=401, title="Not authenticated", code="not-authenticated"):
    """A valid bearer token from core is required."""


class Forbidden(Problem, status=403, title="Forbidden", code="forbidden"):
    """You lack the permission this operation needs."""


class ModuleDisabled(Forbidden, title="Module disabled", code="module-disabled"):
    """The module is not enabled for this company."""


class NotFound(Problem, status=404, title="Not found", code="not-found"):
    """No such record in your companies."""


class MethodNotAllowed(Problem, status=405, title="Method not allowed", code="method-not-allowed"):
    """This path does not answer that method."""


class Conflict(Problem, status=409, title="Conflict", code="conflict"):
    """That conflicts with the current state of the record."""


class Unprocessable(Problem, status=422, title="Unprocessable", code="unprocessable"):
    """The request is well-formed but breaks a rule of the data."""


class TooManyRequests(Problem, status=429, title="Too many requests", code="too-many-requests"):
    """Too many requests; slow down and try again."""


class Unavailable(Problem, status=503, title="Unavailable", code="unavailable"):
    """A service this request needs is unreachable; try again shortly."""


class DependencyUnavailable(Unavailable, code="core-unavailable"):
    """Core could not be reached or answered unusably; try again shortly."""


class InternalError(Problem, status=500, title="Internal error", code="internal-error"):
    """The service failed unexpectedly; the error was logged."""
