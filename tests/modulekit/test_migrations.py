"""One migration mechanism: numbered SQL files, applied once each, per module and prefix."""

import asyncpg

from modulekit.migrations import migrate

FINANCIAL = "services.financial.app.migrations"


async def test_applies_pending_files_once_per_prefix(database_url: str) -> None:
    applied = await migrate(database_url, "financial", FINANCIAL, prefix="books_")
    assert applied == ["0001_initial", "0002_purge", "0003_invoice_line_sku"]
    assert await migrate(database_url, "financial", FINANCIAL, prefix="books_") == []
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT to_regclass('books_invoices') IS NOT NULL")
        rows = await conn.fetch("SELECT module, prefix, version FROM buildify_migrations WHERE prefix = 'books_'")
        assert {tuple(r) for r in rows} == {
            ("financial", "books_", "0001_initial"), ("financial", "books_", "0002_purge"),
            ("financial", "books_", "0003_invoice_line_sku"),
        }
    finally:
        await conn.close()


async def test_a_failing_file_applies_nothing(database_url: str, tmp_path, monkeypatch) -> None:
    package = tmp_path / "broken_migrations"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "0001_ok.sql").write_text('CREATE TABLE "{prefix}kept" (id int);')
    (package / "0002_bad.sql").write_text("CREATE TABLE nonsense (;")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        await migrate(database_url, "broken", "broken_migrations", prefix="x_")
    except asyncpg.PostgresSyntaxError:
        pass
    else:
        raise AssertionError("a syntax error must fail the migration")
    conn = await asyncpg.connect(database_url)
    try:
        assert await conn.fetchval("SELECT to_regclass('x_kept') IS NULL")
        assert await conn.fetchval("SELECT count(*) FROM buildify_migrations WHERE module = 'broken'") == 0
    finally:
        await conn.close()


async def test_a_database_migrated_before_the_kit_is_adopted(database_url: str) -> None:
    """Financial's tables made by the former runner (no rows in buildify_migrations): its files re-run cleanly."""
    await migrate(database_url, "financial", FINANCIAL, prefix="old_")
    conn = await asyncpg.connect(database_url)
    try:
        await conn.execute("DELETE FROM buildify_migrations WHERE prefix = 'old_'")
    finally:
        await conn.close()
    assert await migrate(database_url, "financial", FINANCIAL, prefix="old_") == [
        "0001_initial", "0002_purge", "0003_invoice_line_sku"]
