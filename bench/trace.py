"""A bench-only trace of the commit-to-handler path: where the milliseconds of a latency run go.

`BUILDIFY_BENCH_TRACE=DIR python bench/bus.py --scenario latency --runs 1` makes each process
of the run (publisher, worker) wrap a few bus methods to stamp the wall clock (the processes
share it) and write the stamps to DIR/<pid>.json when it stops; `python bench/trace.py DIR`
then prints, for each step, the median and p99 of the time since the step before, per event.
The wrapping costs microseconds per step; use it to see the path, not to quote latencies.

On the RabbitMQ transport (`--amqp-url ... --only RabbitMQ`) the path goes on past the relay:
the forwarder's claim, its publish and the confirm, the consumer receiving the message, the
consumer worker taking it from the message store, the handler, and the acknowledgement; the
forwarder's settling of its batch in Postgres runs beside that path and is reported on its own.
"""

from __future__ import annotations

import bisect
import functools
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

STEPS = ("commit", "noticed", "notified", "relay_woken", "relayed", "claim_start", "claimed", "handler")
OPTIONAL = {"claim_start", "claimed"}  # deliveries the relay hands over (broker.handoff) skip the claim
RABBIT_STEPS = (
    *STEPS[:-1], "publish", "confirmed", "received", "consumer_claimed", "handler", "acked",
)
BESIDE = {"forward_settled": "confirmed"}  # off the path: measured from the step named
_stamps: dict[str, list[float]] = {}


def _stamp(step: str) -> None:
    _stamps.setdefault(step, []).append(time.time())


def _around(
    owner: Any, name: str, before: str | None, after: str | None, *, when: Callable[[Any], bool] = lambda _: True
) -> None:
    """Wrap the coroutine method `owner.name` to stamp `before` it runs and `after` it returns
    (`after` only when `when(result)`: a claim that found nothing is not a step of the path)."""
    original = getattr(owner, name)

    @functools.wraps(original)
    async def wrapped(*args: Any, **kwargs: Any) -> Any:
        if before:
            _stamp(before)
        result = await original(*args, **kwargs)
        if after and when(result):
            _stamp(after)
        return result

    setattr(owner, name, wrapped)


def _before_sync(owner: Any, name: str, step: str) -> None:
    """Wrap the plain method `owner.name` to stamp `step` before it runs."""
    original = getattr(owner, name)

    @functools.wraps(original)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        _stamp(step)
        return original(*args, **kwargs)

    setattr(owner, name, wrapped)


def install(role: str) -> bool:
    """Wrap the steps of `role` ("publisher" or "worker") when BUILDIFY_BENCH_TRACE is set;
    True if it is."""
    if not os.environ.get("BUILDIFY_BENCH_TRACE"):
        return False
    from asyncpg import transaction

    from broker import commit_notify, listen, worker
    from broker.postgres import PostgresStore

    if role == "publisher":
        _around(transaction.Transaction, "_Transaction__commit", None, "commit")
        _around(commit_notify.CommitNotifier, "_send", "noticed", "notified")
        return True
    _around(PostgresStore, "relay_and_claim", None, "relayed", when=lambda relayed: relayed.moved > 0)
    _around(PostgresStore, "claim", "claim_start", "claimed", when=bool)
    _around(worker.Worker, "_run", "handler", None)
    on_notify = listen.NotifyListener._on_notify

    def stamped(self: Any, conn: Any, pid: int, channel: str, payload: object) -> None:
        if channel == "bus_outbox":
            _stamp("relay_woken")
        on_notify(self, conn, pid, channel, payload)

    listen.NotifyListener._on_notify = stamped  # type: ignore[method-assign,assignment]
    _install_rabbit()
    return True


def _install_rabbit() -> None:
    """The RabbitMQ transport's steps (its modules import only when faststream is installed)."""
    try:
        from broker.rabbit import forwarder, messages, publishing
    except ImportError:
        return
    _around(publishing, "publish_all" if hasattr(publishing, "publish_all") else "publish_confirmed",
            "publish", "confirmed")
    if hasattr(forwarder.Forwarder, "run_claimed"):  # older code settles inside run_once
        _around(forwarder.Forwarder, "run_claimed", None, "forward_settled")
    _before_sync(messages.MessageStore, "received", "received")
    _around(messages.MessageStore, "claim", None, "consumer_claimed", when=bool)
    _around(messages.MessageStore, "complete", None, "acked")


def dump() -> None:
    """Write this process's stamps to $BUILDIFY_BENCH_TRACE/<pid>.json."""
    folder = Path(os.environ["BUILDIFY_BENCH_TRACE"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{os.getpid()}.json").write_text(json.dumps(_stamps))


def report(folder: Path) -> str:
    """Per event (one per commit), each step's first stamp after the step before; a markdown
    table of the medians and p99s of the gaps, and each gap's mean over the slowest 2 % of the
    events (commit to handler): which steps make the tail."""
    stamps: dict[str, list[float]] = {step: [] for step in (*RABBIT_STEPS, *BESIDE)}
    for file in folder.glob("*.json"):
        for step, times in json.loads(file.read_text()).items():
            stamps.setdefault(step, []).extend(times)
    for times in stamps.values():
        times.sort()
    path = RABBIT_STEPS if stamps["received"] else STEPS
    events: list[dict[str, float]] = []
    for t0 in stamps["commit"]:
        t = t0
        at: dict[str, float] = {}
        gaps: dict[str, float] = {}
        for step in path[1:]:
            later = _next(stamps[step], t)
            if step in OPTIONAL and (later is None or (_next(stamps["handler"], t) or later) < later):
                continue  # this event went straight from the relay to its handler (broker.handoff)
            if later is None:
                break
            gaps[step] = (later - t) * 1000
            at[step] = t = later
        for step, since in BESIDE.items():
            later = _next(stamps[step], at[since]) if since in at else None
            if later is not None:
                gaps[step] = (later - at[since]) * 1000
        if "handler" in at:
            gaps["total"] = (at["handler"] - t0) * 1000
        events.append(gaps)
    timed = sorted((e for e in events if "total" in e), key=lambda e: e["total"])
    tail = timed[len(timed) - max(1, len(timed) // 50):] if timed else []
    lines = ["| step (time since the step before) | events | median ms | p99 ms | slowest 2 %: mean ms |",
             "|---|---:|---:|---:|---:|"]
    for step in (*path[1:], *BESIDE, "total"):
        values = sorted(e[step] for e in events if step in e)
        if values:
            p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
            in_tail = [e[step] for e in tail if step in e]
            slow = f"{statistics.mean(in_tail):.3f}" if in_tail else ""
            label = f"{step} (since {BESIDE[step]}, beside the path)" if step in BESIDE else step
            if step == "total":
                label = "total: commit to handler"
            lines.append(f"| {label} | {len(values)} | {statistics.median(values):.3f} | {p99:.3f} | {slow} |")
    return "\n".join(lines)


def _next(times: list[float], after: float) -> float | None:
    """The first stamp at or after `after`, if any."""
    i = bisect.bisect_left(times, after)
    return times[i] if i < len(times) else None


if __name__ == "__main__":
    print(report(Path(sys.argv[1])))
