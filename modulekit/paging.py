"""`page: Page` in a module's list endpoint: the `limit` and `offset` query parameters every list
takes, with the same bounds everywhere (the app factory provides the dependency)."""

from dataclasses import dataclass

from litestar.params import Parameter

MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Page:
    """At most `limit` rows, after skipping `offset`."""

    limit: int
    offset: int


def page_of(
    limit: int = Parameter(default=100, ge=1, le=MAX_LIMIT, description=f"rows to return (1 to {MAX_LIMIT})"),
    offset: int = Parameter(default=0, ge=0, description="rows to skip first"),
) -> Page:
    """The `page` dependency: a list's window from its query string (400 outside the bounds)."""
    return Page(limit, offset)
