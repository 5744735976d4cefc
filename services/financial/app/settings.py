"""Settings of the financial service: the kit's common variables, with the module's table prefix."""

from modulekit.settings import ModuleSettings


class Settings(ModuleSettings, frozen=True, kw_only=True):
    """Where the module keeps its data, how it reaches core and how it checks tokens (see
    `ModuleSettings`; every variable is named in docs/modules.md)."""

    schema_prefix: str = "financial_"
