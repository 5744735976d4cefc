"""Events published by the core service."""

from typing import Any
from uuid import UUID

import msgspec

from contracts.envelope import Event


class TenantCreated(Event, frozen=True, kw_only=True, tag="core.tenant.created"):
    tenant_id: UUID
    name: str
    slug: str


class CompanyCreated(Event, frozen=True, kw_only=True, tag="core.company.created"):
    company_id: UUID
    tenant_id: UUID
    name: str
    currency: str | None = None


class UserCreated(Event, frozen=True, kw_only=True, tag="core.user.created"):
    user_id: UUID
    tenant_id: UUID | None
    email: str
    company_ids: list[UUID] = msgspec.field(default_factory=list)


class ModuleRegistered(Event, frozen=True, kw_only=True, tag="core.module.registered"):
    name: str
    version: str
    previous_version: str | None = None


class ModuleEnabled(Event, frozen=True, kw_only=True, tag="core.module.enabled"):
    module_name: str
    tenant_id: UUID
    company_id: UUID | None = None
    configuration: dict[str, Any] = msgspec.field(default_factory=dict)


class ModuleDisabled(Event, frozen=True, kw_only=True, tag="core.module.disabled"):
    module_name: str
    tenant_id: UUID
    company_id: UUID | None = None
    purge: bool = False


class ModuleConfigured(Event, frozen=True, kw_only=True, tag="core.module.configured"):
    module_name: str
    tenant_id: UUID
    company_id: UUID | None = None
    before: dict[str, Any] = msgspec.field(default_factory=dict)
    after: dict[str, Any] = msgspec.field(default_factory=dict)
