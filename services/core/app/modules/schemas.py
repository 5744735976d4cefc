"""Request and answer bodies of the module registry."""

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import msgspec

from contracts.manifest import Manifest, MenuEntry


class ModuleOut(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    display_name: str
    version: str
    manifest: Manifest
    registered_at: datetime
    updated_at: datetime


class RegisterResult(msgspec.Struct, frozen=True, kw_only=True):
    module: ModuleOut
    previous_version: str | None
    changed: bool


class TenantModuleIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`configuration` replaces the tenant's overrides; omit it to keep them."""

    is_enabled: bool = True
    configuration: dict[str, Any] | None = None


class CompanyModuleIn(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Each field omitted keeps the company's current value."""

    is_enabled: bool = True
    configuration: dict[str, Any] | None = None
    enabled_features: list[str] | None = None
    disabled_features: list[str] | None = None


class ModuleStateOut(msgspec.Struct, frozen=True, kw_only=True):
    """A module at one tier of a tenant: whether it is on there and the configuration set there."""

    module: str
    tenant_id: UUID
    is_enabled: bool
    configuration: dict[str, Any]


class TenantModuleOut(ModuleStateOut, frozen=True, kw_only=True):
    version: str
    enabled_at: datetime | None
    updated_at: datetime | None


class CompanyModuleOut(ModuleStateOut, frozen=True, kw_only=True):
    company_id: UUID
    enabled_features: list[str]
    disabled_features: list[str]
    customized_at: datetime | None
    customized_by_user_id: UUID | None


class Dependency(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    range: str
    registered_version: str | None
    enabled_for_tenant: bool
    satisfied: bool


class ConfigValue(msgspec.Struct, frozen=True, kw_only=True):
    value: Any
    source: Literal["default", "tenant", "company"]


class TenantPlan(msgspec.Struct, frozen=True, kw_only=True):
    """What `PUT /tenants/{id}/modules/{name}` would do (answered with `?dry_run=true`)."""

    module: str
    version: str
    tenant_id: UUID
    action: Literal["enable", "update", "disable", "none"]
    allowed: bool
    problems: list[str]
    depends_on: list[Dependency]
    permissions_added: list[str]
    menu_entries_added: list[MenuEntry]
    configuration: dict[str, ConfigValue]
    configuration_keys_changed: list[str]
    subscriptions: list[str]
    warnings: list[str]


class RemovalPlan(msgspec.Struct, frozen=True, kw_only=True):
    """What removing a module from a tenant deletes and keeps."""

    module: str
    tenant_id: UUID
    data: Literal["keep", "purge"]
    performed: bool
    deletes: list[str]
    keeps: list[str]


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    module: str
    tenant_id: UUID
    company_id: UUID | None
    action: str
    actor_user_id: UUID | None
    before: dict[str, Any]
    after: dict[str, Any]
    changed_at: datetime


class MyModule(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    display_name: str
    version: str
    api_prefix: str
    entry: str | None
    menu: list[MenuEntry]
    features: list[str]
    permissions: list[str]
