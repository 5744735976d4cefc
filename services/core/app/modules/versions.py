"""Semantic versions and ranges of manifests' `version` and `requires`, with npm's rules.

The rules come from `node-semver` (a port of npm's semver): pre-release identifiers compare
numerically (`1.0.0-alpha.10` > `alpha.2`), `^0.0.3` pins the patch, `||` joins alternatives,
and a pre-release satisfies no range of releases. Commas between comparators are read as spaces,
as manifests written before wrote `>=1.0.0,<2.0.0`. Manifests are untrusted: versions and ranges
longer than npm's own limit of 256 characters are refused before the library's regular
expressions see them.
"""

import re

import nodesemver

MAX_LENGTH = 256  # npm's semver MAX_LENGTH


class BadVersion(ValueError):
    """Not a semantic version (MAJOR.MINOR.PATCH) or not a version range."""


def check_version(version: str) -> str:
    """`version` unchanged, or BadVersion saying why it is not a semantic version."""
    parsed = None if len(version) > MAX_LENGTH else nodesemver.parse(version, loose=False)
    if parsed is None or parsed.version != version.split("+", 1)[0]:  # no `v` prefix either
        raise BadVersion(f"{version[:40]!r} is not a semantic version (MAJOR.MINOR.PATCH)")
    return version


def _npm_range(spec: str) -> str:
    if len(spec) > MAX_LENGTH:
        raise BadVersion(f"the range is longer than {MAX_LENGTH} characters")
    return re.sub(r"\s*,\s*", " ", spec.strip())


def check_range(spec: str) -> str:
    """`spec` as npm reads it, or BadVersion saying it is not a version range."""
    npm = _npm_range(spec)
    if not npm or nodesemver.valid_range(npm, loose=False) is None:
        raise BadVersion(f"{spec[:40]!r} is not a version range (npm syntax: `^1.2.0`, `~1.2.0`, "
                         "`>=1.0.0 <2.0.0`, `1.0.0 || 2.0.0`, `*`)")
    return npm


def satisfies(version: str, spec: str) -> bool:
    """Whether `version` lies in the range `spec`."""
    return bool(nodesemver.satisfies(check_version(version), check_range(spec), loose=False))


def is_lower(version: str, other: str) -> bool:
    """Whether `version` precedes `other` in semver order."""
    return bool(nodesemver.lt(check_version(version), check_version(other), loose=False))
