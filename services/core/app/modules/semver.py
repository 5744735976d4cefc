"""Semantic versions and version ranges for manifests' `version` and `requires`.

Ranges are comma- or space-separated comparators: `>=1.2.0,<2.0.0`, `^1.2.0`, `~1.2.0`,
`==1.0.0`, `1.0.0`, `*`.
"""

import re

from contracts.manifest import SEMVER

_SEMVER = re.compile(SEMVER)
_COMPARATOR = re.compile(r"^(>=|<=|==|=|>|<|\^|~)?\s*(\S+)$")

Key = tuple[int, int, int, int, str]


class BadVersion(ValueError):
    """Not a semantic version (MAJOR.MINOR.PATCH)."""


def parse(version: str) -> Key:
    match = _SEMVER.match(version)
    if not match:
        raise BadVersion(f"{version!r} is not a semantic version (MAJOR.MINOR.PATCH)")
    major, minor, patch = (int(match.group(i)) for i in (1, 2, 3))
    pre = version.split("+", 1)[0].partition("-")[2]
    return (major, minor, patch, 0 if pre else 1, pre)


def _comparators(spec: str) -> list[tuple[str, Key]]:
    out: list[tuple[str, Key]] = []
    for part in re.split(r"[,\s]+(?=[<>=^~\d])", spec.strip()):
        part = part.strip().rstrip(",")
        if part in {"", "*"}:
            continue
        match = _COMPARATOR.match(part)
        if not match:
            raise BadVersion(f"{part!r} is not a version comparator")
        op, version = match.group(1) or "==", match.group(2)
        key = parse(version)
        if op == "^":
            upper = (key[0] + 1, 0, 0, 0, "") if key[0] else (0, key[1] + 1, 0, 0, "")
            out += [(">=", key), ("<", upper)]
        elif op == "~":
            out += [(">=", key), ("<", (key[0], key[1] + 1, 0, 0, ""))]
        else:
            out.append(("==" if op == "=" else op, key))
    return out


def validate_range(spec: str) -> None:
    """Raise BadVersion if `spec` is not a version range."""
    _comparators(spec)


def satisfies(version: str, spec: str) -> bool:
    key = parse(version)
    checks = {
        ">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
        "<": lambda a, b: a < b, "==": lambda a, b: a == b,
    }
    return all(checks[op](key, bound) for op, bound in _comparators(spec))
