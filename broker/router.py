"""Subscriptions declared with a decorator, before any bus exists.

A module keeps a `Router` next to its handlers; its composition root includes the router in
the bus, which records one row in `event_subscriptions` per handler.
"""

import inspect
import types
import typing
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from broker.patterns import validate_pattern
from broker.retry import RetryPolicy
from contracts.envelope import Envelope, Event, event_type_of

HandlerFunc = Callable[..., Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Handler:
    """One subscription: a pattern, a function and how to deliver to it."""

    name: str
    pattern: str
    func: HandlerFunc
    decode_type: Any  # an Event subclass, a union of them, or Envelope for raw envelopes
    priority: int = 5
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    ordered: bool = False
    timeout: float | None = None
    wants_context: bool = True
    broadcast: bool = False
    # Worked out once: the worker checks every delivery against it.
    event_types: tuple[str, ...] = field(init=False, repr=False, compare=False)
    """The event types the decode type accepts (empty for raw-envelope handlers)."""

    def __post_init__(self) -> None:
        types_ = tuple(event_type_of(cls) for cls in event_classes(self.decode_type))
        object.__setattr__(self, "event_types", types_)


def event_classes(decode_type: Any) -> list[type[Event]]:
    if decode_type is Envelope:
        return []
    origin = typing.get_origin(decode_type)
    if origin is typing.Union or origin is types.UnionType:
        return [arg for arg in typing.get_args(decode_type) if isinstance(arg, type)]
    return [decode_type]


def _decode_type_of(func: HandlerFunc) -> tuple[Any, bool]:
    params = list(inspect.signature(func).parameters.values())
    if not params:
        raise TypeError(f"handler {func.__qualname__} must take the event as its first argument")
    hints = typing.get_type_hints(func)
    annotation = hints.get(params[0].name)
    if annotation is None:
        raise TypeError(
            f"handler {func.__qualname__}: annotate the first argument with the event Struct it "
            "decodes (or contracts.Envelope for the raw envelope)"
        )
    for cls in event_classes(annotation):
        if not (isinstance(cls, type) and issubclass(cls, Event)):
            raise TypeError(f"handler {func.__qualname__}: {cls!r} is not a contracts.Event")
        event_type_of(cls)
    return annotation, len(params) > 1


class Router:
    """A set of handlers to include in a bus (`bus.include_router(router)`)."""

    def __init__(self) -> None:
        self.handlers: list[Handler] = []
        self.retired: list[str] = []

    def retire(self, *names: str) -> None:
        """Declare subscriptions of this module that are gone (a removed handler, or a renamed
        one that did not keep its `name=`): the bus retires them when it starts, as
        `buildify-events subscriptions retire` would. Their pending deliveries stay (replay or
        purge them); a process of an older version restarting does not switch them back on.
        """
        self.retired.extend(names)

    def on(
        self,
        pattern: str,
        *,
        priority: int = 5,
        retry: RetryPolicy | None = None,
        ordered: bool = False,
        timeout: float | None = None,
        name: str | None = None,
        broadcast: bool = False,
    ) -> Callable[[HandlerFunc], HandlerFunc]:
        """Subscribe the decorated coroutine to events whose type matches `pattern`.

        Args:
            pattern: AMQP topic pattern, e.g. `core.company.created`, `core.*.created`, `core.#`.
            priority: 0-10; a worker takes deliveries of higher priority first.
            retry: backoff and attempt limit for failures (default: 5 attempts from 1 s).
            ordered: deliveries that share an ordering key run one at a time in publish order.
            timeout: seconds after which a running handler counts as failed and is retried
                (default: the bus's `BusSettings.handler_timeout`, 120 s).
            name: subscription name within the module (default: the function's name).
            broadcast: every running process of the service gets every matching event (cache
                invalidation across replicas) instead of one of them: delivered only to the
                processes alive at the time, once, with no retries, dead letters or inbox
                (a failing handler is logged); `priority`, `retry`, `ordered` and `timeout`
                do not apply.
        """
        validate_pattern(pattern)
        if broadcast and (ordered or retry is not None):
            raise ValueError("a broadcast subscription has no retries and no order: drop retry= and ordered=")
        if not 0 <= priority <= 10:
            raise ValueError("priority runs from 0 (lowest) to 10 (highest)")

        def register(func: HandlerFunc) -> HandlerFunc:
            if not inspect.iscoroutinefunction(func):
                raise TypeError(f"handler {func.__qualname__} must be `async def`")
            decode_type, wants_context = _decode_type_of(func)
            self.handlers.append(
                Handler(
                    name=name or func.__name__,
                    pattern=pattern,
                    func=func,
                    decode_type=decode_type,
                    priority=priority,
                    retry=retry or RetryPolicy(),
                    ordered=ordered,
                    timeout=timeout,
                    wants_context=wants_context,
                    broadcast=broadcast,
                )
            )
            return func

        return register
