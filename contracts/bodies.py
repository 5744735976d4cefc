"""Limits every service applies to what a client sends, before any handler sees it.

Pure functions (no framework): each service calls them from one request hook (modulekit.problems)
and answers 400 as problem+json. They exist because some input never reaches validation intact: a body nested
20,000 levels deep exhausts the JSON decoder's recursion, and a NUL character (`\\u0000`) is valid
JSON but PostgreSQL refuses it in text, which surfaced as a 500.
"""

from collections.abc import Iterable
from typing import Any
from urllib.parse import unquote_to_bytes

import msgspec

MAX_DEPTH = 32  # arrays/objects inside each other; real API bodies need fewer than 10


class BadInput(ValueError):
    """The request cannot be accepted as sent."""

    def __init__(self, message: str, where: str | None = None) -> None:
        self.where = where
        super().__init__(message)


def _nul_at(where: str) -> BadInput:
    return BadInput(f"{where} contains a NUL character (\\u0000), which text may not contain.", where)


def check_body(body: bytes, *, max_depth: int = MAX_DEPTH) -> None:
    """Refuse a JSON body nested deeper than `max_depth` or holding a NUL in any string or key.

    Cheap when nothing is suspicious: the full walk only runs when the body has more brackets than
    `max_depth` or the text `\\u0000` somewhere.
    """
    if not body:
        return
    if body.count(b"[") + body.count(b"{") <= max_depth and b"\\u0000" not in body:
        return
    try:
        value = msgspec.json.decode(body)
    except RecursionError:
        raise BadInput(f"The request body is nested more than {max_depth} levels deep.", "body") from None
    except msgspec.DecodeError:
        return  # not JSON: the handler's own decoding says what is wrong with it
    _walk(value, max_depth)


def _walk(root: Any, max_depth: int) -> None:
    stack: list[tuple[Any, str, int]] = [(root, "body", 0)]
    while stack:
        value, where, depth = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                raise _nul_at(f"`{where}`")
        elif isinstance(value, dict | list):
            if depth >= max_depth:
                shown = where if len(where) <= 80 else where[:77] + "..."
                raise BadInput(f"The request body is nested more than {max_depth} levels deep (at `{shown}`).",
                               shown)
            items: Iterable[tuple[Any, Any]] = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                if isinstance(key, str) and "\x00" in key:
                    raise _nul_at(f"a key of `{where}`")
                child = f"{where}.{key}" if isinstance(key, str) else f"{where}[{key}]"
                stack.append((item, child, depth + 1))


def check_url(raw_path: bytes, query_string: bytes) -> None:
    """Refuse a NUL in the path or the query string (percent-encoded or not)."""
    if b"\x00" in unquote_to_bytes(raw_path):
        raise _nul_at("The path")
    if b"\x00" in unquote_to_bytes(query_string.replace(b"+", b" ")):
        raise _nul_at("The query string")
