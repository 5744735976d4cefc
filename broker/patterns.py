"""Subscription patterns with AMQP topic semantics.

An event type is dot-separated words. In a pattern `*` matches exactly one word and `#`
matches zero or more words, as on a RabbitMQ topic exchange, so a subscription means the same
on either transport. Postgres matches with the regular expression from `to_regex`, Python
with `matches`; both agree with the reference matcher in the tests.
"""

import re
from functools import lru_cache

from broker.errors import InvalidPattern

_WORD = re.compile(r"^[A-Za-z0-9_-]+$")


def validate_pattern(pattern: str) -> str:
    """Return `pattern` if well-formed, else raise InvalidPattern saying what is wrong."""
    if not pattern:
        raise InvalidPattern("a subscription pattern cannot be empty")
    for word in pattern.split("."):
        if word in ("*", "#"):
            continue
        if not _WORD.match(word):
            raise InvalidPattern(
                f"pattern {pattern!r}: {word!r} is not a word; use letters, digits, '_' or '-', "
                "or '*' for one word and '#' for any number of words"
            )
    return pattern


@lru_cache(maxsize=4096)
def to_regex(pattern: str) -> str:
    """Translate a topic pattern to a regex matched against '.' + event_type.

    Prefixing the type with a dot makes every word `\\.word`, so `#` becomes "zero or more
    `\\.word`" without special cases at the ends.
    """
    validate_pattern(pattern)
    parts = []
    for word in pattern.split("."):
        if word == "#":
            parts.append(r"(\.[^.]+)*")
        elif word == "*":
            parts.append(r"\.[^.]+")
        else:
            parts.append(r"\." + re.escape(word))
    return "^" + "".join(parts) + "$"


@lru_cache(maxsize=4096)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(to_regex(pattern))


def matches(pattern: str, event_type: str) -> bool:
    """Whether `event_type` matches the topic `pattern`."""
    return _compiled(pattern).match("." + event_type) is not None
