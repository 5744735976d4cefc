"""API bodies shared between services (module-to-core calls)."""

from typing import Any, Literal
from uuid import UUID

import msgspec

Tier = Literal["default", "tenant", "company"]


class ResolvedConfig(msgspec.Struct, frozen=True, kw_only=True):
    """A module's configuration for one company: manifest defaults <- tenant <- company.

    Served by core at `GET /api/v1/companies/{company_id}/modules/{module}/config` to a user
    token or to the module itself (header `X-Module-Key: <MODULE_API_KEY>`).
    """

    module: str
    tenant_id: UUID
    company_id: UUID
    values: dict[str, Any]
    sources: dict[str, Tier]
    enabled_features: list[str] = msgspec.field(default_factory=list)
    is_enabled: bool = True

