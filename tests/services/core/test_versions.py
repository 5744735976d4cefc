"""Manifest versions and ranges follow npm's semver rules (issue 12: the hand-written parser did not)."""

import pytest

from services.core.app.modules import versions


def test_prereleases_are_ordered_numerically() -> None:
    assert versions.is_lower("1.0.0-alpha.2", "1.0.0-alpha.10")
    assert not versions.is_lower("1.0.0-alpha.10", "1.0.0-alpha.2")
    assert versions.is_lower("1.0.0-rc.1", "1.0.0")


def test_caret_on_zero_zero_pins_the_patch() -> None:
    assert versions.satisfies("0.0.3", "^0.0.3")
    assert not versions.satisfies("0.0.5", "^0.0.3")
    assert versions.satisfies("0.2.9", "^0.2.3")
    assert not versions.satisfies("0.3.0", "^0.2.3")


@pytest.mark.parametrize(("version", "spec", "expected"), [
    ("1.4.0", ">=1.0.0,<2.0.0", True),   # commas still separate comparators, as older manifests wrote them
    ("2.0.0", ">=1.0.0 <2.0.0", False),
    ("1.2.9", "~1.2.0", True),
    ("1.3.0", "~1.2.0", False),
    ("3.0.0", "^1.0.0 || ^3.0.0", True),
    ("1.0.0", "1.0.0", True),
    ("7.1.2", "*", True),
    ("1.1.0-beta.1", "^1.0.0", False),    # npm: a pre-release does not satisfy a range of releases
])
def test_ranges(version: str, spec: str, expected: bool) -> None:
    assert versions.satisfies(version, spec) is expected


@pytest.mark.parametrize("version", ["1.2", "v1.2.3x", "banana", "", "1.2.3" + "0" * 300])
def test_bad_versions_are_refused(version: str) -> None:
    with pytest.raises(versions.BadVersion):
        versions.check_version(version)


@pytest.mark.parametrize("spec", ["banana", ">=", "1.2.3 " + " " * 300 + "x"])
def test_bad_ranges_are_refused(spec: str) -> None:
    with pytest.raises(versions.BadVersion):
        versions.check_range(spec)
