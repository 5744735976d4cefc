"""Migrations of the financial module: the `.sql` files here, applied by the kit's one runner.

`{prefix}` in a file is the module's table prefix (SCHEMA_PREFIX); the services query the
tables in SQL through the kit's `Database`.
"""

from modulekit.migrations import migrate as run_migrations

MODULE = "financial"


async def migrate(url: str, prefix: str = "financial_") -> list[str]:
    """Apply pending migrations to the database at `url`; returns the versions applied now."""
    return await run_migrations(url, MODULE, __name__, prefix=prefix)
