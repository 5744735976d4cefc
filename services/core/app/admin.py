"""Operations for the command line, run outside the HTTP app (no token exists yet)."""

from uuid import UUID

import asyncpg

from contracts.core import UserCreated
from contracts.ids import uuid7
from services.core.app.auth.passwords import hash_password
from services.core.app.migrations import migrate


async def create_superuser(url: str, email: str, password: str) -> UUID:
    """Create a platform administrator and publish core.user.created in the same transaction."""
    from broker import EventBus, schema

    email = email.strip().lower()
    if "@" not in email:
        raise ValueError(f"`email` {email!r} is not an email address")
    if len(password) < 8:
        raise ValueError("`password` needs at least 8 characters")
    user_id = uuid7()
    conn = await asyncpg.connect(url)
    if await conn.fetchval("SELECT to_regclass('users') IS NULL OR to_regclass('bus_outbox') IS NULL"):
        await schema.install(conn)  # the bus tables core publishes into
        await migrate(url)
    bus = EventBus(service="core", dsn=url)
    try:
        await bus.open()
        async with conn.transaction():
            if await conn.fetchval("SELECT 1 FROM users WHERE email = $1", email):
                raise ValueError(f"`email` {email!r} is already registered")
            await conn.execute(
                "INSERT INTO users (id, email, password_hash, is_platform_admin) VALUES ($1, $2, $3, true)",
                user_id, email, hash_password(password),
            )
            await bus.publish(conn, UserCreated(user_id=user_id, tenant_id=None, email=email))
    finally:
        await bus.close()
        await conn.close()
    return user_id
