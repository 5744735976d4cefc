"""The company's warehouse configuration, as core resolves it (manifest defaults <- tenant <- company)."""

from typing import Any
from uuid import UUID

import msgspec

from contracts.api import ResolvedConfig
from modulekit.errors import DependencyUnavailable

DEFAULTS: dict[str, Any] = {"allow_negative_stock": False, "default_warehouse": "", "reserve_on_invoice": True}


class WarehouseConfig(msgspec.Struct, frozen=True, kw_only=True):
    """The values this module uses, typed; manifest defaults fill what core leaves out.

    `default_warehouse` is a warehouse code: invoices reserve stock there (anywhere in the
    company when it is empty or names no warehouse of the company).
    """

    tenant_id: UUID
    company_id: UUID
    allow_negative_stock: bool = False
    default_warehouse: str = ""
    reserve_on_invoice: bool = True

    @classmethod
    def from_resolved(cls, resolved: ResolvedConfig) -> "WarehouseConfig":
        """The kit's `ConfigClient(parse=...)`: core's answer, typed, or a clear refusal."""
        values = {k: v for k, v in {**DEFAULTS, **resolved.values}.items() if k in DEFAULTS}
        try:
            return msgspec.convert(
                {**values, "tenant_id": resolved.tenant_id, "company_id": resolved.company_id}, cls
            )
        except msgspec.ValidationError as exc:
            raise DependencyUnavailable(f"core sent an unusable warehouse configuration: {exc}") from exc
