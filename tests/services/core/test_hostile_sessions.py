"""Tokens carry a snapshot of companies and roles (issue 11, finding 7).

Chosen: short access tokens (ACCESS_TOKEN_TTL, 300 s by default) and a revocable, rotating refresh
token stored hashed in core's database. The window in which a module still trusts a removed
membership is the access token's own lifetime, read from its claims (exp - iat), never a clock.
"""

from typing import Any

import asyncpg
import jwt
import pytest

from services.core.app.settings import Settings
from tests.services.core.conftest import Harness, Tenant

pytestmark = pytest.mark.security

WINDOW = 300  # seconds, documented in docs/security.md


def claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


async def sign_in(core: Harness, email: str) -> dict[str, Any]:
    r = await core.client.post("/api/v1/auth/login", json={"email": email, "password": "password123"})
    assert r.status_code == 200, r.text
    return dict(r.json())


async def refresh(core: Harness, token: str) -> Any:
    return await core.client.post("/api/v1/auth/refresh", json={"refresh_token": token})


def test_access_tokens_live_minutes_by_default() -> None:
    assert Settings(database_url="x").access_token_ttl <= WINDOW


async def test_sign_in_gives_a_refresh_token_that_works_once(core: Harness, acme: Tenant) -> None:
    first = await sign_in(core, "member@acme.example")
    assert first["refresh_token"] and first["expires_in"] == 600  # the fixture's ttl
    again = await refresh(core, first["refresh_token"])
    assert again.status_code == 200, again.text
    body = again.json()
    assert claims(body["access_token"])["sub"] == claims(first["access_token"])["sub"]
    assert body["refresh_token"] != first["refresh_token"]
    me = await core.client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.status_code == 200
    # the used token again: refused, and its successor (the family) is revoked too - someone has a copy
    assert (await refresh(core, first["refresh_token"])).status_code == 401
    assert (await refresh(core, body["refresh_token"])).status_code == 401


async def test_the_database_stores_only_hashes(core: Harness, acme: Tenant) -> None:
    token = (await sign_in(core, "member@acme.example"))["refresh_token"]
    conn = await asyncpg.connect(core.url)
    try:
        stored = await conn.fetch("SELECT token_hash::text AS h FROM refresh_tokens")
    finally:
        await conn.close()
    assert stored and all(token not in row["h"] and token.encode().hex() not in row["h"] for row in stored)


async def test_removed_from_a_company_loses_it_within_the_access_token_s_life(core: Harness, acme: Tenant) -> None:
    session = await sign_in(core, "member@acme.example")
    held = claims(session["access_token"])
    assert acme.company_id in held["companies"]
    assert held["exp"] - held["iat"] <= WINDOW or held["exp"] - held["iat"] == 600  # fixture's ttl, or default
    conn = await asyncpg.connect(core.url)
    try:
        await conn.execute("DELETE FROM user_company_roles WHERE user_id = $1::uuid AND company_id = $2::uuid",
                           held["sub"], acme.company_id)
    finally:
        await conn.close()
    assert (await refresh(core, session["refresh_token"])).status_code == 401  # revoked with the membership
    fresh = claims((await sign_in(core, "member@acme.example"))["access_token"])
    assert acme.company_id not in fresh["companies"]


async def test_a_deactivated_user_cannot_refresh(core: Harness, acme: Tenant) -> None:
    session = await sign_in(core, "member@acme.example")
    conn = await asyncpg.connect(core.url)
    try:
        await conn.execute("UPDATE users SET is_active = false WHERE email = 'member@acme.example'")
    finally:
        await conn.close()
    r = await refresh(core, session["refresh_token"])
    assert r.status_code == 401, r.text


async def test_an_expired_refresh_token_is_refused(core: Harness, acme: Tenant) -> None:
    session = await sign_in(core, "member@acme.example")
    conn = await asyncpg.connect(core.url)
    try:  # the database's clock decides expiry: move the token's expiry into the past by that clock
        await conn.execute("UPDATE refresh_tokens SET expires_at = now() - interval '1 second'")
    finally:
        await conn.close()
    assert (await refresh(core, session["refresh_token"])).status_code == 401


async def test_signing_out_revokes_the_refresh_token(core: Harness, acme: Tenant) -> None:
    session = await sign_in(core, "member@acme.example")
    r = await core.client.post("/api/v1/auth/logout", json={"refresh_token": session["refresh_token"]})
    assert r.status_code == 204, r.text
    assert (await refresh(core, session["refresh_token"])).status_code == 401


async def test_a_company_created_after_sign_in_is_in_the_refreshed_token(
    core: Harness, acme: Tenant,
) -> None:
    session = await sign_in(core, "admin@acme.example")
    headers = {"Authorization": f"Bearer {session['access_token']}"}
    r = await core.client.post("/api/v1/companies", json={"name": "Acme Labs", "tenant_id": acme.id},
                               headers=headers)
    assert r.status_code == 201, r.text
    new = r.json()["id"]
    assert new not in claims(session["access_token"])["companies"]  # the snapshot modules would trust
    renewed = await refresh(core, session["refresh_token"])
    assert renewed.status_code == 200, renewed.text
    assert new in claims(renewed.json()["access_token"])["companies"]  # no new sign-in needed
