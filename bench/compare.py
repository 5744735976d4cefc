"""The bus side by side with PgQueuer, procrastinate and pgbench, in one invocation (issue 15).

A benchmark, not a test. Every system is measured the same way: publishing while consuming, a
no-op handler, throughput = events ÷ (last handler's clock - first publish's clock), latency =
handler's clock - publisher's clock right after COMMIT, at a steady rate with NOTIFY. Each run
gets a fresh database on the server of `--database-url` (created, dropped afterwards). The
configurations alternate over `--rounds` rounds (the order rotates each round) and one markdown
table of medians follows, with each figure as a ratio to PgQueuer's batched run and to pgbench's
single-row INSERT rate (1 and 4 clients) from the same invocation.

    pip install -e '.[bench]'                   # pgqueuer and procrastinate, bench-only
    python bench/compare.py                     # 3 rounds, about 6 minutes on 2 cores
    python bench/compare.py --rounds 1 --events 2000 --latency-seconds 3 --pgbench-seconds 3

The bus uses `bench/bus.py`'s machinery and settings (1 worker process with 4 loops and the relay,
worker_batch 250, publishers in a separate process). PgQueuer and procrastinate use their own
schema installers and their documented settings; see `PgQueuerSystem` and `ProcrastinateSystem`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import multiprocessing as mp
import os
import sys
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from multiprocessing.sharedctypes import RawArray
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path
from typing import Any, Protocol

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
# As in bench/bus.py: bench/http.py would shadow the standard library's `http` while bench/ is
# on the path; import this folder as the (namespace) package `bench` from the repository root.
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

from bench.bus import (  # noqa: E402
    BusKnobs,
    RunResult,
    RunSpec,
    add_shared_arguments,
    med,
    names,
    pct,
    pgbench_costed,
    run_once,
    stop_processes,
)
from bench.costs import costs_now  # noqa: E402
from tests.databases import create_database as create_empty_database  # noqa: E402
from tests.databases import drop_database  # noqa: E402

ENTRYPOINT = "bench_tick"  # PgQueuer entrypoint and procrastinate task name


# -- what a run yields --------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    """One run's figures: throughput (events/s), or latency percentiles (ms), or both."""

    per_s: float = float("nan")
    publish_per_s: float = float("nan")  # the publishers' own rate in the same run
    p50_ms: float = float("nan")
    p99_ms: float = float("nan")
    wal_per_event: float = float("nan")  # bytes
    postgres_us_per_event: float = float("nan")  # Postgres's CPU
    machine_us_per_event: float = float("nan")  # every core's busy time


def sample_of(result: RunResult, *, latency: bool) -> Sample:
    """A Sample from bench/bus.py's RunResult (same shape for every system)."""
    if latency:
        return Sample(p50_ms=pct(result.latencies_ms, 0.5), p99_ms=pct(result.latencies_ms, 0.99))
    per_s, publish_per_s = result.events_per_s, result.events / result.publish_seconds
    if result.costs is None:
        return Sample(per_s=per_s, publish_per_s=publish_per_s)
    n, costs = result.events, result.costs
    return Sample(per_s=per_s, publish_per_s=publish_per_s, wal_per_event=costs.wal_bytes / n,
                  postgres_us_per_event=costs.postgres_cpu_s / n * 1e6,
                  machine_us_per_event=costs.machine_cpu_s / n * 1e6)


# -- the queue libraries, behind one small interface --------------------------------------


class Producer(Protocol):
    async def enqueue(self, ns: list[int]) -> None:
        """Commit jobs `ns` in one transaction."""

    async def close(self) -> None: ...


class QueueSystem(Protocol):
    """A Postgres job queue as the harness drives it (instances are pickled into processes)."""

    async def install(self, url: str) -> None: ...

    async def consume(self, url: str, on_job: Callable[[int], None], stop: asyncio.Event) -> None: ...

    async def producer(self, url: str) -> Producer: ...

    def run_consumer(self, main: Coroutine[Any, Any, None]) -> None:
        """Run the consumer process's event loop (the library's own choice of loop)."""


