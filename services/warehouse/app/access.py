"""The check every endpoint makes once it knows the company: the caller's permission there,
the module enabled for it (core's resolved configuration), and the company in the caller's tenant."""

from uuid import UUID

from modulekit.auth import Principal
from modulekit.config import ConfigClient
from modulekit.errors import NotFound
from services.warehouse.app.config import WarehouseConfig


async def company_config(
    principal: Principal, config: ConfigClient[WarehouseConfig], company_id: UUID, permission: str, *,
    hide: bool = False,
) -> WarehouseConfig:
    """The company's configuration, once the caller may act there; 404 for another tenant's company."""
    principal.require(permission, company_id, hide=hide)
    cfg = await config.get(company_id)
    if principal.tenant_id is not None and cfg.tenant_id != principal.tenant_id:
        raise NotFound(f"no company {company_id} in your tenant")
    return cfg
