"""`buildify admin create-superuser` creates a platform administrator who can sign in."""

import asyncio

from typer.testing import CliRunner

from services.cli import app


def test_create_superuser_then_duplicate_fails(database_url: str) -> None:
    runner = CliRunner()
    args = ["admin", "create-superuser", "--email", "Boss@Example.com", "--password", "password123",
            "--database-url", database_url]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "boss@example.com" in result.output

    async def row() -> tuple[bool, str]:
        import asyncpg

        conn = await asyncpg.connect(database_url)
        try:
            r = await conn.fetchrow("SELECT is_platform_admin, password_hash FROM users WHERE email = $1",
                                    "boss@example.com")
            return r["is_platform_admin"], r["password_hash"]
        finally:
            await conn.close()

    admin, hashed = asyncio.run(row())
    assert admin and hashed.startswith("$argon2")
    again = runner.invoke(app, args)
    assert again.exit_code == 1 and "already registered" in again.output
