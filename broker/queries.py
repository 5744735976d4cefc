"""Named SQL queries, kept in `.sql` files beside the code (broker/sql/queries/).

A file holds several queries, each headed by `-- name: <name>`; comments above a header
belong to the query below it. A query (or a schema file, see `expand`) may include a shared piece of another one, in
any file, as `{{name}}`, so a filter written once serves every statement that filters the
same way.
Files are read once per process.
"""

import re
from functools import cache
from importlib import resources

_HEADER = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)
_INCLUDE = re.compile(r"\{\{(\w+)\}\}")


class UnknownQuery(LookupError):
    """No query has that name in broker/sql/queries."""


@cache
def _all() -> dict[str, str]:
    raw: dict[str, str] = {}
    folder = resources.files("broker").joinpath("sql", "queries")
    for file in sorted(folder.iterdir(), key=lambda f: f.name):
        if not file.name.endswith(".sql"):
            continue
        parts = _HEADER.split(file.read_text())
        for name, body in zip(parts[1::2], parts[2::2], strict=True):
            if name in raw:
                raise ValueError(f"query {name!r} is defined twice (second time in {file.name})")
            raw[name] = _strip_trailing_comments(body)
    return {name: _expand(name, raw, ()) for name in raw}


def _strip_trailing_comments(body: str) -> str:
    """Drop the comment lines that belong to the next query's header."""
    lines = body.strip("\n").splitlines()
    while lines and (not lines[-1].strip() or lines[-1].lstrip().startswith("--")):
        lines.pop()
    return "\n".join(lines) + "\n"


def _expand(name: str, raw: dict[str, str], seen: tuple[str, ...]) -> str:
    if name in seen:
        raise ValueError(f"query {name!r} includes itself: {' -> '.join((*seen, name))}")
    if name not in raw:
        raise UnknownQuery(f"no query named {name!r} in broker/sql/queries")

    def include(match: re.Match[str]) -> str:
        return _expand(match.group(1), raw, (*seen, name)).strip("\n")

    return _INCLUDE.sub(include, raw[name])


def expand(text: str) -> str:
    """`text` (e.g. a schema file) with its `{{name}}` includes expanded."""
    return _INCLUDE.sub(lambda match: query(match.group(1)).strip("\n"), text)


def query(name: str) -> str:
    """The text of the query `name`, its includes expanded."""
    queries = _all()
    if name not in queries:
        raise UnknownQuery(f"no query named {name!r} in broker/sql/queries")
    return queries[name]


def names() -> list[str]:
    """Every query's name, for tests that check them all against a database."""
    return sorted(_all())
