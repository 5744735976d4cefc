"""Hostile manifests (issue 11, findings 1 and 3): a manifest is untrusted input."""

import copy
from typing import Any

import pytest

from tests.services.core.conftest import FINANCIAL, MODULE_KEYS, Harness

pytestmark = pytest.mark.security



def redos(length: int) -> dict[str, Any]:
    """`^(a+)+$` against `length` a's and a '!' backtracks 2**length steps in Python's `re` (40: hours)."""
    return {**copy.deepcopy(FINANCIAL), "config_schema": {"type": "object", "properties": {
        "code": {"type": "string", "pattern": "^(a+)+$", "default": "a" * length + "!"}}}}


def manifest(**changes: Any) -> dict[str, Any]:
    m = copy.deepcopy(FINANCIAL)
    m.update(changes)
    return m


async def test_a_stranger_s_redos_manifest_is_refused_before_it_is_parsed(core: Harness) -> None:
    r = await core.client.post("/api/v1/modules", json=redos(18))  # short enough to finish before the fix
    assert r.status_code == 401, r.text
    assert "Bearer" in r.json()["detail"]


@pytest.mark.timeout(30, method="thread")  # the backtracking `re` cannot be interrupted by a signal
async def test_a_redos_pattern_from_an_administrator_is_evaluated_without_backtracking(
    core: Harness, root: dict[str, str]
) -> None:
    r = await core.client.post("/api/v1/modules", json=redos(40), headers=root)
    assert r.status_code == 422, r.text
    assert "config_schema.properties.code.default" in r.json()["detail"]
    assert (await core.client.get("/health")).status_code in (200, 503)  # the loop still answers


async def test_a_pattern_only_python_understands_is_refused_by_name(core: Harness, root: dict[str, str]) -> None:
    bad = manifest(config_schema={"type": "object", "properties": {
        "code": {"type": "string", "pattern": "^(?=a)a$", "default": "a"}}})
    r = await core.client.post("/api/v1/modules", json=bad, headers=root)
    assert r.status_code == 422, r.text
    assert "config_schema.properties.code.pattern" in r.json()["detail"]


async def test_another_module_s_key_cannot_register_a_manifest(core: Harness) -> None:
    r = await core.client.post("/api/v1/modules", json=FINANCIAL, headers={"X-Module-Key": MODULE_KEYS["warehouse"]})
    assert r.status_code == 403, r.text
    r = await core.client.post("/api/v1/modules", json=FINANCIAL, headers={"X-Module-Key": "guess"})
    assert r.status_code == 401, r.text
