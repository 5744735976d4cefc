"""Refresh tokens (issue 11, finding 7): short access tokens, renewed without a password.

An access token lives `access_token_ttl` seconds (5 minutes by default): that is how long a module
may keep trusting the companies and roles it carries. A refresh token (opaque, 32 random bytes,
stored as its SHA-256 only) buys a new access token whose claims core reads again from the database,
and is replaced by a new one at each use. Presenting a refresh token a second time revokes its whole
family (someone else has a copy). Deactivating a user or removing them from a company revokes their
refresh tokens (a trigger, whatever wrote the row). Expiry is checked with the database's clock.
"""

import hashlib
import secrets
from uuid import UUID, uuid4

from services.core.app.db import engine
from services.core.app.errors import NotAuthenticated


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def issue_refresh_token(user_id: UUID, ttl: int, *, family: UUID | None = None, conn: object = None) -> str:
    """A new refresh token for `user_id`, valid `ttl` seconds by the database's clock."""
    token = secrets.token_urlsafe(32)
    sql = ("INSERT INTO refresh_tokens (user_id, family, token_hash, expires_at) "
           "VALUES ($1, $2, $3, now() + make_interval(secs => $4))")
    args = (user_id, family or uuid4(), _hash(token), float(ttl))
    if conn is not None:
        await conn.execute(sql, *args)  # type: ignore[attr-defined]
    else:
        async with engine.pool.acquire() as own:
            await own.execute(sql, *args)
    return token


async def rotate_refresh_token(token: str, ttl: int) -> tuple[UUID, str]:
    """Use `token` once: the user it belongs to and its successor. Reuse revokes the family."""
    async with engine.pool.acquire() as conn, conn.transaction():
        row = await conn.fetchrow(
            "UPDATE refresh_tokens SET used_at = now() WHERE token_hash = $1 AND used_at IS NULL "
            "AND revoked_at IS NULL AND expires_at > now() RETURNING user_id, family", _hash(token))
        if row is None:
            reused = await conn.fetchval(
                "SELECT family FROM refresh_tokens WHERE token_hash = $1 AND used_at IS NOT NULL", _hash(token))
            if reused is not None:
                await conn.execute("UPDATE refresh_tokens SET revoked_at = now() WHERE family = $1 "
                                   "AND revoked_at IS NULL", reused)
        else:
            successor = await issue_refresh_token(row["user_id"], ttl, family=row["family"], conn=conn)
            return row["user_id"], successor
    raise NotAuthenticated("The refresh token is unknown, used, revoked or expired; sign in again.")


async def revoke_refresh_token(token: str) -> None:
    """Sign out: the token's family can no longer be refreshed (access tokens run out on their own)."""
    async with engine.pool.acquire() as conn:
        await conn.execute(
            "UPDATE refresh_tokens SET revoked_at = now() WHERE revoked_at IS NULL AND family = "
            "(SELECT family FROM refresh_tokens WHERE token_hash = $1)", _hash(token))
