"""Core's schema as versioned SQL files, applied once each under an advisory lock.

Plain SQL keeps migrations reviewable and lets `migrate_all` run them on a bare asyncpg
connection (the test template, `make run`) without a Piccolo project configuration.
"""

from importlib import resources

import asyncpg

_LOCK_KEY = 0x436F_7265  # "Core": serialises concurrent migrators


def _files() -> list[tuple[str, str]]:
    folder = resources.files(__package__)
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    return [(name.removesuffix(".sql"), folder.joinpath(name).read_text()) for name in names]


async def migrate(url: str) -> list[str]:
    """Apply core's pending migrations to the database at `url`; returns the versions applied."""
    conn = await asyncpg.connect(url)
    applied: list[str] = []
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS core_migrations ("
                " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["version"] for r in await conn.fetch("SELECT version FROM core_migrations")}
            for version, sql in _files():
                if version in done:
                    continue
                await conn.execute(sql)
                await conn.execute("INSERT INTO core_migrations (version) VALUES ($1)", version)
                applied.append(version)
    finally:
        await conn.close()
    return applied
