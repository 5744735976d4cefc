"""Buildify contracts: msgspec Structs shared by every service (events, envelope, manifest).

No I/O and no framework imports here: a module that moves to its own repository takes a
copy of (or a dependency on) this package and nothing else of ours.
"""

from contracts.envelope import Envelope, Event, event_type_of, is_valid_event_type
from contracts.ids import uuid7

__all__ = ["Envelope", "Event", "event_type_of", "is_valid_event_type", "uuid7"]
