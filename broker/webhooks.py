"""Subscriptions with a `callback_url`: the envelope is POSTed, signed with HMAC-SHA256.

The receiver checks `X-Buildify-Signature: t=<unix seconds>,v1=<hex>` where the hex is
HMAC-SHA256(secret, "<t>." + body); `verify_signature` does it and refuses old timestamps,
so a captured request cannot be replayed later. A 2xx answer completes the delivery; 408,
429 and 5xx (or no answer) are retried with the subscription's backoff; any other 4xx means
the receiver will never take it, so the delivery is dead-lettered at once.

Callback URLs may not point inside the platform's network (loopback, link-local such as cloud
metadata at 169.254.169.254, private and other non-global ranges): the URL is checked when the
subscription is added and the host is resolved and checked again before every POST. A deployment
that really delivers to a private address says so explicitly: `allow_private_networks=True` when
adding, and BUS_CALLBACKS_ALLOW_PRIVATE=true for the dispatcher.
"""

import asyncio
import hashlib
import hmac
import ipaddress
import os
import socket
import time
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

import asyncpg
import httpx
import msgspec

from broker.errors import Reject
from broker.patterns import to_regex
from broker.retry import RetryPolicy
from broker.router import Handler
from broker.store import Store, SubscriptionRef
from broker.wakeup import Wakeup
from broker.worker import Bound, Worker
from contracts.envelope import Envelope

SIGNATURE_HEADER = "X-Buildify-Signature"

ADD = """
INSERT INTO event_subscriptions (name, module_name, event_pattern, pattern_regex, priority, ordered,
                                 callback_url, callback_secret, max_attempts, retry_initial_ms, retry_max_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (name) DO UPDATE SET event_pattern = EXCLUDED.event_pattern, pattern_regex = EXCLUDED.pattern_regex,
    priority = EXCLUDED.priority, ordered = EXCLUDED.ordered, callback_url = EXCLUDED.callback_url,
    callback_secret = EXCLUDED.callback_secret, max_attempts = EXCLUDED.max_attempts,
    retry_initial_ms = EXCLUDED.retry_initial_ms, retry_max_ms = EXCLUDED.retry_max_ms,
    is_active = true, updated_at = now()
RETURNING id
"""

ACTIVE = """
SELECT id, name, event_pattern, priority, ordered, callback_url, callback_secret,
       max_attempts, retry_initial_ms, retry_max_ms
FROM event_subscriptions WHERE callback_url IS NOT NULL AND is_active ORDER BY priority DESC, id
"""


ALLOW_PRIVATE_VARIABLE = "BUS_CALLBACKS_ALLOW_PRIVATE"


class UnsafeCallback(ValueError):
    """The callback URL points somewhere the bus does not deliver to."""


def _allow_private_from_env() -> bool:
    return os.environ.get(ALLOW_PRIVATE_VARIABLE, "").strip().lower() in {"1", "true", "yes"}


def _refused_address(address: str) -> str | None:
    """Why the bus does not POST to `address` (loopback, link-local, private, ...), or None."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for flag in ("is_loopback", "is_link_local", "is_private", "is_multicast", "is_reserved", "is_unspecified"):
        if getattr(ip, flag):
            return f"{ip} is {flag.removeprefix('is_').replace('_', '-')}"
    if not ip.is_global:
        return f"{ip} is not a public address"
    return None


def check_callback_url(url: str, *, allow_private_networks: bool = False) -> tuple[str, int]:
    """The (host, port) of an acceptable callback `url`; UnsafeCallback saying why it is not.

    Checks the form (http or https, a host, no user:password) and, unless private networks are
    allowed, a host written as an IP address. Names are resolved by `resolve_callback_host`.
    """
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise UnsafeCallback(f"callback URL {url!r} must be http(s)://host/...")
    if parts.username is not None or parts.password is not None:
        raise UnsafeCallback(f"callback URL {url!r} may not carry a user or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise UnsafeCallback(f"callback URL {url!r} has an invalid port") from exc
    host = parts.hostname
    if not allow_private_networks:
        if host.rstrip(".").lower() == "localhost" or host.rstrip(".").lower().endswith(".localhost"):
            raise UnsafeCallback(f"callback URL {url!r} points at this machine (localhost)")
        try:
            reason = _refused_address(host)
        except ValueError:
            reason = None  # a name: resolved before each delivery
        if reason:
            raise UnsafeCallback(f"callback URL {url!r} is refused: {reason} (allow private networks explicitly)")
    return host, port


async def resolve_callback_host(url: str, *, allow_private_networks: bool = False) -> None:
    """Refuse `url` when its host resolves to any address the bus does not deliver to."""
    host, port = check_callback_url(url, allow_private_networks=allow_private_networks)
    if allow_private_networks:
        return
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ConnectionError(f"cannot resolve callback host {host!r}: {exc}") from exc
    for info in infos:
        reason = _refused_address(str(info[4][0]))
        if reason:
            raise UnsafeCallback(f"callback URL {url!r} is refused: {host} resolves to {reason}")


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The signature header value for `body`; an empty secret signs nothing."""
    if not secret:
        raise ValueError("a callback secret may not be empty")
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def verify_signature(
    secret: str, header: str, body: bytes, *, tolerance: float = 300.0, future_skew: float = 5.0,
    now: float | None = None,
) -> bool:
    """Whether `header` is a valid signature of `body`, made less than `tolerance` seconds ago.

    Never raises on what a sender controls: a header in any characters is simply not valid. A
    timestamp from the future (beyond `future_skew` seconds of clock difference) is refused, or a
    captured request could be replayed until that future passed; an empty secret verifies nothing.
    """
    if not secret or not isinstance(header, str):
        return False
    fields: dict[str, str] = {}
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if sep:
            fields.setdefault(key, value)
    stamp, given = fields.get("t", ""), fields.get("v1", "")
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 12):
        return False
    t = int(stamp)
    current = time.time() if now is None else now
    if t > current + future_skew or current - t > tolerance:
        return False
    expected = sign(secret, body, t).split("v1=", 1)[1]
    return hmac.compare_digest(expected.encode(), given.encode("utf-8", "surrogatepass"))


