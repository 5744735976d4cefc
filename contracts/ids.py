"""Identifiers shared by every service.

UUIDv7 puts a millisecond timestamp in the high bits, so ids sort by creation time and
index well; Python 3.11 has no `uuid.uuid7`, hence this small generator.
"""

import os
import threading
import time
from uuid import UUID, SafeUUID

_lock = threading.Lock()
_MS_MASK = (1 << 48) - 1
_RAND_B_MASK = (1 << 62) - 1
_VERSION_VARIANT = (0x7 << 76) | (0b10 << 62)
_new_uuid = object.__new__
_set_attribute = object.__setattr__  # UUID forbids attribute assignment; its __init__ uses this too
_UNKNOWN_SAFETY = SafeUUID.unknown  # an Enum member: looked up once, not per id
_last_ms = 0
_counter = 0


def uuid7() -> UUID:
    """Return a new UUIDv7 (RFC 9562), monotonic within this process.

    Ids made in the same millisecond keep their order through a 12-bit counter in `rand_a`,
    so events published in a row by one process also sort in that order. One `os.urandom`
    call per id, and the UUID built without `UUID.__init__`'s argument checks: every publish
    makes one, and on the one-event-per-transaction path each microsecond shows.
    """
    global _last_ms, _counter
    rand = int.from_bytes(os.urandom(10), "big")  # 62 bits for rand_b, 10 to seed the counter
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _last_ms:
            _last_ms = now_ms
            _counter = rand >> 70
        else:
            _counter += 1
            if _counter > 0xFFF:
                _last_ms += 1
                _counter = 0
        ms, counter = _last_ms, _counter
    value = ((ms & _MS_MASK) << 80) | _VERSION_VARIANT | (counter << 64) | (rand & _RAND_B_MASK)
    uuid = _new_uuid(UUID)
    _set_attribute(uuid, "int", value)
    _set_attribute(uuid, "is_safe", _UNKNOWN_SAFETY)
    return uuid


def uuid7_time_ms(value: UUID) -> int:
    """The Unix time in milliseconds encoded in a UUIDv7."""
    return value.int >> 80