@dataclass(frozen=True)
class PgQueuerSystem:
    """PgQueuer 1.6 as its docs tune it for short jobs.

    `pgq install` (here `Queries.install()`) and `pgq autovac` (`optimize_autovacuum()`); one
    `QueueManager` per dedicated asyncpg connection ("a single connection for QueueManager"),
    `batch_size` raised from the default 10 for short-lived jobs, and uvloop as `pgq run` uses.
    Producers enqueue a list of jobs per call inside the caller's transaction.
    """

    batch_size: int = 100
    managers: int = 1
    uvloop: bool = True

    async def install(self, url: str) -> None:
        from pgqueuer.db import AsyncpgDriver
        from pgqueuer.queries import Queries

        conn = await asyncpg.connect(url)
        try:
            queries = Queries(AsyncpgDriver(conn))
            await queries.install()
            await queries.optimize_autovacuum()
        finally:
            await conn.close()

    async def consume(self, url: str, on_job: Callable[[int], None], stop: asyncio.Event) -> None:
        from pgqueuer.db import AsyncpgDriver
        from pgqueuer.models import Job
        from pgqueuer.qm import QueueManager
        from pgqueuer.queries import Queries

        conns = [await asyncpg.connect(url) for _ in range(self.managers)]
        managers = []
        for conn in conns:
            qm = QueueManager(Queries(AsyncpgDriver(conn)))

            @qm.entrypoint(ENTRYPOINT)
            async def bench_tick(job: Job) -> None:
                on_job(int(job.payload or b"0"))

            managers.append(qm)
        runs = [asyncio.create_task(qm.run(batch_size=self.batch_size)) for qm in managers]
        await stop.wait()
        for qm in managers:
            qm.shutdown.set()
        await asyncio.gather(*runs)
        for conn in conns:
            await conn.close()

    async def producer(self, url: str) -> Producer:
        from pgqueuer.db import AsyncpgDriver
        from pgqueuer.queries import Queries

        conn = await asyncpg.connect(url)
        return PgQueuerProducer(conn, Queries(AsyncpgDriver(conn)))

    def run_consumer(self, main: Coroutine[Any, Any, None]) -> None:
        if self.uvloop:
            import uvloop

            uvloop.run(main)
        else:
            asyncio.run(main)


@dataclass
class PgQueuerProducer:
    conn: asyncpg.Connection
    queries: Any

    async def enqueue(self, ns: list[int]) -> None:
        async with self.conn.transaction():
            if len(ns) == 1:
                await self.queries.enqueue(ENTRYPOINT, str(ns[0]).encode())
            else:
                await self.queries.enqueue(
                    [ENTRYPOINT] * len(ns), [str(n).encode() for n in ns], [0] * len(ns)
                )

    async def close(self) -> None:
        await self.conn.close()


@dataclass(frozen=True)
class ProcrastinateSystem:
    """procrastinate 3 as its docs run async tasks.

    Schema through `app.schema_manager.apply_schema_async()`; one worker with `concurrency`
    sub-workers (the docs' example is 30) and LISTEN/NOTIFY on (the default); producers use
    `batch_defer_async` with a list of jobs per call.
    """

    concurrency: int = 30

    def app(self, url: str, **pool: Any) -> Any:
        import procrastinate

        return procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url, **pool))

    async def install(self, url: str) -> None:
        app = self.app(url, min_size=1, max_size=1)
        async with app.open_async():
            await app.schema_manager.apply_schema_async()

    async def consume(self, url: str, on_job: Callable[[int], None], stop: asyncio.Event) -> None:
        app = self.app(url, min_size=2, max_size=self.concurrency + 2)

        @app.task(name=ENTRYPOINT)
        async def bench_tick(n: int) -> None:
            on_job(n)

        async with app.open_async():
            worker = asyncio.create_task(
                app.run_worker_async(concurrency=self.concurrency, install_signal_handlers=False)
            )
            await stop.wait()
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(worker, 10)

    async def producer(self, url: str) -> Producer:
        app = self.app(url, min_size=1, max_size=1)
        await app.open_async()
        return ProcrastinateProducer(app)

    def run_consumer(self, main: Coroutine[Any, Any, None]) -> None:
        asyncio.run(main)


