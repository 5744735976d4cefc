"""Workers: claim due deliveries, run their handlers, settle each outcome.

Written against the `Store` protocol, so the Postgres bus and the in-memory bus behave alike.
"""

import asyncio
import contextlib
import functools
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, NoReturn, cast

import msgspec
import structlog

from broker import context, metrics
from broker.backoff import run_forever
from broker.delivery import ClaimedDelivery, Delivery
from broker.errors import AlreadyHandled, Reject, Retry
from broker.inbox_batch import InboxBatch
from broker.router import Handler, event_classes
from broker.store import BatchInboxStore, HandoffStore, Store, SubscriptionRef
from broker.wakeup import Wakeup
from contracts.envelope import Envelope

log = structlog.get_logger("broker.worker")

Upcaster = Callable[[str, int, str], tuple[int, str]]


@dataclass(frozen=True, slots=True)
class Bound:
    """A handler bound to its subscription row."""

    ref: SubscriptionRef
    handler: Handler


class UndecodableEvent(Exception):
    """The event's payload does not decode into the type the handler expects."""


def describe_decode_failure(claimed: ClaimedDelivery, handler: Handler, problem: str) -> str:
    expected = " | ".join(getattr(t, "__name__", str(t)) for t in _types(handler)) or "Envelope"
    return (
        f"event {claimed.event_id} ({claimed.event_type} v{claimed.version}) cannot be decoded as "
        f"{expected} for {handler.name}: {problem}"
    )


def _types(handler: Handler) -> list[Any]:
    return list(event_classes(handler.decode_type))


def decode(claimed: ClaimedDelivery, handler: Handler, upcast: Upcaster | None = None) -> Any:
    """The handler's argument for this delivery, or UndecodableEvent with a reason."""
    if handler.decode_type is Envelope:
        return claimed.envelope()
    accepted = handler.event_types
    if accepted and claimed.event_type not in accepted:
        raise UndecodableEvent(
            describe_decode_failure(claimed, handler, f"the handler accepts only {', '.join(accepted)}")
        )
    payload = claimed.payload
    try:
        if upcast is not None:
            _, payload = upcast(claimed.event_type, claimed.version, payload)
    except Exception as exc:  # an upcaster bug must dead-letter the event, not stall the batch
        problem = f"upcasting from v{claimed.version} failed: {type(exc).__name__}: {exc}"
        raise UndecodableEvent(describe_decode_failure(claimed, handler, problem)) from exc
    try:
        return msgspec.json.decode(payload, type=handler.decode_type)
    except msgspec.DecodeError as exc:
        raise UndecodableEvent(describe_decode_failure(claimed, handler, f"not valid JSON ({exc})")) from exc
    except msgspec.ValidationError as exc:
        raise UndecodableEvent(describe_decode_failure(claimed, handler, str(exc))) from exc


@functools.cache
def _shares_inbox_transactions(store_type: type) -> bool:
    """Whether `store_type` is a `BatchInboxStore`, asked once per type: on Python 3.11 an
    isinstance check against a runtime protocol reads every member each time, and a consumer
    on RabbitMQ runs many small batches (2 % of its CPU)."""
    return issubclass(store_type, BatchInboxStore)


def _about(claimed: ClaimedDelivery, bound: Bound) -> dict[str, Any]:
    """The log fields that say which delivery a line is about."""
    return {"subscription": bound.ref.name, "event_id": str(claimed.event_id), "event_type": claimed.event_type,
            "attempt": claimed.attempt}


def _summary(exc: BaseException) -> str:
    return "".join(traceback.format_exception(exc, limit=-8))[-4000:]


