"""Which events or dead letters an operation acts on, and the tenant an administrator may reach."""

from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import msgspec

from broker.ops.errors import OutOfScope
from broker.patterns import to_regex


class EventFilter(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Which events: every field narrows the selection; none at all means every event.

    Times compare with `recorded_at` (when the event reached the bus), which is indexed and
    within milliseconds of `occurred_at` for a healthy relay.
    """

    pattern: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    tenant_id: UUID | None = None
    company_id: UUID | None = None
    source: str | None = None
    event_ids: tuple[UUID, ...] = ()

    def params(self) -> tuple[Any, ...]:
        """The seven parameters of the `event_filter` query, in order."""
        regex = to_regex(self.pattern) if self.pattern else None
        return (regex, self.since, self.until, self.tenant_id, self.company_id, self.source,
                list(self.event_ids))


class DeadLetterFilter(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """Which dead letters: by subscription name, error text, tenant, event pattern or ids.

    Open letters only (not yet redriven) unless `include_redriven`.
    """

    subscription: str | None = None
    error: str | None = None
    tenant_id: UUID | None = None
    pattern: str | None = None
    ids: tuple[int, ...] = ()
    include_redriven: bool = False

    def params(self) -> tuple[Any, ...]:
        """The six parameters of the `dlq_filter` query, in order."""
        regex = to_regex(self.pattern) if self.pattern else None
        error = None
        if self.error:
            error = "%" + self.error.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return (self.subscription, error, self.tenant_id, regex, list(self.ids), self.include_redriven)

    @property
    def is_empty(self) -> bool:
        """Whether nothing narrows the selection (a purge then needs an explicit 'all')."""
        return not (self.subscription or self.error or self.tenant_id or self.pattern or self.ids)


Selection = TypeVar("Selection", EventFilter, DeadLetterFilter)


def scoped(selection: Selection, tenant: UUID | None) -> Selection:
    """The selection limited to `tenant` (None: a platform operator, no limit); OutOfScope
    when it names another tenant."""
    if tenant is None:
        return selection
    if selection.tenant_id not in (None, tenant):
        raise OutOfScope(f"you may act on tenant {tenant} only, not on {selection.tenant_id}")
    return msgspec.structs.replace(selection, tenant_id=tenant)


def describe(selection: EventFilter) -> str:
    """The selection in words, for an error that says nothing matched it."""
    parts = [f"{k}={v}" for k, v in msgspec.structs.asdict(selection).items() if v not in (None, ())]
    return "the selection (" + ", ".join(parts) + ")" if parts else "the selection (everything)"


def describe_letters(selection: DeadLetterFilter) -> str:
    """The dead-letter selection in words."""
    parts = [f"{k}={v}" for k, v in msgspec.structs.asdict(selection).items() if v not in (None, (), False)]
    return "the selection (" + ", ".join(parts) + ")" if parts else "the selection (every open letter)"
