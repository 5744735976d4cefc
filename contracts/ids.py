"""Identifiers shared by every service.

UUIDv7 puts a millisecond timestamp in the high bits, so ids sort by creation time and
index well; Python 3.11 has no `uuid.uuid7`, hence this small generator.
"""

import os
import threading
import time
from uuid import UUID

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def uuid7() -> UUID:
    """Return a new UUIDv7 (RFC 9562), monotonic within this process.

    Ids made in the same millisecond keep their order through a 12-bit counter in `rand_a`,
    so events published in a row by one process also sort in that order.
    """
    global _last_ms, _counter
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _last_ms:
            _last_ms = now_ms
            _counter = int.from_bytes(os.urandom(2), "big") & 0x3FF
        else:
            _counter += 1
            if _counter > 0xFFF:
                _last_ms += 1
                _counter = 0
        ms, counter = _last_ms, _counter
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= counter << 64
    value |= 0b10 << 62
    value |= rand_b
    return UUID(int=value)


def uuid7_time_ms(value: UUID) -> int:
    """The Unix time in milliseconds encoded in a UUIDv7."""
    return value.int >> 80
