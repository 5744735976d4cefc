"""Ambient tracing ids, set once per HTTP request or delivery, and the envelope fields a
publish stamps on its events (which default to those ids)."""

from contextvars import ContextVar
from dataclasses import dataclass, replace
from uuid import UUID

correlation_id: ContextVar[UUID | None] = ContextVar("buildify_correlation_id", default=None)
causation_id: ContextVar[UUID | None] = ContextVar("buildify_causation_id", default=None)


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
