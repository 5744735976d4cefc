"""Ambient tracing ids, set once per HTTP request or delivery, and the envelope fields a
publish stamps on its events (which default to those ids)."""

from contextvars import ContextVar
from dataclasses import dataclass, replace
from typing import TypedDict
from uuid import UUID

correlation_id: ContextVar[UUID | None] = ContextVar("buildify_correlation_id", default=None)
causation_id: ContextVar[UUID | None] = ContextVar("buildify_causation_id", default=None)


class FollowUpFields(TypedDict, total=False):
    """The envelope fields a handler may set on a follow-up event (`ctx.publish(...)`); its
    correlation and causation come from the event being handled."""

    tenant_id: UUID | None
    company_id: UUID | None
    ordering_key: str | None


class PublishFields(FollowUpFields, total=False):
    """The envelope fields a publisher may set (`bus.publish(conn, event, tenant_id=...)`)."""

    correlation_id: UUID | None
    causation_id: UUID | None


@dataclass(frozen=True, slots=True)
class EnvelopeFields:
    """The envelope fields a publisher sets, the same for every event of one publish."""

    tenant_id: UUID | None = None
    company_id: UUID | None = None
    ordering_key: str | None = None
    correlation_id: UUID | None = None
    causation_id: UUID | None = None

    def in_context(self) -> "EnvelopeFields":
        """Correlation and causation not given are those of the handler running now, so a
        follow-up event published through the bus still names its cause."""
        return replace(
            self,
            correlation_id=self.correlation_id or correlation_id.get(),
            causation_id=self.causation_id or causation_id.get(),
        )
