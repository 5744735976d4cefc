"""Hostile manifests (issue 11, findings 1 and 3): a manifest is untrusted input."""

import copy
from typing import Any

import pytest

from tests.services.core.conftest import FINANCIAL, GATEWAY, MODULE_KEYS, Harness

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


# -- finding 3: a manifest must not take over the gateway ----------------------------------


@pytest.mark.parametrize(("changes", "field"), [
    ({"backend": {"api_prefix": "/api/v1/users", "port": 8001}}, "backend.api_prefix"),
    ({"backend": {"api_prefix": "/api/v1/financial/../users", "port": 8001}}, "backend.api_prefix"),
    ({"backend": {"api_prefix": "/api/v1/financial`) || PathPrefix(`/", "port": 8001}}, "backend.api_prefix"),
    ({"backend": {"api_prefix": "/api/v1/financial", "port": 8001,
                  "health_path": "@169.254.169.254/latest/meta-data"}}, "backend.health_path"),
    ({"backend": {"api_prefix": "/api/v1/financial", "port": 8001, "health_path": "/../../admin"}},
     "backend.health_path"),
    ({"backend": {"api_prefix": "/api/v1/financial", "port": 8001, "health_path": "/health?x=`"}},
     "backend.health_path"),
    ({"backend": {"api_prefix": "/api/v1/financial", "upstream": "http://x@169.254.169.254/"}}, "backend.upstream"),
    ({"backend": {"api_prefix": "/api/v1/financial", "upstream": "file:///etc/passwd"}}, "backend.upstream"),
    ({"frontend": {"entry": "https://evil.example/x.js"}}, "frontend.entry"),
])
async def test_a_manifest_cannot_claim_another_path_or_host(
    core: Harness, root: dict[str, str], changes: dict[str, Any], field: str
) -> None:
    r = await core.client.post("/api/v1/modules", json=manifest(**changes), headers=root)
    assert r.status_code == 422, r.text
    assert f"`{field}`" in r.json()["detail"]
    assert (await core.client.get("/api/v1/gateway/traefik", headers=GATEWAY)).json() == {}


@pytest.mark.parametrize("name", ["users", "auth", "modules", "gateway", "admin"])
async def test_a_module_cannot_take_a_name_core_answers_for(core: Harness, root: dict[str, str], name: str) -> None:
    hostile = manifest(name=name, backend={"api_prefix": f"/api/v1/{name}", "port": 8001}, permissions=[],
                       frontend=None, events={})
    r = await core.client.post("/api/v1/modules", json=hostile, headers=root)
    assert r.status_code == 422, r.text
    assert "reserved" in r.json()["detail"]


def test_rule_values_are_never_pasted_unescaped() -> None:
    """A manifest stored before these checks (or written into the table) still cannot inject a rule."""
    import msgspec

    from contracts.manifest import Manifest
    from services.core.app.gateway.routes import prefix_rule, render

    with pytest.raises(ValueError, match="Traefik rule"):
        prefix_rule("/api/v1/x`) || PathPrefix(`/")
    old = msgspec.convert(manifest(backend={"api_prefix": "/api/v1/financial`) || PathPrefix(`/", "port": 1,
                                            "health_path": "@169.254.169.254/"}), Manifest)
    assert render([old], upstreams={}, middlewares=[], entry_points=["web"]) == {}
