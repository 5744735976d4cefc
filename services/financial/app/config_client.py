"""The company's resolved configuration, read from core over HTTP and cached.

Core answers `GET /api/v1/companies/{id}/modules/financial/config` to our module key. The
cache is per company; `core.module.configured` drops the affected entries (see
`invoices.handlers`), and a time limit bounds staleness in replicas that did not get the event.
"""

import time
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

import httpx
import msgspec

from contracts.api import ResolvedConfig
from services.financial.app.errors import CoreUnavailable, InvalidInput, ModuleDisabled, NotFound
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
            raise CoreUnavailable(f"core sent an unusable financial configuration: {exc}") from exc
        if not Decimal(0) <= tax_rate < Decimal(1):
            raise CoreUnavailable(f"core sent tax_rate {tax_rate}; it must be a fraction such as 0.19")
        try:
            currency = check_currency(str(values["currency"]))
        except InvalidInput as exc:
            raise CoreUnavailable(f"core sent an unusable currency: {exc.message}") from exc
        return cls(
            tenant_id=resolved.tenant_id,
            company_id=resolved.company_id,
            currency=currency,
            tax_rate=tax_rate,
            invoice_prefix=str(values["invoice_prefix"]),
            payment_terms_days=terms,
            is_enabled=resolved.is_enabled,
        )


class ConfigClient:
    """Fetches and caches `FinancialConfig` per company."""

    def __init__(self, http: httpx.AsyncClient, *, base_url: str, api_key: str, ttl: float = 300.0):
        self.http = http
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.ttl = ttl
        self._cache: dict[UUID, tuple[float, FinancialConfig]] = {}

    def invalidate(self, *, tenant_id: UUID | None = None, company_id: UUID | None = None) -> None:
        """Forget one company, or every company of a tenant (a tenant-tier change)."""
        for cid, (_, cfg) in list(self._cache.items()):
            if (company_id is not None and cid == company_id) or (
                company_id is None and tenant_id is not None and cfg.tenant_id == tenant_id
            ):
                del self._cache[cid]

    async def get(self, company_id: UUID) -> FinancialConfig:
        cached = self._cache.get(company_id)
        if cached and time.monotonic() - cached[0] < self.ttl:
            return cached[1]
        url = f"{self.base_url}/api/v1/companies/{company_id}/modules/financial/config"
        try:
            response = await self.http.get(url, headers={"X-Module-Key": self.api_key}, timeout=5.0)
        except httpx.HTTPError as exc:
            raise CoreUnavailable(f"core did not answer for the configuration of company {company_id}") from exc
        if response.status_code == 404:
            raise NotFound(f"core knows no company {company_id} with the financial module")
        if response.status_code >= 400:
            raise CoreUnavailable(
                f"core refused the configuration of company {company_id} (HTTP {response.status_code})"
            )
        try:
            resolved = msgspec.json.decode(response.content, type=ResolvedConfig)
        except msgspec.DecodeError as exc:
            raise CoreUnavailable(f"core answered an unreadable configuration: {exc}") from exc
        config = FinancialConfig.from_resolved(resolved)
        if not config.is_enabled:
            raise ModuleDisabled(f"the financial module is not enabled for company {company_id}")
        self._cache[company_id] = (time.monotonic(), config)
        return config
