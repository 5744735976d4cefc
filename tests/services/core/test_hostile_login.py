"""Login as a CPU denial of service and a brute-force target (issue 11, finding 5)."""

import asyncio
import threading
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher

from services.core.app.auth import passwords
from services.core.app.auth.throttle import LoginThrottle
from tests.services.core.conftest import Harness, Tenant
from tests.waiting import wait_until

pytestmark = pytest.mark.security

CHEAP: dict[str, Any] = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}


class GatedHasher(PasswordHasher):
    """Holds each verification until the test opens the gate: a stand-in for a slow argon2 hash."""

    def __init__(self) -> None:
        super().__init__(**CHEAP)
        self.entered = threading.Event()
        self.gate = threading.Event()

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.entered.set()
        self.gate.wait(10)
        return super().verify(hash, password)


async def test_a_password_check_does_not_hold_the_event_loop(core: Harness, acme: Tenant) -> None:
    hasher = GatedHasher()

    async def concurrently() -> tuple[int, bool, int]:
        """On the app's own loop: a login whose hash is held, then another request."""
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=core.app), base_url="http://t") as http:
            login = asyncio.ensure_future(http.post(
                "/api/v1/auth/login", json={"email": "member@acme.example", "password": "password123"}))
            await wait_until(hasher.entered.is_set, what="the password check started")
            other = await http.get("/api/v1/me", headers=acme.admin)  # must be answered while argon2 runs
            finished_first = login.done()
            hasher.gate.set()
            return other.status_code, finished_first, (await login).status_code

    passwords.use_hasher(hasher)
    try:
        with core.client.portal() as portal:  # the test client serves the app on this portal's loop
            other, finished_first, login = portal.call(concurrently)
        assert other == 200
        assert not finished_first, "the login finished before the other request: hashing held the event loop"
        assert login == 200
    finally:
        hasher.gate.set()
        passwords.use_hasher(PasswordHasher(**CHEAP))


async def test_guessing_one_account_s_password_is_throttled_with_retry_after(core: Harness, acme: Tenant) -> None:
    c = core.client
    for _ in range(5):
        r = await c.post("/api/v1/auth/login", json={"email": "member@acme.example", "password": "guess"})
        assert r.status_code == 401
    r = await c.post("/api/v1/auth/login", json={"email": "member@acme.example", "password": "password123"})
    assert r.status_code == 429, r.text
    assert r.json()["type"] == 'urn:buildify:problem:too-many-attempts'
    assert 0 < int(r.headers["retry-after"]) <= 300
    # other accounts from elsewhere are not locked out by it
    r = await c.post("/api/v1/auth/login", json={"email": "admin@acme.example", "password": "password123"},
                     headers={"X-Forwarded-For": "203.0.113.9"})
    assert r.status_code == 200, r.text


async def test_credential_stuffing_from_one_address_is_throttled(core: Harness, acme: Tenant) -> None:
    c = core.client
    stuffer = {"X-Forwarded-For": "198.51.100.7"}
    for i in range(20):
        r = await c.post("/api/v1/auth/login", json={"email": f"user{i}@acme.example", "password": "guess"},
                         headers=stuffer)
        assert r.status_code == 401
    r = await c.post("/api/v1/auth/login", json={"email": "admin@acme.example", "password": "password123"},
                     headers=stuffer)
    assert r.status_code == 429, r.text
    assert "Retry-After" in r.headers or "retry-after" in r.headers


def test_the_throttle_forgets_failures_once_the_window_has_passed() -> None:
    now = [1000.0]
    throttle = LoginThrottle(per_account=2, per_address=10, window=60, clock=lambda: now[0])
    throttle.failed("a@x", "1.2.3.4")
    now[0] += 30
    throttle.failed("a@x", "1.2.3.4")
    assert throttle.retry_after("a@x", "5.6.7.8") == 30
    now[0] += 30
    assert throttle.retry_after("a@x", "5.6.7.8") is None
    throttle.failed("a@x", "1.2.3.4")
    throttle.succeeded("a@x")
    assert throttle.retry_after("a@x", "1.2.3.4") is None
