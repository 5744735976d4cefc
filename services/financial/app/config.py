"""The financial module's typed view of its resolved configuration (the kit's `ConfigClient`
fetches and caches it; core's `core.module.*` events drop it in every replica)."""

from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

import msgspec

from contracts.api import ResolvedConfig
from modulekit.config import ConfigClient
from services.financial.app.errors import DependencyUnavailable, InvalidInput
from services.financial.app.money import check_currency

DEFAULTS: dict[str, Any] = {
    "currency": "USD", "tax_rate": 0, "invoice_prefix": "INV", "payment_terms_days": 30,
}


class FinancialConfig(msgspec.Struct, frozen=True, kw_only=True):
    """The values this module uses, typed (manifest defaults fill what core leaves out)."""

    tenant_id: UUID
    company_id: UUID
    currency: str
    tax_rate: Decimal
    invoice_prefix: str
    payment_terms_days: int
    is_enabled: bool = True

    @classmethod
    def from_resolved(cls, resolved: ResolvedConfig) -> "FinancialConfig":
        values = {**DEFAULTS, **resolved.values}
        try:
            tax_rate = Decimal(str(values["tax_rate"]))
            terms = int(values["payment_terms_days"])
        except (InvalidOperation, ValueError, TypeError) as exc:
            raise DependencyUnavailable(f"core sent an unusable financial configuration: {exc}") from exc
        if not Decimal(0) <= tax_rate < Decimal(1):
            raise DependencyUnavailable(f"core sent tax_rate {tax_rate}; it must be a fraction such as 0.19")
        try:
            currency = check_currency(str(values["currency"]))
        except InvalidInput as exc:
            raise DependencyUnavailable(f"core sent an unusable currency: {exc.detail}") from exc
        return cls(
            tenant_id=resolved.tenant_id,
            company_id=resolved.company_id,
            currency=currency,
            tax_rate=tax_rate,
            invoice_prefix=str(values["invoice_prefix"]),
            payment_terms_days=terms,
            is_enabled=resolved.is_enabled,
        )


FinancialConfigClient = ConfigClient[FinancialConfig]