@dataclass
class ProcrastinateProducer:
    app: Any

    async def enqueue(self, ns: list[int]) -> None:
        deferrer = self.app.configure_task(name=ENTRYPOINT)
        if len(ns) == 1:
            await deferrer.defer_async(n=ns[0])
        else:
            await deferrer.batch_defer_async(*({"n": n} for n in ns))

    async def close(self) -> None:
        await self.app.close_async()


# -- the harness for the queue libraries (the bus has its own in bench/bus.py) -------------


@dataclass(frozen=True)
class QueueRun:
    """One measured queue configuration: `publishers` tasks, `batch` jobs per transaction."""

    system: QueueSystem
    events: int
    batch: int = 100
    publishers: int = 1
    rate: float = 0.0  # jobs/s of a paced latency run (1 publisher, 1 job per transaction)


def consumer_main(url: str, run: QueueRun, count: Any, last: Any, ready: MpEvent, stop: MpEvent, out: Any) -> None:
    """Consume until `stop`; count jobs in `count[0]`, the last one's clock in `last[0]`."""
    logging.disable(logging.WARNING)
    run.system.run_consumer(_consume(url, run, count, last, ready, stop, out))


async def _consume(url: str, run: QueueRun, count: Any, last: Any, ready: MpEvent, stop: MpEvent, out: Any) -> None:
    seen: list[tuple[int, float]] = []
    clock = time.time

    def on_job(n: int) -> None:
        now = clock()
        count[0] += 1
        last[0] = now
        if run.rate:
            seen.append((n, now))

    stopping = asyncio.Event()
    task = asyncio.create_task(run.system.consume(url, on_job, stopping))
    await asyncio.sleep(1.0)  # connect, LISTEN, first (empty) dequeue
    if task.done():
        task.result()  # raises what went wrong
    ready.set()
    await asyncio.to_thread(stop.wait)
    stopping.set()
    await task
    out.put(("consumer", seen))


def producer_main(url: str, run: QueueRun, go: MpEvent, out: Any) -> None:
    """Enqueue `run.events` jobs from `run.publishers` tasks, each on its own connection."""
    logging.disable(logging.WARNING)
    asyncio.run(_produce(url, run, go, out))


async def _produce(url: str, run: QueueRun, go: MpEvent, out: Any) -> None:
    producers = [await run.system.producer(url) for _ in range(run.publishers)]
    per_task = run.events // run.publishers
    committed: list[tuple[int, float]] = []
    await asyncio.to_thread(go.wait)
    started = time.time()

    async def publish(task: int, producer: Producer) -> None:
        base = task * per_task
        for offset in range(0, per_task, run.batch):
            if run.rate:  # paced: job k is due at started + k / rate
                delay = started + (base + offset) / run.rate - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            ns = list(range(base + offset, base + min(offset + run.batch, per_task)))
            await producer.enqueue(ns)
            if run.rate:
                done = time.time()
                committed.extend((n, done) for n in ns)

    await asyncio.gather(*(publish(t, p) for t, p in enumerate(producers)))
    finished = time.time()
    for producer in producers:
        await producer.close()
    out.put(("producer", started, finished, committed))


