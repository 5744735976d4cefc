"""Config schemas are JSON Schema Draft 2020-12 in full (issue 12: oneOf, $ref and format were ignored),
and a schema using what core cannot check safely is refused with the path of each problem."""

from typing import Any

import pytest

from services.core.app.modules.config_schema import schema_problems, validate
from tests.services.core.conftest import FINANCIAL, Harness, Tenant

SCHEMA: dict[str, Any] = {
    "type": "object",
    "$defs": {"code": {"type": "string", "pattern": "^[A-Z]{3}$"}},
    "properties": {
        "currency": {"$ref": "#/$defs/code"},
        "contact": {"type": "string", "format": "email"},
        "rounding": {"oneOf": [{"type": "integer", "minimum": 0}, {"enum": ["bankers"]}]},
        "lines": {"type": "array", "items": {"type": "object", "required": ["sku"]}},
    },
    "additionalProperties": False,
}


def test_a_valid_configuration_passes() -> None:
    assert schema_problems(SCHEMA) == []
    assert validate({"currency": "EUR", "contact": "a@b.de", "rounding": 2, "lines": [{"sku": "x"}]}, SCHEMA) == []


def test_ref_oneof_and_format_are_enforced_and_each_failing_key_is_named() -> None:
    problems = dict(validate({"currency": "euro", "contact": "nobody", "rounding": -1, "lines": [{}],
                              "colour": "red"}, SCHEMA))
    assert set(problems) == {"currency", "contact", "rounding", "lines[0].sku", "colour"}
    assert problems["lines[0].sku"] == "is required"
    assert problems["colour"] == "is not a configuration key of this module"


@pytest.mark.parametrize(("schema", "where"), [
    ({"properties": {"a": {"$ref": "https://example.org/s.json"}}}, "config_schema.properties.a.$ref"),
    ({"properties": {"a": {"$ref": "#/$defs/missing"}}}, "config_schema.properties.a.$ref"),
    ({"properties": {"a": {"type": "string", "minLenght": 3}}}, "config_schema.properties.a.minLenght"),
    ({"properties": {"a": {"type": "string", "format": "iban"}}}, "config_schema.properties.a.format"),
    ({"patternProperties": {"^x": {}}}, "config_schema.patternProperties"),
    ({"properties": {"a": {"anyOf": [{"pattern": "(?=a)"}]}}}, "config_schema.properties.a.anyOf[0].pattern"),
    ({"properties": {"a": {"type": "strin"}}}, "config_schema.properties.a.type"),
])
def test_what_would_be_ignored_or_unsafe_is_refused_by_path(schema: dict[str, Any], where: str) -> None:
    problems = schema_problems({"type": "object", **schema})
    assert where in {path for path, _ in problems}, problems


async def test_core_refuses_a_manifest_whose_schema_it_cannot_check(core: Harness, root: dict[str, str]) -> None:
    schema = {"type": "object", "properties": {"iban": {"type": "string", "format": "iban"}}}
    r = await core.client.post("/api/v1/modules", json={**FINANCIAL, "config_schema": schema}, headers=root)
    assert r.status_code == 422, r.text
    assert "config_schema.properties.iban.format" in r.json()["detail"]


async def test_core_enforces_oneof_ref_and_format_on_configuration(core: Harness, root: dict[str, str],
                                                                   acme: Tenant) -> None:
    r = await core.client.post("/api/v1/modules", json={**FINANCIAL, "config_schema": SCHEMA}, headers=root)
    assert r.status_code in (200, 201), r.text
    r = await core.client.put(f"/api/v1/tenants/{acme.id}/modules/financial", headers=acme.admin,
                              json={"configuration": {"currency": "eur", "contact": "x", "rounding": "up"}})
    assert r.status_code == 422, r.text
    assert {e["field"] for e in r.json()["errors"]} == {"configuration.currency", "configuration.contact",
                                                        "configuration.rounding"}