class Worker:
    """Claims deliveries for a set of subscriptions and runs them, a batch at a time."""

    def __init__(
        self,
        store: Store,
        bound: Sequence[Bound],
        *,
        worker_id: str,
        batch_size: int = 100,
        lease: float = 30.0,
        upcast: Upcaster | None = None,
        handler_timeout: float = 120.0,
    ) -> None:
        self.store = store
        self.bound = {b.ref.id: b for b in bound}
        self.refs = sorted((b.ref for b in bound), key=lambda r: -r.priority)
        self.worker_id = worker_id
        self.batch_size = batch_size
        self.lease = lease
        self.upcast = upcast
        self.handler_timeout = handler_timeout  # for handlers that set no timeout of their own
        # When the earliest retry this worker scheduled falls due (monotonic clock), so an idle
        # worker wakes for it without asking the database; others' retries it finds by polling.
        self.retry_due: float | None = None
        self._success_meters: dict[tuple[str, str], tuple[Any, Any, Any]] = {}
        self._handed: deque[tuple[float, list[ClaimedDelivery]]] = deque()  # (when, batch) from the relay
        self.on_take: Callable[[], None] | None = None  # told when a loop takes a handed batch
        self._last_claim = time.monotonic()

    def hand(self, claimed: list[ClaimedDelivery]) -> None:
        """Take a batch the relay claimed for this worker (broker.handoff): the next loop to
        look for work runs it instead of claiming."""
        if claimed:
            self._handed.append((time.monotonic(), claimed))

    @property
    def handed(self) -> int:
        """Batches handed over and not yet taken by a loop."""
        return len(self._handed)

    def claim_overdue(self, interval: float) -> bool:
        """True when a loop busy with handed batches should claim anyway: a retry it scheduled
        fell due, or `interval` passed since the last claim (leases that ran out, retries
        scheduled elsewhere, ordered subscriptions and whatever the relay left to be claimed
        must not wait for a stream of handed batches to end)."""
        now = time.monotonic()
        return now - self._last_claim >= interval or (self.retry_due is not None and self.retry_due <= now)

    async def run_once(self) -> int:
        """Take a handed-over batch, else claim one; run it (`run_claimed`); returns how many
        deliveries it held."""
        if not self.refs:
            return 0
        claimed = await self._take_handed()
        if not claimed:
            claimed = await self.claim()
        return await self.run_claimed(claimed)

    async def claim(self) -> list[ClaimedDelivery]:
        """Claim a batch of due deliveries."""
        self._last_claim = time.monotonic()
        if self.retry_due is not None and self.retry_due <= self._last_claim:
            self.retry_due = None  # this claim finds it
        return await self.store.claim(self.refs, self.batch_size, self.lease, self.worker_id)

    async def _take_handed(self) -> list[ClaimedDelivery]:
        """The oldest handed-over batch, with its leases extended first if it waited a third of
        them; only the deliveries still held."""
        while self._handed:
            since, claimed = self._handed.popleft()
            if self.on_take is not None:
                self.on_take()
            if time.monotonic() - since > self.lease / 3:
                try:
                    claimed = await self._still_held(claimed)
                except Exception:
                    self._handed.appendleft((since, claimed))  # tried again by the next loop
                    raise
            if claimed:
                return claimed
        return []

    async def _still_held(self, claimed: list[ClaimedDelivery]) -> list[ClaimedDelivery]:
        held = set(await self.store.extend_leases(claimed, self.lease))
        return [c for c in claimed if c.delivery_id in held]

    async def keep_handed(self) -> None:
        """Extend the leases of handed batches that have waited a third of their lease for a
        loop (every loop busy with slow handlers), so none runs out while it waits."""
        now = time.monotonic()
        for since, claimed in list(self._handed):
            if now - since <= self.lease / 3:
                continue
            held = await self._still_held(claimed)
            for index, (_, queued) in enumerate(self._handed):  # loops may have taken batches meanwhile
                if queued is claimed:
                    self._handed[index] = (time.monotonic(), held)
                    break

    async def release_handed(self) -> None:
        """Give back the handed batches no loop started (the worker is stopping): due again at
        once, their attempt not counted."""
        batches = [claimed for _, claimed in self._handed]
        self._handed.clear()
        if isinstance(self.store, HandoffStore):  # only its relay hands batches over
            for claimed in batches:
                await self.store.release(claimed)

    async def run_claimed(self, claimed: list[ClaimedDelivery]) -> int:
        """Run a claimed batch, and settle each delivery as soon as it finishes (outcomes
        that finish together are written together), so one slow handler holds back nobody
        else's completion; returns how many deliveries it held."""
        if not claimed:
            return 0
        timed_out: set[int] = set()
        store = self.store
        inbox = cast(BatchInboxStore, store).inbox_batch() if _shares_inbox_transactions(type(store)) else None
        running: dict[asyncio.Future[Any], ClaimedDelivery] = {
            asyncio.ensure_future(self._run(c, timed_out, inbox)): c for c in claimed
        }
        now = time.monotonic()
        deadlines = {c.delivery_id: now + self._timeout(c) for c in claimed}
        keeper = asyncio.create_task(self._keep_leases(running, deadlines))
        watchdog = asyncio.create_task(self._enforce_timeouts(running, deadlines, timed_out))
        pending: set[asyncio.Future[Any]] = set(running)
        try:
            while pending:
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                await self._settle([(running[task], task.result()) for task in done])
        finally:
            keeper.cancel()
            watchdog.cancel()
            for task in pending:
                task.cancel()  # the worker is stopping: these come back after their lease
            with contextlib.suppress(asyncio.CancelledError):
                await keeper
            with contextlib.suppress(asyncio.CancelledError):
                await watchdog
            if pending:
                await asyncio.wait(pending)
            if inbox is not None:
                await inbox.close()
        return len(claimed)

    async def _settle(self, finished: list[tuple[ClaimedDelivery, Callable[[], Any] | None]]) -> None:
        await self.store.complete([claim for claim, outcome in finished if outcome is None])
        for _, outcome in finished:
            if outcome is not None:
                await outcome()

    def _timeout(self, claimed: ClaimedDelivery) -> float:
        handler = self.bound[claimed.subscription_id].handler
        return self.handler_timeout if handler.timeout is None else handler.timeout

    @staticmethod
    async def _enforce_timeouts(
        running: dict[asyncio.Future[Any], ClaimedDelivery], deadlines: dict[int, float], timed_out: set[int]
    ) -> None:
        """Cancel handlers past their deadline: one watchdog per batch rather than a timer per
        delivery (which cost the hot path ~15 % at thousands of deliveries a second)."""
        while True:
            live = [(deadlines[c.delivery_id], task, c) for task, c in running.items()
                    if not task.done() and c.delivery_id not in timed_out]
            if not live:
                return
            now = time.monotonic()
            earliest = min(deadline for deadline, _, _ in live)
            if earliest > now:
                await asyncio.sleep(earliest - now)
                continue
            for deadline, task, c in live:
                if deadline <= now:
                    timed_out.add(c.delivery_id)
                    task.cancel()

    async def _keep_leases(
        self, running: dict[asyncio.Future[Any], ClaimedDelivery], deadlines: dict[int, float]
    ) -> None:
        """Extend the leases of deliveries still running and still within their timeout; a
        handler past its timeout that does not stop loses its lease, so another worker may
        take the delivery over. A failed extension is logged and tried again next round."""
        while True:
            await asyncio.sleep(self.lease / 3)
            now = time.monotonic()
            live = [c for task, c in running.items() if not task.done() and deadlines[c.delivery_id] > now]
            if not live:
                continue
            try:
                await self.store.extend_leases(live, self.lease)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("lease extension failed", error=f"{type(exc).__name__}: {exc}", deliveries=len(live))

    async def _run(
        self, claimed: ClaimedDelivery, timed_out: set[int], inbox: InboxBatch | None
    ) -> Callable[[], Any] | None:
        """Run one delivery; None when done, else the store call that settles the failure.
        The batch's watchdog cancels it at its timeout and records it in `timed_out`."""
        bound = self.bound[claimed.subscription_id]
        handler = bound.handler
        started = time.perf_counter()
        timeout = self._timeout(claimed)
        try:
            event = decode(claimed, handler, self.upcast)
        except UndecodableEvent as exc:
            return self._dead(claimed, bound, str(exc), exc)
        context.correlation_id.set(claimed.correlation_id or claimed.event_id)
        context.causation_id.set(claimed.event_id)
        structlog.contextvars.bind_contextvars(
            correlation_id=str(claimed.correlation_id or claimed.event_id),
            event_id=str(claimed.event_id),
            subscription=bound.ref.name,
        )
        try:
            call = (
                handler.func(event, Delivery(claimed, bound.ref.name, self.store, batch=inbox))
                if handler.wants_context
                else handler.func(event)
            )
            await call
        except AlreadyHandled:
            pass
        except Reject as exc:
            return self._dead(claimed, bound, f"rejected by {handler.name}: {exc.reason}", exc)
        except Retry as exc:
            return self._failed(claimed, bound, f"retry requested: {exc.reason}", exc, exc.after)
        except asyncio.CancelledError as exc:
            task = asyncio.current_task()
            if claimed.delivery_id in timed_out:
                if task is not None:
                    task.uncancel()
                return self._failed(claimed, bound, f"timed out after {timeout} s", exc, None)
            if task is not None and task.cancelling():
                raise  # the worker itself is stopping: the delivery comes back after its lease
            # A CancelledError the handler raised on its own must not stop the worker loop.
            return self._failed(claimed, bound, "the handler raised CancelledError", exc, None)
        except Exception as exc:
            return self._failed(claimed, bound, f"{type(exc).__name__}: {exc}", exc, None)
        delivered, handler_seconds, end_to_end = self._meters(claimed.event_type, bound.ref.name)
        delivered.inc()
        handler_seconds.observe(time.perf_counter() - started)
        end_to_end.observe(time.time() - claimed.occurred_at.timestamp())
        return None

    def _meters(self, event_type: str, subscription: str) -> tuple[Any, Any, Any]:
        """The success metrics of (event type, subscription), looked up once: `labels()` per
        delivery cost about as much as the rest of the bookkeeping."""
        key = (event_type, subscription)
        meters = self._success_meters.get(key)
        if meters is None:
            meters = self._success_meters[key] = (
                metrics.delivered.labels(event_type, subscription),
                metrics.delivery_latency.labels(subscription),
                metrics.end_to_end.labels(subscription),
            )
        return meters

    def _failed(
        self, claimed: ClaimedDelivery, bound: Bound, error: str, exc: BaseException, after: float | None
    ) -> Callable[[], Any]:
        policy = bound.handler.retry
        metrics.failed.labels(claimed.event_type, bound.ref.name).inc()
        if policy.exhausted(claimed.attempt):
            reason = f"gave up after {claimed.attempt} attempt(s); last error: {error}"
            return self._dead(claimed, bound, reason, exc)
        delay = policy.delay(claimed.attempt) if after is None else after
        log.warning("delivery failed, will retry", **_about(claimed, bound), retry_in=round(delay, 3), error=error)
        metrics.retried.labels(claimed.event_type, bound.ref.name).inc()

        async def settle() -> None:
            await self.store.retry(claimed, delay, error)
            due = time.monotonic() + delay
            self.retry_due = due if self.retry_due is None else min(self.retry_due, due)

        return settle

    def _dead(self, claimed: ClaimedDelivery, bound: Bound, reason: str, exc: BaseException) -> Callable[[], Any]:
        log.error("delivery dead-lettered", **_about(claimed, bound), reason=reason)
        metrics.dead_lettered.labels(claimed.event_type, bound.ref.name).inc()

        async def settle() -> None:
            await self.store.dead_letter(claimed, reason, repr(exc), _summary(exc))

        return settle