def run_queue(admin_url: str, run: QueueRun, db: str) -> RunResult:
    """One run of a queue library: fresh database, its schema, a consumer and a producer process."""
    if run.rate:
        run = QueueRun(system=run.system, events=run.events, batch=1, publishers=1, rate=run.rate)
    events = (run.events // run.publishers) * run.publishers
    url = asyncio.run(create_empty_database(admin_url, db))
    ctx = mp.get_context("spawn")
    count, last = RawArray("q", 1), RawArray("d", 1)
    ready, stop, go = ctx.Event(), ctx.Event(), ctx.Event()
    out = ctx.Queue()
    procs: list[Any] = []
    try:
        asyncio.run(run.system.install(url))
        procs.append(ctx.Process(target=consumer_main, args=(url, run, count, last, ready, stop, out), daemon=True))
        procs[0].start()
        if not ready.wait(60):
            raise RuntimeError("the consumer did not start")
        procs.append(ctx.Process(target=producer_main, args=(url, run, go, out), daemon=True))
        procs[1].start()
        time.sleep(0.5)  # let the producer connect before the clock starts
        before = costs_now(admin_url)
        go.set()
        # Generous: procrastinate managed under 80 jobs/s on the loaded machine (load average ~10).
        wait_for_count(count, events, budget=30 + (events / run.rate if run.rate else events / 20))
        end = last[0]
        costs = costs_now(admin_url) - before
        stop.set()
        got = {msg[0]: msg for msg in (out.get(timeout=60), out.get(timeout=60))}
        for p in procs:
            p.join(30)
        _, started, finished, committed = got["producer"]
        seen = dict(got["consumer"][1])
        latencies = [(seen[n] - t) * 1000 for n, t in committed if n in seen]
        return RunResult(events=events, deliveries=int(count[0]), seconds=end - started,
                         publish_seconds=finished - started, rss_mb=[], latencies_ms=latencies, costs=costs)
    finally:
        stop_processes(stop, procs)
        asyncio.run(drop_database(admin_url, db))


def wait_for_count(count: Any, expected: int, budget: float) -> None:
    """Block until `count[0]` reaches `expected`, or raise after `budget` seconds."""
    deadline = time.monotonic() + budget
    while count[0] < expected:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {count[0]} of {expected} jobs handled after {budget:.0f} s")
        time.sleep(0.01)


# -- the configurations -------------------------------------------------------------------


@dataclass
class Config:
    """A row of the table: how to run it once, and what it measured over the rounds."""

    label: str
    run: Callable[[str, str], Sample]  # (admin URL, database name) -> Sample
    kind: str  # "throughput" | "latency" | "pgbench"
    publishers: int = 1
    samples: list[Sample] = field(default_factory=list)

    def median(self, attr: str) -> float:
        return med([v for s in self.samples if (v := getattr(s, attr)) == v])  # v == v drops NaN


def bus_config(label: str, spec: RunSpec, kind: str) -> Config:
    def run(admin_url: str, db: str) -> Sample:
        return sample_of(run_once(admin_url, spec, db), latency=kind == "latency")

    return Config(label, run, kind, publishers=spec.publishers)


def queue_config(label: str, queue: QueueRun, kind: str) -> Config:
    def run(admin_url: str, db: str) -> Sample:
        return sample_of(run_queue(admin_url, queue, db), latency=kind == "latency")

    return Config(label, run, kind, publishers=queue.publishers)


def pgbench_config(clients: int, seconds: int) -> Config:
    def run(admin_url: str, db: str) -> Sample:
        per_s, costs = pgbench_costed(admin_url, db, clients, seconds)
        return sample_of(RunResult(events=max(1, round(per_s * seconds)), deliveries=0, seconds=seconds,
                                   publish_seconds=float("nan"), rss_mb=[], latencies_ms=[], costs=costs),
                         latency=False)

    return Config(f"pgbench, 1 single-row INSERT/tx, {clients} client(s)", run, "pgbench", publishers=clients)


def configs(args: argparse.Namespace) -> list[Config]:
    """Every row, in table order."""
    knobs = BusKnobs(loops=4, worker_batch=250, relay_batch=500, pool_size=5)  # bench/bus.py's chosen settings
    inbox = BusKnobs(**{**knobs.__dict__, "inbox": True})
    uvloop = BusKnobs(**{**knobs.__dict__, "uvloop": True})  # as the services run, and PgQueuer here
    n, paced = args.events, int(args.rate * args.latency_seconds)
    pgq = PgQueuerSystem(batch_size=args.pgq_batch_size, managers=args.pgq_managers, uvloop=not args.pgq_asyncio)
    pro = ProcrastinateSystem(concurrency=args.procrastinate_concurrency)
    return [
        bus_config("bus, 100 events/tx, 1 sub, inbox off", RunSpec("b", events=n, knobs=knobs), "throughput"),
        bus_config("bus, 100 events/tx, 1 sub, inbox on", RunSpec("b", events=n, knobs=inbox), "throughput"),
        bus_config("bus, 1 event/tx, 4 publishers, inbox off",
                   RunSpec("s", events=n, publishers=4, batch=1, knobs=knobs), "throughput"),
        bus_config("bus, 1 event/tx autocommit (as pgbench), 4 publishers, inbox off",
                   RunSpec("s", events=n, publishers=4, batch=1, knobs=knobs, autocommit=True), "throughput"),
        bus_config("bus, 1 event/tx autocommit (as pgbench), 4 publishers, inbox off, uvloop",
                   RunSpec("s", events=n, publishers=4, batch=1, knobs=uvloop, autocommit=True), "throughput"),
        bus_config("bus, 1 event/tx, 4 publishers, inbox on",
                   RunSpec("s", events=n, publishers=4, batch=1, knobs=inbox), "throughput"),
        queue_config("PgQueuer, 100 jobs/enqueue", QueueRun(pgq, events=n), "throughput"),
        queue_config("PgQueuer, 1 job/tx, 4 publishers", QueueRun(pgq, events=n, batch=1, publishers=4), "throughput"),
        queue_config("procrastinate, batch_defer 100", QueueRun(pro, events=n), "throughput"),
        pgbench_config(1, args.pgbench_seconds),
        pgbench_config(4, args.pgbench_seconds),
        bus_config(f"bus latency, NOTIFY, {args.rate:.0f} events/s",
                   RunSpec("l", events=paced, rate=args.rate, knobs=knobs), "latency"),
        bus_config(f"bus latency, NOTIFY, {args.rate:.0f} events/s, uvloop",
                   RunSpec("l", events=paced, rate=args.rate, knobs=uvloop), "latency"),
        queue_config(f"PgQueuer latency, NOTIFY, {args.rate:.0f} jobs/s",
                     QueueRun(pgq, events=paced, rate=args.rate), "latency"),
    ]


# -- running and reporting ----------------------------------------------------------------


def run_rounds(rows: list[Config], rounds: int, admin_url: str) -> None:
    """Run every configuration once per round, rotating the order; a failed run is reported and skipped."""
    dbs = names()
    for r in range(rounds):
        shift = r % len(rows)
        for row in rows[shift:] + rows[:shift]:
            began = time.monotonic()
            try:
                sample = row.run(admin_url, next(dbs))
            except Exception as exc:  # a benchmark run, not a test: keep the other figures
                print(f"round {r + 1}: {row.label}: FAILED: {exc!r}", file=sys.stderr, flush=True)
                continue
            row.samples.append(sample)
            print(f"round {r + 1}: {row.label}: {describe(sample)} ({time.monotonic() - began:.0f} s)",
                  file=sys.stderr, flush=True)


def describe(sample: Sample) -> str:
    if sample.per_s == sample.per_s:
        return f"{sample.per_s:,.0f}/s"
    return f"p50 {sample.p50_ms:.2f} ms, p99 {sample.p99_ms:.2f} ms"


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if a == a and b == b and b else "-"


def table(rows: list[Config]) -> str:
    """The markdown table: medians, runs, and ratios to PgQueuer and pgbench from the same rounds."""
    none = Config("none", lambda a, b: Sample(), "none")
    pgq = next((row for row in rows if row.label.startswith("PgQueuer, 100")), none)
    pgq_latency = next((row for row in rows if row.label.startswith("PgQueuer latency")), none)
    pgbench = {row.publishers: row.median("per_s") for row in rows if row.kind == "pgbench"}
    lines = [
        "| configuration | events/s (median) | runs | publish-only/s | p50 / p99 ms "
        "| x PgQueuer (batched; latency: its p50 / p99) | x pgbench 1 client | x pgbench 4 clients "
        "| per event: WAL bytes / Postgres CPU µs / machine CPU µs |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        if row.kind == "latency":
            p50, p99 = row.median("p50_ms"), row.median("p99_ms")
            runs = ", ".join(f"{s.p50_ms:.2f} / {s.p99_ms:.2f}" for s in row.samples)
            vs = f"{ratio(p50, pgq_latency.median('p50_ms'))} / {ratio(p99, pgq_latency.median('p99_ms'))}"
            lines.append(f"| {row.label} | | {runs} | | {p50:.2f} / {p99:.2f} | {vs} | | | |")
            continue
        per_s = row.median("per_s")
        runs = ", ".join(f"{s.per_s:,.0f}" for s in row.samples)
        publish = row.median("publish_per_s")
        publish_text = f"{publish:,.0f}" if publish == publish else ""
        lines.append(f"| {row.label} | {per_s:,.0f} | {runs} | {publish_text} | | {ratio(per_s, pgq.median('per_s'))} "
                     f"| {ratio(per_s, pgbench.get(1, float('nan')))} | {ratio(per_s, pgbench.get(4, float('nan')))} "
                     f"| {per_event_costs(row)} |")
    return "\n".join(lines)


def per_event_costs(row: Config) -> str:
    """Medians of what each event cost: WAL bytes, Postgres's CPU and the machine's (µs)."""
    wal, postgres, machine = (row.median(a) for a in ("wal_per_event", "postgres_us_per_event", "machine_us_per_event"))
    return "" if wal != wal else f"{wal:,.0f} / {postgres:,.0f} / {machine:,.0f}"


def loadavg() -> str:
    """The first three fields of /proc/loadavg."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> None:
    """Parse options, run the rounds, print the table."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_shared_arguments(parser)
    parser.add_argument("--rounds", type=int, default=3, help="rounds; every configuration runs once per round")
    parser.add_argument("--pgq-batch-size", type=int, default=100, help="PgQueuer QueueManager.run(batch_size=)")
    parser.add_argument("--pgq-managers", type=int, default=1, help="PgQueuer QueueManagers (one connection each)")
    parser.add_argument("--pgq-asyncio", action="store_true", help="run PgQueuer's consumer on asyncio, not uvloop")
    parser.add_argument("--procrastinate-concurrency", type=int, default=30)
    parser.add_argument("--only", default="",
                        help="run only configurations whose label contains this (several: separate with |)")
    args = parser.parse_args()

    wanted = args.only.split("|")
    rows = [row for row in configs(args) if any(part in row.label for part in wanted)]
    before = loadavg()
    started = time.strftime("%Y-%m-%d %H:%M:%S %Z")
    run_rounds(rows, args.rounds, args.database_url)
    print(f"# bus vs PgQueuer vs procrastinate vs pgbench, {started}, nproc {os.cpu_count()}, rounds {args.rounds}, "
          f"{args.events:,} events per throughput run, load average {before} before, {loadavg()} after; "
          f"PgQueuer batch_size {args.pgq_batch_size}, {args.pgq_managers} QueueManager(s), "
          f"{'asyncio' if args.pgq_asyncio else 'uvloop'}; procrastinate "
          f"concurrency {args.procrastinate_concurrency}\n")
    print(table(rows))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
