"""The one migration mechanism of core and every module: numbered `.sql` files in a package,
applied once each, in order, under one advisory lock, recorded in one table
(`buildify_migrations`: module, prefix, version).

Plain SQL keeps migrations reviewable and runs on a bare asyncpg connection (the test
template, `make run`, a module's own start-up). `{prefix}` in a file is replaced by the
module's table prefix, so one module can live twice in a database under two prefixes.
The bus library keeps its own schema installer (`broker.schema`).
"""

from importlib import resources

import asyncpg

_LOCK_KEY = 0x6B69_745F  # one lock for every migrator: two services never migrate at once
_HISTORY = """CREATE TABLE IF NOT EXISTS buildify_migrations (
    module text NOT NULL, prefix text NOT NULL DEFAULT '', version text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (module, prefix, version))"""


def migration_files(package: str) -> list[tuple[str, str]]:
    """`(version, sql)` of every `.sql` file in `package`, ordered by name (`0001_initial` ...)."""
    folder = resources.files(package)
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    return [(name.removesuffix(".sql"), folder.joinpath(name).read_text()) for name in names]


async def migrate(url: str, module: str, package: str, *, prefix: str = "") -> list[str]:
    """Apply `module`'s pending migrations from `package` to the database at `url`.

    Returns the versions applied now (empty when the database is up to date). All of them
    commit together or not at all.
    """
    conn = await asyncpg.connect(url)
    applied: list[str] = []
    try:
        async with conn.transaction():
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
            await conn.execute(_HISTORY)
            done = {r["version"] for r in await conn.fetch(
                "SELECT version FROM buildify_migrations WHERE module = $1 AND prefix = $2", module, prefix)}
            for version, sql in migration_files(package):
                if version in done:
                    continue
                await conn.execute(sql.replace("{prefix}", prefix))
                await conn.execute(
                    "INSERT INTO buildify_migrations (module, prefix, version) VALUES ($1, $2, $3)",
                    module, prefix, version,
                )
                applied.append(version)
    finally:
        await conn.close()
    return applied


async def adopt_history(conn: asyncpg.Connection, module: str, versions: list[str], *, prefix: str = "") -> None:
    """Record `versions` of `module` as applied, inside the caller's transaction.

    For a service moving onto this runner from a runner of its own: its database already holds
    those migrations, which must not run twice.
    """
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
    await conn.execute(_HISTORY)
    await conn.executemany(
        "INSERT INTO buildify_migrations (module, prefix, version) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        [(module, prefix, version) for version in versions],
    )
