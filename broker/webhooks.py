"""Subscriptions with a `callback_url`: the envelope is POSTed, signed with HMAC-SHA256.

The receiver checks `X-Buildify-Signature: t=<unix seconds>,v1=<hex>` where the hex is
HMAC-SHA256(secret, "<t>." + body); `verify_signature` does it and refuses old timestamps,
so a captured request cannot be replayed later. A 2xx answer completes the delivery; 408,
429 and 5xx (or no answer) are retried with the subscription's backoff; any other 4xx means
the receiver will never take it, so the delivery is dead-lettered at once.
"""

import asyncio
import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable

import asyncpg
import httpx
import msgspec

from broker.errors import Reject
from broker.patterns import to_regex
from broker.retry import RetryPolicy
from broker.router import Handler
from broker.signals import wait_signal
from broker.store import Store, SubscriptionRef
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


def sign(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """The signature header value for `body`."""
    t = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={t},v1={digest}"


def verify_signature(secret: str, header: str, body: bytes, *, tolerance: float = 300.0) -> bool:
    """Whether `header` is a valid signature of `body`, made less than `tolerance` seconds ago."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        t = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(time.time() - t) > tolerance:
        return False
    expected = sign(secret, body, t).split("v1=", 1)[1]
    return hmac.compare_digest(expected, fields.get("v1", ""))


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
) -> int:
    """Create or update a subscription that POSTs matching events to `url`."""
    retry = retry or RetryPolicy()
    async with pool.acquire() as conn:
        sub_id: int = await conn.fetchval(
            ADD, name, module, pattern, to_regex(pattern), priority, ordered, url, secret,
            retry.max_attempts, int(retry.initial_delay * 1000), int(retry.max_delay * 1000),
        )
    return sub_id


def _poster(client: httpx.AsyncClient, url: str, secret: str) -> Callable[[Envelope], Awaitable[None]]:
    async def post(envelope: Envelope) -> None:
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

    def __init__(self, store: Store, pool: asyncpg.Pool, *, worker_id: str, timeout: float = 10.0) -> None:
        self.store = store
        self.pool = pool
        self.worker_id = worker_id
        self.client = httpx.AsyncClient(timeout=timeout)

    async def load(self) -> Worker:
        """A worker bound to the active callback subscriptions as they are now."""
        async with self.pool.acquire() as conn:
            rows = await conn.fetch(ACTIVE)
        bound = []
        for row in rows:
            handler = Handler(
                name=row["name"],
                pattern=row["event_pattern"],
                func=_poster(self.client, row["callback_url"], row["callback_secret"] or ""),
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

    async def run(self, wake: asyncio.Event, *, poll_interval: float = 1.0, refresh: float = 5.0) -> None:
        """Deliver until cancelled; new callback subscriptions are picked up between batches,
        at most `refresh` seconds after they are added."""
        try:
            worker = await self.load()
            loaded = time.monotonic()
            while True:
                if time.monotonic() - loaded > refresh:
                    worker, loaded = await self.load(), time.monotonic()
                try:
                    wake.clear()
                    if await worker.run_once():
                        continue
                except asyncio.CancelledError:
                    raise
                except Exception:
                    await asyncio.sleep(poll_interval)
                    continue
                await wait_signal(wake, min(poll_interval, refresh))
        finally:
            await self.client.aclose()
