"""How the warehouse's SQL names its tables: through the app's database handle.

The prefix (`SCHEMA_PREFIX`, default `warehouse_`) is chosen at start-up, so queries ask the
handle (`modulekit.database.Database.t`) for each table's quoted name instead of spelling it.
"""

from typing import Protocol

DEFAULT_PREFIX = "warehouse_"
MIGRATIONS = "services.warehouse.app.migrations"  # the package of the .sql files


class Names(Protocol):
    """Anything that quotes our table names: `t("items")` -> `"warehouse_items"`."""

    def t(self, short: str) -> str: ...
