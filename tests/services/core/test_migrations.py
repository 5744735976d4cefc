"""Core migrates with the kit's runner; a database migrated by core's former runner still starts."""

import asyncpg

from modulekit.migrations import migration_files
from services.core.app.admin import create_superuser
from services.core.app.migrations import migrate

CORE = "services.core.app.migrations"


async def test_a_database_migrated_by_the_former_runner_is_adopted_and_starts(database_url: str) -> None:
    versions = [version for version, _ in migration_files(CORE)]
    conn = await asyncpg.connect(database_url)
    try:  # make the template look as core's former runner left a database
        await conn.execute("DELETE FROM buildify_migrations WHERE module = 'core'")
        await conn.execute("CREATE TABLE core_migrations (version text PRIMARY KEY,"
                           " applied_at timestamptz NOT NULL DEFAULT now())")
        await conn.executemany("INSERT INTO core_migrations (version) VALUES ($1)", [(v,) for v in versions])
        assert await migrate(database_url) == []
        assert await conn.fetchval("SELECT to_regclass('core_migrations')") is None
        recorded = await conn.fetch("SELECT version FROM buildify_migrations WHERE module = 'core' ORDER BY 1")
        assert [r["version"] for r in recorded] == versions
    finally:
        await conn.close()
    await create_superuser(database_url, "root@platform.example", "password123")


async def test_core_s_migrations_are_recorded_once_in_the_kit_s_history(database_url: str) -> None:
    assert await migrate(database_url) == []
    conn = await asyncpg.connect(database_url)
    try:
        count = await conn.fetchval("SELECT count(*) FROM buildify_migrations WHERE module = 'core'")
    finally:
        await conn.close()
    assert count == len(migration_files(CORE))
