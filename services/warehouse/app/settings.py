"""Settings of the warehouse service: the kit's module variables, with the warehouse's prefix."""

from modulekit.settings import ModuleSettings
from services.warehouse.app.schema import DEFAULT_PREFIX


class Settings(ModuleSettings, frozen=True, kw_only=True):
    """DATABASE_URL, DATABASE_STRATEGY, MODULE_DATABASE_URL, SCHEMA_PREFIX, CORE_URL, MODULE_API_KEY, ..."""

    schema_prefix: str = DEFAULT_PREFIX
