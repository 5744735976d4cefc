"""Contracts round-trip through JSON unchanged, and ids sort by time."""

from datetime import date
from decimal import Decimal
from uuid import uuid4

import msgspec
import pytest

from contracts import uuid7
from contracts.core import CompanyCreated, ModuleEnabled, TenantCreated
from contracts.envelope import Envelope, event_type_of
from contracts.financial import InvoiceCreated
from contracts.ids import uuid7_time_ms

EXAMPLES = [
    TenantCreated(tenant_id=uuid4(), name="Acme", slug="acme"),
    CompanyCreated(company_id=uuid4(), tenant_id=uuid4(), name="Acme GmbH"),
    ModuleEnabled(module_name="financial", tenant_id=uuid4(), configuration={"currency": "EUR"}),
    InvoiceCreated(
        invoice_id=uuid4(), company_id=uuid4(), number="DE-INV-000001", customer="Globex",
        subtotal=Decimal("1000.00"), tax=Decimal("190.00"), total=Decimal("1190.00"), currency="EUR",
        issue_date=date(2026, 11, 26),
    ),
]


@pytest.mark.parametrize("event", EXAMPLES, ids=lambda e: event_type_of(type(e)))
def test_events_round_trip(event):
    raw = msgspec.json.encode(event)
    assert msgspec.json.decode(raw, type=type(event)) == event


def test_money_is_encoded_as_an_exact_string():
    raw = msgspec.json.encode(EXAMPLES[3])
    assert b'"total":"1190.00"' in raw


def test_event_types_come_from_tags():
    assert [event_type_of(type(e)) for e in EXAMPLES] == [
        "core.tenant.created", "core.company.created", "core.module.enabled", "financial.invoice.created",
    ]


def test_envelope_round_trips_with_its_payload():
    event = EXAMPLES[1]
    env = Envelope(
        id=uuid7(), type="core.company.created", source="core", tenant_id=event.tenant_id,
        company_id=event.company_id, occurred_at=__import__("datetime").datetime(2026, 11, 26, 12, 0),
        correlation_id=uuid7(), version=1, payload=msgspec.Raw(msgspec.json.encode(event)),
    )
    again = msgspec.json.decode(msgspec.json.encode(env), type=Envelope)
    assert again.id == env.id and again.type == env.type
    assert again.decode(CompanyCreated) == event


def test_uuid7_is_version_7_and_monotonic():
    ids = [uuid7() for _ in range(5000)]
    assert all(i.version == 7 for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    assert abs(uuid7_time_ms(ids[0]) - __import__("time").time() * 1000) < 5000
