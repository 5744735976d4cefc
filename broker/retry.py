"""Retry policy: exponential backoff with jitter, and the attempt limit."""

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a subscription retries a failing delivery.

    The n-th retry waits `initial_delay * multiplier**(n-1)` seconds, capped at `max_delay`,
    spread by +/- `jitter` so that a burst of failures does not retry in lockstep.
    """

    max_attempts: int = 5
    initial_delay: float = 1.0
    max_delay: float = 300.0
    multiplier: float = 2.0
    jitter: float = 0.2

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.initial_delay < 0 or self.max_delay < 0:
            raise ValueError("retry delays cannot be negative")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter is a fraction between 0 and 1")

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        try:  # unbounded attempts (the RabbitMQ forwarder) must not overflow the exponent
            growth = self.multiplier ** min(max(0, attempt - 1), 1000)
        except OverflowError:
            growth = float("inf")
        base = min(self.max_delay, self.initial_delay * growth)
        spread = base * self.jitter
        return max(0.0, base + random.uniform(-spread, spread))

    def exhausted(self, attempt: int) -> bool:
        """Whether attempt number `attempt` was the last one allowed."""
        return attempt >= self.max_attempts
