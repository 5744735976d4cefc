"""Webhooks (issue 11, finding 11): what a sender or a subscription's author controls cannot hurt."""

import asyncio

import pytest

from broker.webhooks import (
    UnsafeCallback,
    add_callback_subscription,
    check_callback_url,
    resolve_callback_host,
    sign,
    verify_signature,
)

pytestmark = pytest.mark.security

NOW = 1_900_000_000.0
BODY = b'{"id": 1}'


@pytest.mark.parametrize("header", [
    "t=1900000000,v1=\u00e9\u00e9\u00e9",  # non-ASCII signature: was TypeError (a 500)
    "t=1900000000,v1=\ud800",
    "t=\u0661\u0669\u0660\u0660\u0660\u0660\u0660\u0660\u0660\u0660,v1=00",  # Arabic-Indic digits
    "t=1_900_000_000,v1=00", "t=+1900000000,v1=00", "t=,v1=", "", "garbage", "t=1900000000",
    "t=" + "9" * 400 + ",v1=00",
])
def test_a_hostile_signature_header_is_invalid_not_an_error(header: str) -> None:
    assert verify_signature("s3cret", header, BODY, now=NOW) is False


def test_a_timestamp_from_the_future_is_refused() -> None:
    future = sign("s3cret", BODY, int(NOW) + 299)
    assert verify_signature("s3cret", future, BODY, now=NOW) is False
    assert verify_signature("s3cret", sign("s3cret", BODY, int(NOW) + 2), BODY, now=NOW) is True  # clock skew
    assert verify_signature("s3cret", sign("s3cret", BODY, int(NOW) - 299), BODY, now=NOW) is True
    assert verify_signature("s3cret", sign("s3cret", BODY, int(NOW) - 301), BODY, now=NOW) is False


def test_an_empty_secret_neither_signs_nor_verifies() -> None:
    with pytest.raises(ValueError, match="empty"):
        sign("", BODY, int(NOW))
    import hashlib
    import hmac

    forged = hmac.new(b"", f"{int(NOW)}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert verify_signature("", f"t={int(NOW)},v1={forged}", BODY, now=NOW) is False


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8000/api/v1/tenants", "http://localhost/x", "http://app.localhost/x",
    "http://169.254.169.254/latest/meta-data/", "http://10.0.0.5/", "http://192.168.1.1/", "http://172.16.0.1/",
    "http://[::1]/", "http://[fe80::1]/", "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/", "http://100.64.0.1/",
    "http://user:pw@example.com/", "ftp://example.com/", "file:///etc/passwd", "http:///nohost",
])
def test_callback_urls_into_the_platform_s_network_are_refused(url: str) -> None:
    with pytest.raises(UnsafeCallback):
        check_callback_url(url)


async def test_a_name_resolving_to_a_private_address_is_refused_before_delivery(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The attacker controls the DNS of a public-looking name and points it at the metadata service."""
    import socket

    async def attacker_dns(host: str, port: int, **_: object) -> list[tuple]:  # type: ignore[type-arg]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port))]

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", attacker_dns)
    with pytest.raises(UnsafeCallback, match="resolves to"):
        await resolve_callback_host("https://hooks.attacker.example/x")
    await resolve_callback_host("https://hooks.attacker.example/x", allow_private_networks=True)


def test_public_urls_and_explicitly_allowed_private_ones_pass() -> None:
    assert check_callback_url("https://hooks.example.com/buildify") == ("hooks.example.com", 443)
    assert check_callback_url("http://93.184.216.34:8080/x") == ("93.184.216.34", 8080)
    assert check_callback_url("http://127.0.0.1:9/x", allow_private_networks=True) == ("127.0.0.1", 9)


async def test_adding_a_subscription_refuses_an_internal_url_or_an_empty_secret(database_url: str) -> None:
    import asyncpg

    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=1)
    try:
        with pytest.raises(UnsafeCallback):
            await add_callback_subscription(pool, name="evil", module="evil", pattern="#",
                                            url="http://169.254.169.254/latest", secret="s3cret")
        with pytest.raises(ValueError, match="secret"):
            await add_callback_subscription(pool, name="evil", module="evil", pattern="#",
                                            url="https://hooks.example.com/x", secret="")
        assert await pool.fetchval("SELECT count(*) FROM event_subscriptions WHERE name = 'evil'") == 0
    finally:
        await asyncio.wait_for(pool.close(), 10)
