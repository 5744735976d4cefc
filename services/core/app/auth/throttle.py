"""Failed-login throttling per account and per client address (in the memory of one core process).

Each key keeps the times of its recent failures; a key with `limit` failures within `window`
seconds is refused until the oldest of them leaves the window, and the answer says when
(`Retry-After`). A success clears the account's failures. The gateway's rate limit counts all
requests; this counts guesses, which is what brute force and credential stuffing produce.

Several core replicas each keep their own counts, so the effective limit is per replica; the
clock is injected so tests never depend on the wall clock.
"""

import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class FailureWindow:
    limit: int
    window: float
    clock: Callable[[], float] = time.monotonic
    max_keys: int = 100_000  # oldest keys are forgotten first: memory stays bounded under a flood
    _failures: "OrderedDict[str, deque[float]]" = field(default_factory=OrderedDict)

    def _recent(self, key: str) -> "deque[float] | None":
        times = self._failures.get(key)
        if times is None:
            return None
        cutoff = self.clock() - self.window
        while times and times[0] <= cutoff:
            times.popleft()
        if not times:
            del self._failures[key]
            return None
        return times

    def retry_after(self, key: str) -> int | None:
        """Seconds until `key` may try again, or None when it may now."""
        times = self._recent(key)
        if times is None or len(times) < self.limit:
            return None
        return max(1, math.ceil(times[0] + self.window - self.clock()))

    def fail(self, key: str) -> None:
        times = self._recent(key)
        if times is None:
            times = self._failures[key] = deque(maxlen=self.limit)
        times.append(self.clock())
        self._failures.move_to_end(key)
        while len(self._failures) > self.max_keys:
            self._failures.popitem(last=False)

    def clear(self, key: str) -> None:
        self._failures.pop(key, None)


@dataclass
class LoginThrottle:
    """Failed logins per account (`per_account` in `window` s) and per client address (`per_address`)."""

    per_account: int = 5
    per_address: int = 20
    window: float = 300.0
    clock: Callable[[], float] = time.monotonic
    accounts: FailureWindow = field(init=False)
    addresses: FailureWindow = field(init=False)

    def __post_init__(self) -> None:
        self.accounts = FailureWindow(self.per_account, self.window, self.clock)
        self.addresses = FailureWindow(self.per_address, self.window, self.clock)

    def retry_after(self, account: str, address: str) -> int | None:
        waits = [w for w in (self.accounts.retry_after(account), self.addresses.retry_after(address)) if w]
        return max(waits) if waits else None

    def failed(self, account: str, address: str) -> None:
        self.accounts.fail(account)
        self.addresses.fail(address)

    def succeeded(self, account: str) -> None:
        self.accounts.clear(account)