async def run_worker(worker: Worker, wake: Wakeup, *, poll_interval: float = 1.0) -> NoReturn:
    """Run `worker` until cancelled: run the batches the relay hands over, claim while there is
    work, then sleep until woken, until a retry it scheduled is due, or `poll_interval` at
    most (which also finds deliveries whose lease ran out, and retries other workers
    scheduled). Errors are logged, never fatal."""

    async def claim_then_wait() -> None:
        if worker.handed:
            await worker.run_once()  # the relay claimed these: no claim statement
            # Claimable work must not wait behind a stream of handed batches: claim when told
            # there is some (a NOTIFY, the relay, a full batch), when a retry fell due, or a
            # poll interval after the last claim; else the next handed batch, or sleep.
            claiming = wake.take() or worker.claim_overdue(poll_interval)
            handled = await worker.run_claimed(await worker.claim()) if claiming else 0
        else:
            handled = await worker.run_once()
        if handled >= worker.batch_size:
            wake.set()  # a full batch: there may be more, let an idle loop help
        if handled or worker.handed:
            return
        timeout = poll_interval
        if worker.retry_due is not None:
            timeout = min(timeout, worker.retry_due - time.monotonic())
            if timeout <= 0:
                worker.retry_due = None  # the next claim finds it
                return
        await wake.wait(timeout)

    await run_forever(claim_then_wait, what="worker", logger="broker.worker")
