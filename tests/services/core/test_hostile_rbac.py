"""Privilege escalation through user and role creation (issue 11, finding 4)."""

import pytest

from tests.services.core.conftest import Harness, Tenant, user_holding

pytestmark = pytest.mark.security


async def manager(core: Harness, acme: Tenant) -> dict[str, str]:
    """A user who may create users in Acme's first company (`core.users.manage`) and read there, nothing else."""
    return await user_holding(core, acme, "hr@acme.example", ["core.users.manage", "core.users.read"])


@pytest.mark.parametrize("role", ["admin", "member"])
async def test_a_user_manager_cannot_grant_more_than_they_hold(core: Harness, acme: Tenant, role: str) -> None:
    hr = await manager(core, acme)
    r = await core.client.post("/api/v1/users", headers=hr, json={
        "email": "accomplice@acme.example", "password": "password123", "tenant_id": acme.id,
        "company_ids": [acme.company_id], "roles": [role]})
    assert r.status_code == 403, r.text
    assert "you can only grant what you hold" in r.json()["detail"]
    r = await core.client.post("/api/v1/auth/login",
                               json={"email": "accomplice@acme.example", "password": "password123"})
    assert r.status_code == 401  # nobody was created


async def test_a_user_manager_can_grant_what_they_hold(core: Harness, acme: Tenant) -> None:
    hr = await manager(core, acme)
    r = await core.client.post("/api/v1/users", headers=hr, json={
        "email": "deputy@acme.example", "password": "password123", "tenant_id": acme.id,
        "company_ids": [acme.company_id], "roles": ["hr"]})
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("name", ["member", "admin"])
async def test_a_tenant_role_cannot_shadow_a_built_in_one(core: Harness, acme: Tenant, name: str) -> None:
    r = await core.client.post("/api/v1/roles", headers=acme.admin, json={
        "name": name, "tenant_id": acme.id, "permissions": ["core.companies.read"]})
    assert r.status_code == 409, r.text
    assert "built-in" in r.json()["detail"]
