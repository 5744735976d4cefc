"""Ambient tracing ids: set once per HTTP request or delivery, read by `publish`."""

from contextvars import ContextVar
from uuid import UUID

correlation_id: ContextVar[UUID | None] = ContextVar("buildify_correlation_id", default=None)
causation_id: ContextVar[UUID | None] = ContextVar("buildify_causation_id", default=None)
