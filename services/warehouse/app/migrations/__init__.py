"""Migrations of the warehouse module: the `.sql` files here, applied by the kit's one runner.

`{prefix}` in a file is the module's table prefix (SCHEMA_PREFIX, default `warehouse_`).
"""

from modulekit.migrations import migrate as run_migrations
from services.warehouse.app.schema import DEFAULT_PREFIX

MODULE = "warehouse"


async def migrate(url: str, prefix: str = DEFAULT_PREFIX) -> list[str]:
    """Apply pending migrations to the database at `url`; returns the versions applied now."""
    return await run_migrations(url, MODULE, __name__, prefix=prefix)
