"""Errors of the event bus. Each class's docstring is its default message."""

from datetime import timedelta


class BrokerError(Exception):
    """The event bus failed."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or (self.__doc__ or "").strip())


class InvalidPattern(BrokerError):
    """A subscription pattern must be dot-separated words, `*` or `#`."""


class InvalidEvent(BrokerError):
    """An event must be a contracts.Event subclass with a tag naming its type."""


class BusUnavailable(BrokerError):
    """The event bus database does not answer."""


class Retry(Exception):
    """Raised by a handler for a transient failure: try again later.

    `after` overrides the subscription's backoff for this attempt; the attempt still counts
    towards `max_attempts`, so a handler that always retries ends in the dead letters.
    """

    def __init__(self, reason: str = "handler asked to retry", *, after: float | timedelta | None = None):
        super().__init__(reason)
        self.reason = reason
        self.after = after.total_seconds() if isinstance(after, timedelta) else after


class Reject(Exception):
    """Raised by a handler for an event it can never handle: dead-letter it now, no retries."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class AlreadyHandled(BaseException):
    """The inbox already records this event for this subscription; its effect is in place.

    A BaseException, like CancelledError: it stops the handler and tells the worker the
    delivery is done, and a handler's own `except Exception` (which would turn it into a
    retry, or swallow it and repeat the side effects that follow) does not catch it.
    """
