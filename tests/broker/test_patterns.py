"""Topic patterns: Python and SQL matching agree with a reference AMQP matcher."""

import asyncpg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker import InvalidPattern, matches, validate_pattern
from broker.patterns import to_regex

WORDS = st.sampled_from(["core", "company", "created", "financial", "invoice", "a", "b"])
event_types = st.lists(WORDS, min_size=1, max_size=5).map(".".join)
patterns = st.lists(st.one_of(WORDS, st.just("*"), st.just("#")), min_size=1, max_size=5).map(".".join)


def reference(pattern: list[str], words: list[str]) -> bool:
    """AMQP topic matching by its definition: '*' one word, '#' zero or more."""
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(reference(rest, words[i:]) for i in range(len(words) + 1))
    if not words:
        return False
    return (head == "*" or head == words[0]) and reference(rest, words[1:])


@given(patterns, event_types)
@settings(max_examples=500)
def test_python_matcher_agrees_with_the_reference(pattern: str, event_type: str) -> None:
    assert matches(pattern, event_type) == reference(pattern.split("."), event_type.split("."))


@pytest.mark.parametrize(
    ("pattern", "event_type", "expected"),
    [
        ("core.company.created", "core.company.created", True),
        ("core.*", "core.company", True),
        ("core.*", "core.company.created", False),
        ("core.#", "core", True),
        ("core.#", "core.company.created", True),
        ("#", "financial.invoice.created", True),
        ("*.invoice.*", "financial.invoice.created", True),
        ("#.created", "core.created", True),
        ("financial.*", "financialx.invoice", False),
    ],
)
def test_documented_examples(pattern: str, event_type: str, expected: bool) -> None:
    assert matches(pattern, event_type) is expected


@pytest.mark.parametrize("bad", ["", "core..created", "core.comp any", "core.%"])
def test_malformed_patterns_are_refused_with_a_reason(bad: str) -> None:
    with pytest.raises(InvalidPattern):
        validate_pattern(bad)


async def test_postgres_regex_agrees_with_the_reference(db: asyncpg.Connection) -> None:
    """The relay matches in SQL; check many pairs in one query against the reference."""
    import random

    rng = random.Random(7)
    words = ["core", "company", "created", "a", "*", "#"]
    pairs = []
    for _ in range(2000):
        pattern = ".".join(rng.choice(words) for _ in range(rng.randint(1, 4)))
        event_type = ".".join(rng.choice(words[:4]) for _ in range(rng.randint(1, 4)))
        pairs.append((pattern, event_type))
    rows = await db.fetch(
        "SELECT ('.' || t) ~ r AS hit FROM unnest($1::text[], $2::text[]) AS x(r, t)",
        [to_regex(p) for p, _ in pairs],
        [t for _, t in pairs],
    )
    sql = [r["hit"] for r in rows]
    expected = [reference(p.split("."), t.split(".")) for p, t in pairs]
    assert sql == expected
