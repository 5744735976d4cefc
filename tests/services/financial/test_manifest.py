"""The manifest is what core registers; it must decode into the shared contract."""

import re
from pathlib import Path

import msgspec

from contracts.manifest import Manifest
from services.financial.app import permissions

MANIFEST = Path(__file__).resolve().parents[3] / "services" / "financial" / "manifest.json"


def test_manifest_decodes_into_the_contract() -> None:
    manifest = msgspec.json.decode(MANIFEST.read_bytes(), type=Manifest)
    assert manifest.name == "financial"
    assert manifest.version == "1.0.0"
    assert manifest.backend.api_prefix == "/api/v1/financial"
    assert manifest.backend.port == 8001
    assert manifest.frontend is not None and manifest.frontend.entry == "/modules/financial/module.js"
    defaults = {k: v["default"] for k, v in manifest.config_schema["properties"].items()}
    assert defaults == {"currency": "USD", "tax_rate": 0, "invoice_prefix": "INV", "payment_terms_days": 30}
    assert "core.company.created" in manifest.events.consumes
    assert "financial.invoice.created" in manifest.events.publishes


def test_every_permission_the_code_checks_is_declared() -> None:
    manifest = msgspec.json.decode(MANIFEST.read_bytes(), type=Manifest)
    declared = {p.name for p in manifest.permissions}
    used = {v for k, v in vars(permissions).items() if re.fullmatch(r"[A-Z_]+", k)}
    assert used == declared
    assert {m.permission for m in manifest.frontend.menu} <= declared  # type: ignore[union-attr]
