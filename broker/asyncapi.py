"""An AsyncAPI 3.0 document of every Buildify event: channels are event types, payloads are the
msgspec Structs' JSON Schemas, and the manifests say which module publishes and which consumes.

Consumers subscribe with topic patterns (`core.#`), so a module consumes every event type its
patterns match. The first word of an event type names the module that owns it (`core` has no
manifest, but it owns `core.*`). An event a manifest declares without a Struct in `contracts/`
is still listed, with an empty payload schema and a note saying so.
"""

from collections.abc import Sequence
from typing import Any

import msgspec

from broker.patterns import matches
from contracts.envelope import Envelope, Event, event_type_of
from contracts.manifest import Manifest

SPEC_VERSION = "3.0.0"
REF = "#/components/schemas/{name}"


def _envelope_headers() -> dict[str, Any]:
    """The envelope's routing and tracing fields, as message headers (the payload travels apart)."""
    fields = [
        (f.encode_name, f.type) if f.required else (f.encode_name, f.type, f.default)
        for f in msgspec.structs.fields(Envelope) if f.name != "payload"
    ]
    headers = msgspec.defstruct("Envelope", fields, kw_only=True)
    _, components = msgspec.json.schema_components([headers], ref_template=REF)
    schema: dict[str, Any] = components["Envelope"]
    schema["description"] = "What travels with every event on the bus: who, where, when and why."
    return schema


def _operation_id(module: str, action: str, event_type: str) -> str:
    return f"{module}.{action}.{event_type}"


def build_document(
    events: Sequence[type[Event]], manifests: Sequence[Manifest], *, version: str = "1.0.0"
) -> dict[str, Any]:
    """The AsyncAPI 3 document for `events` and the modules described by `manifests`."""
    by_type = {event_type_of(cls): cls for cls in events}
    declared = {t for m in manifests for t in m.events.publishes}
    types = sorted(set(by_type) | declared)
    refs, schemas = msgspec.json.schema_components(list(by_type.values()), ref_template=REF)
    payload_of = dict(zip(by_type, refs, strict=True))

    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for event_type in types:
        cls = by_type.get(event_type)
        publishers = sorted({event_type.split(".", 1)[0]} | {m.name for m in manifests
                                                               if event_type in m.events.publishes})
        consumers = sorted({m.name for m in manifests if any(matches(p, event_type) for p in m.events.consumes)})
        message: dict[str, Any] = {
            "name": event_type,
            "title": cls.__name__ if cls else event_type,
            "contentType": "application/json",
            "headers": {"$ref": "#/components/schemas/Envelope"},
            "payload": payload_of.get(event_type, {}),
            "x-schema-version": cls.schema_version if cls else None,
        }
        if cls and cls.__doc__:
            message["summary"] = cls.__doc__.strip().splitlines()[0]
        if cls is None:
            message["description"] = "Declared in a manifest; no Struct in contracts/ describes its payload."
        messages[event_type] = message
        channels[event_type] = {
            "address": event_type,
            "title": event_type,
            "messages": {event_type: {"$ref": f"#/components/messages/{event_type}"}},
            "x-publishers": publishers,
            "x-consumers": consumers,
        }
        for action, modules in (("send", publishers), ("receive", consumers)):
            for module in modules:
                operations[_operation_id(module, action, event_type)] = {
                    "action": action,
                    "channel": {"$ref": f"#/channels/{event_type}"},
                    "messages": [{"$ref": f"#/channels/{event_type}/messages/{event_type}"}],
                    "tags": [{"name": module}],
                }
    return {
        "asyncapi": SPEC_VERSION,
        "info": {
            "title": "Buildify events",
            "version": version,
            "description": "Domain events on the Buildify bus. Each channel is an event type; publish "
            "through the outbox, subscribe with topic patterns (`*` one word, `#` any number).",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"schemas": {**schemas, "Envelope": _envelope_headers()}, "messages": messages},
    }
