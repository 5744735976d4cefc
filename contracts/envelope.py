"""The event envelope and the base class of every domain event.

A domain event is a frozen msgspec Struct whose `tag` is its type name
(`<module>.<aggregate>.<fact>`), so the Struct alone says what it is. The bus wraps the
payload in an `Envelope` that carries the routing and tracing fields.
"""

import builtins
import re
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

import msgspec

EVENT_TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_-]*(\.[a-z0-9_-]+)+$")


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """Base class of domain events.

    Subclasses set `tag="<module>.<aggregate>.<fact>"`; `schema_version` is the version of
    the payload's shape, raised when a field changes meaning (older versions are upcast on read).
    """

    schema_version: ClassVar[int] = 1


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    """What travels on the bus: the payload plus who, where, when and why."""

    id: UUID
    type: str
    source: str
    tenant_id: UUID | None = None
    company_id: UUID | None = None
    occurred_at: datetime
    correlation_id: UUID | None = None
    causation_id: UUID | None = None
    version: int = 1
    ordering_key: str | None = None
    payload: msgspec.Raw = msgspec.Raw(b"{}")

    def decode(self, event_class: builtins.type[Any]) -> Any:
        """Decode the payload into `event_class` (raises msgspec.ValidationError)."""
        return msgspec.json.decode(self.payload, type=event_class)


def event_type_of(event_class: type[Event]) -> str:
    """The type name of an event class, taken from its msgspec tag."""
    tag = event_class.__struct_config__.tag
    if not isinstance(tag, str) or not EVENT_TYPE_PATTERN.match(tag):
        raise TypeError(
            f"{event_class.__name__} needs tag='<module>.<aggregate>.<fact>' (lower-case words "
            f"joined by dots), got {tag!r}"
        )
    return tag


def is_valid_event_type(name: str) -> bool:
    """Whether `name` is a well-formed event type (dot-separated lower-case words)."""
    return bool(EVENT_TYPE_PATTERN.match(name))
