"""The AsyncAPI document: valid AsyncAPI 3.0, every contract event in it, publishers and
consumers taken from the manifests (consumers through their topic patterns)."""

import json
from pathlib import Path
from typing import Any
from uuid import uuid4

import jsonschema
import msgspec
import pytest
from typer.testing import CliRunner

from broker import cli
from broker.asyncapi import build_document
from contracts.catalog import event_classes
from contracts.core import CompanyCreated
from contracts.envelope import event_type_of
from contracts.manifest import Manifest

# The official AsyncAPI 3.0.0 JSON Schema, from the npm package @asyncapi/specs 6.11.1
# (schemas/3.0.0-without-$id.json, Apache-2.0), kept here so the test needs no network.
SPEC = json.loads((Path(__file__).parent / "fixtures" / "asyncapi-3.0.0.schema.json").read_text())
FINANCIAL = Path(__file__).resolve().parents[2] / "services" / "financial" / "manifest.json"


def manifest(name: str, publishes: list[str], consumes: list[str]) -> Manifest:
    return msgspec.convert({"name": name, "display_name": name, "version": "1.0.0",
                            "backend": {"api_prefix": f"/api/v1/{name}"},
                            "events": {"publishes": publishes, "consumes": consumes}}, Manifest)


def problems(document: dict[str, Any]) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in jsonschema.Draft7Validator(SPEC).iter_errors(document)]


def test_the_document_is_valid_asyncapi_3_and_lists_every_contract_event() -> None:
    financial = msgspec.json.decode(FINANCIAL.read_bytes(), type=Manifest)
    document = build_document(event_classes(), [financial])
    assert problems(document) == []
    assert {event_type_of(cls) for cls in event_classes()} <= set(document["channels"])
    assert "financial.invoice.created" in document["channels"] and "core.company.created" in document["channels"]


def test_a_broken_document_is_caught_by_the_schema() -> None:
    """The check above means something: the schema refuses what AsyncAPI 3 does not allow."""
    document = build_document(event_classes(), [])
    document["operations"] = {"x": {"action": "publish", "channel": {"$ref": "#/channels/core.user.created"}}}
    assert problems(document)


def test_publishers_and_consumers_follow_the_manifests_and_their_patterns() -> None:
    audit = manifest("audit", [], ["#"])
    billing = manifest("billing", ["billing.run.finished"], ["core.company.*", "financial.invoice.paid"])
    document = build_document(event_classes(), [audit, billing])
    channels = document["channels"]
    assert channels["core.company.created"]["x-publishers"] == ["core"]
    assert channels["core.company.created"]["x-consumers"] == ["audit", "billing"]
    assert channels["core.user.created"]["x-consumers"] == ["audit"]
    assert channels["financial.invoice.paid"]["x-consumers"] == ["audit", "billing"]
    operations = document["operations"]
    assert operations["billing.receive.core.company.created"]["action"] == "receive"
    assert operations["core.send.core.company.created"]["action"] == "send"
    # declared in a manifest with no Struct in contracts/: listed, and said so
    assert channels["billing.run.finished"]["x-publishers"] == ["billing"]
    assert "no Struct" in document["components"]["messages"]["billing.run.finished"]["description"]
    assert problems(document) == []


def test_a_payload_the_bus_carries_validates_against_its_schema_and_a_broken_one_does_not() -> None:
    document = build_document(event_classes(), [])
    message = document["components"]["messages"]["core.company.created"]
    validator = jsonschema.Draft202012Validator({**message["payload"], "components": document["components"]})
    payload = json.loads(msgspec.json.encode(CompanyCreated(company_id=uuid4(), tenant_id=uuid4(), name="Acme GmbH")))
    assert list(validator.iter_errors(payload)) == []
    del payload["name"]
    assert [e.message for e in validator.iter_errors(payload)] == ["'name' is a required property"]


def test_the_cli_prints_the_document_from_the_manifests_in_the_tree(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(FINANCIAL.parents[2])
    result = CliRunner().invoke(cli.app, ["asyncapi"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert problems(document) == []
    assert document["channels"]["core.company.created"]["x-consumers"] == ["financial"]


def test_the_cli_names_a_manifest_it_cannot_use(tmp_path: Path) -> None:
    broken = tmp_path / "manifest.json"
    broken.write_text('{"name": "x"}')
    result = CliRunner().invoke(cli.app, ["asyncapi", "--manifest", str(broken)])
    assert result.exit_code == 2
    assert f"{broken} is not a valid manifest" in result.stderr and "display_name" in result.stderr
