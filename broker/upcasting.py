"""Upcasters: old event payloads read as today's shape.

An event's schema version travels in its envelope and never changes once published, so a
dead letter from last month or a replay of last year carries the payload as it was written.
A module registers one small function per (event type, version) that turns version `n` into
`n + 1`; the registry chains them up to the current version, and hands the worker the
`upcast` callable it takes (`EventBus(..., upcast=upcasters.upcast)`). Operators' `show`
uses the same registry to display what a handler would receive today.

    upcasters = Upcasters.for_events(InvoiceCreated)      # current version from the Struct

    @upcasters.register("financial.invoice.created", 1)
    def total_becomes_decimal_string(payload: dict[str, Any]) -> dict[str, Any]:
        return {**payload, "total": str(payload.pop("amount"))}
"""

from collections.abc import Callable
from typing import Any

import msgspec
import structlog

from broker.errors import BrokerError
from contracts.envelope import Event, event_type_of

log = structlog.get_logger("broker.upcasting")

UpcastFunc = Callable[[dict[str, Any]], dict[str, Any]]


class UpcastError(BrokerError):
    """An event payload could not be brought to the current schema version."""


class Upcasters:
    """A registry of payload upgrades, chained per event type to its current version.

    Args:
        current: the current version per event type, when not given by `for_events` or
            implied by the registrations (one past the highest `from_version`).
    """

    def __init__(self, current: dict[str, int] | None = None) -> None:
        self._steps: dict[tuple[str, int], UpcastFunc] = {}
        self._current: dict[str, int] = dict(current or {})

    @classmethod
    def for_events(cls, *event_classes: type[Event]) -> "Upcasters":
        """A registry that knows today's version of each event class (its `version`).

        Knowing the current version lets the registry refuse a gap in the chain at once,
        instead of handing a handler a payload that is one version short.
        """
        return cls({event_type_of(c): c.schema_version for c in event_classes})

    def register(
        self, event_type: str, from_version: int, func: UpcastFunc | None = None
    ) -> Callable[[UpcastFunc], UpcastFunc]:
        """Register `func` as the upgrade of `event_type` from `from_version` to the next.

        Usable as a decorator (`@upcasters.register("x.y.z", 1)`) or directly with `func`.
        Two upgrades from the same version would make the chain ambiguous, so that raises.
        """
        if from_version < 1:
            raise UpcastError(f"{event_type}: versions start at 1, cannot register from v{from_version}")

        def add(f: UpcastFunc) -> UpcastFunc:
            key = (event_type, from_version)
            if key in self._steps:
                raise UpcastError(f"{event_type}: an upcaster from v{from_version} is already registered")
            self._steps[key] = f
            return f

        if func is not None:
            add(func)
        return add

    def current_version(self, event_type: str) -> int | None:
        """Today's version of `event_type`: declared, else one past the last registered step."""
        if event_type in self._current:
            return self._current[event_type]
        versions = [v for (t, v) in self._steps if t == event_type]
        return max(versions) + 1 if versions else None

    def upgrade(self, event_type: str, version: int, payload: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Chain the registered steps from `version` to the current version.

        Returns:
            The version reached and the payload in that version's shape.

        Raises:
            UpcastError: a step is missing, a step failed, or the event is newer than the
                current version (written by newer code than this process runs).
        """
        current = self.current_version(event_type)
        if current is None:
            return version, payload
        if version > current:
            raise UpcastError(
                f"{event_type} v{version} is newer than this code's v{current}: "
                "deploy the newer handler first"
            )
        while version < current:
            step = self._steps.get((event_type, version))
            if step is None:
                raise UpcastError(f"{event_type}: no upcaster registered from v{version} to v{version + 1}")
            try:
                payload = step(dict(payload))
            except Exception as exc:
                raise UpcastError(
                    f"{event_type}: upcaster from v{version} failed: {type(exc).__name__}: {exc}"
                ) from exc
            version += 1
        return version, payload

    def upcast_json(self, event_type: str, version: int, payload: str) -> tuple[int, str]:
        """`upgrade` on a JSON text; an event already current is returned untouched (no parse)."""
        current = self.current_version(event_type)
        if current is None or version == current:
            return version, payload
        try:
            decoded = msgspec.json.decode(payload)
        except msgspec.DecodeError as exc:
            raise UpcastError(f"{event_type} v{version}: payload is not valid JSON ({exc})") from exc
        if not isinstance(decoded, dict):
            raise UpcastError(f"{event_type} v{version}: payload is not a JSON object")
        new_version, upgraded = self.upgrade(event_type, version, decoded)
        return new_version, msgspec.json.encode(upgraded).decode()

    def upcast(self, event_type: str, version: int, payload: str) -> tuple[int, str]:
        """The callable the worker takes (`EventBus(..., upcast=upcasters.upcast)`).

        It raises UpcastError on a failure; the worker dead-letters that delivery with the
        reason (and goes on with the rest of its batch).
        """
        return self.upcast_json(event_type, version, payload)
