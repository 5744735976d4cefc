"""Configuration changes in core: drop the cached configuration they affect."""

from broker import Delivery, Router
from contracts.core import ModuleConfigured, ModuleDisabled, ModuleEnabled
from services.financial.app.config_client import ConfigClient

MODULE = "financial"


def build_router(config: ConfigClient) -> Router:
    """Handlers bound to this app's configuration cache."""
    router = Router()

    def forget(event: ModuleConfigured | ModuleEnabled | ModuleDisabled) -> None:
        if event.module_name == MODULE:
            config.invalidate(tenant_id=event.tenant_id, company_id=event.company_id)

    @router.on("core.module.configured", priority=9)
    async def refresh_config(event: ModuleConfigured, ctx: Delivery) -> None:
        """The next invoice of the affected companies reads the new prefix, rate and currency."""
        forget(event)

    @router.on("core.module.enabled", priority=9)
    async def refresh_config_on_enable(event: ModuleEnabled, ctx: Delivery) -> None:
        """Enabling may carry a configuration of its own."""
        forget(event)

    @router.on("core.module.disabled", priority=9)
    async def refresh_config_on_disable(event: ModuleDisabled, ctx: Delivery) -> None:
        """A disabled company must stop invoicing now, not when the cache expires."""
        forget(event)

    return router