async def add_callback_subscription(
    pool: asyncpg.Pool,
    *,
    name: str,
    module: str,
    pattern: str,
    url: str,
    secret: str,
    priority: int = 5,
    ordered: bool = False,
    retry: RetryPolicy | None = None,
    allow_private_networks: bool = False,
) -> int:
    """Create or update a subscription that POSTs matching events to `url`.

    Refuses (UnsafeCallback, ValueError) an empty secret and a URL on loopback, link-local or
    private addresses unless `allow_private_networks` says that is intended.
    """
    if not secret:
        raise ValueError("a callback subscription needs a non-empty secret to sign its requests")
    await resolve_callback_host(url, allow_private_networks=allow_private_networks)
    retry = retry or RetryPolicy()
    async with pool.acquire() as conn:
        sub_id: int = await conn.fetchval(
            ADD, name, module, pattern, to_regex(pattern), priority, ordered, url, secret,
            retry.max_attempts, int(retry.initial_delay * 1000), int(retry.max_delay * 1000),
        )
    return sub_id


def _poster(
    client: httpx.AsyncClient, url: str, secret: str, *, allow_private_networks: bool = False,
) -> Callable[[Envelope], Awaitable[None]]:
    async def post(envelope: Envelope) -> None:
        if not secret:
            raise Reject(f"the subscription for {url} has no secret to sign with")
        try:
            await resolve_callback_host(url, allow_private_networks=allow_private_networks)
        except UnsafeCallback as exc:
            raise Reject(str(exc)) from exc
        body = msgspec.json.encode(envelope)
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(secret, body),
            "X-Buildify-Event-Id": str(envelope.id),
            "X-Buildify-Event-Type": envelope.type,
        }
        response = await client.post(url, content=body, headers=headers)
        status = response.status_code
        if 200 <= status < 300:
            return
        if 400 <= status < 500 and status not in (408, 429):
            raise Reject(f"{url} answered {status}: {response.text[:200]}")
        raise ConnectionError(f"{url} answered {status}")

    return post


class CallbackDispatcher:
    """Runs the callback subscriptions of the whole bus (one process in the platform does it)."""

    def __init__(
        self, store: Store, pool: asyncpg.Pool, *, worker_id: str, timeout: float = 10.0,
        allow_private_networks: bool | None = None,
    ) -> None:
        self.store = store
        self.pool = pool
        self.worker_id = worker_id
        self.allow_private_networks = (
            _allow_private_from_env() if allow_private_networks is None else allow_private_networks
        )
        # redirects are not followed: a public URL must not bounce the POST to an internal one
        self.client = httpx.AsyncClient(timeout=timeout, follow_redirects=False)

    async def load(self) -> Worker:
        """A worker bound to the active callback subscriptions as they are now."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(ACTIVE)
        bound = []
        for row in rows:
            handler = Handler(
                name=row["name"],
                pattern=row["event_pattern"],
                func=_poster(self.client, row["callback_url"], row["callback_secret"] or "",
                              allow_private_networks=self.allow_private_networks),
                decode_type=Envelope,
                priority=row["priority"],
                retry=RetryPolicy(
                    max_attempts=row["max_attempts"],
                    initial_delay=row["retry_initial_ms"] / 1000,
                    max_delay=row["retry_max_ms"] / 1000,
                ),
                ordered=row["ordered"],
                wants_context=False,
            )
            ref = SubscriptionRef(id=row["id"], name=row["name"], priority=row["priority"])
            bound.append(Bound(ref=ref, handler=handler))
        return Worker(self.store, bound, worker_id=self.worker_id)

    async def run(self, wake: Wakeup, *, poll_interval: float = 1.0, refresh: float = 5.0) -> None:
        """Deliver until cancelled; new callback subscriptions are picked up between batches,
        at most `refresh` seconds after they are added."""
        try:
            worker = await self.load()
            loaded = time.monotonic()
            while True:
                if time.monotonic() - loaded > refresh:
                    worker, loaded = await self.load(), time.monotonic()
                try:
                    if await worker.run_once():
                        continue
                except asyncio.CancelledError:
                    raise
                except Exception:
                    await asyncio.sleep(poll_interval)
                    continue
                await wake.wait(min(poll_interval, refresh))
        finally:
            await self.client.aclose()
