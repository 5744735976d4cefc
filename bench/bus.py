"""Benchmark of the Postgres event bus: throughput, commit-to-handler latency, worker RSS.

A benchmark, not a test: it prints a markdown table of medians over `--runs` runs. Every run
uses a fresh database (`bench_<scenario>_<pid>_<n>`, dropped afterwards) on the server of
`--database-url`. Topology: each worker process runs `EventBus(service="bench", ...)` with the
same router, so all processes share the subscriptions; the relay runs in worker process #0
(`--relay-process` moves it to a process of its own); publishers run in a separate process,
each publisher task on its own connection. Processes are started with `spawn`.

    python bench/bus.py                       # everything, ~8 minutes
    python bench/bus.py --scenario latency --runs 5
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from multiprocessing.sharedctypes import RawArray
from multiprocessing.synchronize import Event as MpEvent
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
# bench/ holds other scripts (e.g. http.py) that would shadow the standard library when this
# file runs as a script; take it off the path, and put the repository root at the end.
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

from bench import trace  # noqa: E402
from bench.costs import Costs, costs_now  # noqa: E402
from broker import metrics, schema  # noqa: E402
from broker.bus import EventBus  # noqa: E402
from broker.delivery import Delivery  # noqa: E402
from broker.router import Router  # noqa: E402
from broker.settings import BusSettings  # noqa: E402
from contracts.envelope import Event  # noqa: E402
from tests.databases import create_database as create_empty_database  # noqa: E402
from tests.databases import drop_database  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
SCENARIOS = ("batch", "single", "latency", "pgbench", "fanout", "backlog")


class Tick(Event, frozen=True, kw_only=True, tag="bench.tick.sent"):
    """The benchmark's event: a sequence number and the publisher's clock before commit."""

    n: int
    sent_at: float


# -- configuration ------------------------------------------------------------------------


@dataclass(frozen=True)
class BusKnobs:
    """The bus settings a run uses (the same in every worker process)."""

    loops: int = 4
    worker_batch: int = 100
    relay_batch: int = 500
    pool_size: int = 5
    poll_interval: float = 1.0
    listen: bool = True
    publisher_procs: int = 1
    transport: str = "postgres"
    amqp_url: str = ""
    amqp_prefix: str = "bench"
    inbox: bool = False  # handlers record each event in the inbox (`async with ctx.transaction():`)
    uvloop: bool = False  # worker and publisher processes on uvloop, as a service under uvicorn runs

    def settings(self, *, relay: bool, workers: int) -> BusSettings:
        """BusSettings for one process; cleanup is off so it cannot land inside a run."""
        return BusSettings(
            relay=relay,
            workers=workers,
            listen=self.listen,
            poll_interval=self.poll_interval,
            worker_batch=self.worker_batch,
            relay_batch=self.relay_batch,
            pool_size=self.pool_size,
            cleanup_interval=0,
            transport=self.transport,
            amqp_url=self.amqp_url,
            amqp_prefix=self.amqp_prefix,
        )


@dataclass(frozen=True)
class RunSpec:
    """One measured configuration."""

    label: str
    subs: int = 1
    procs: int = 1
    publishers: int = 1
    batch: int = 100
    events: int = 20_000
    rate: float = 0.0  # events/s for a paced (latency) run; 0: as fast as possible
    relay_process: bool = False
    knobs: BusKnobs = field(default_factory=BusKnobs)
    others: int = 0  # active subscriptions that match no published event (fan-out scenario)
    backlog: int = 0  # retry-delayed deliveries queued in front of the run's (backlog scenario)
    # One event per statement outside an explicit transaction (autocommit), as pgbench's script
    # runs its INSERT: one round trip instead of BEGIN, INSERT, COMMIT.
    autocommit: bool = False


@dataclass
class RunResult:
    """What one run measured."""

    events: int
    deliveries: int
    seconds: float
    publish_seconds: float
    rss_mb: list[float]
    latencies_ms: list[float]
    costs: Costs | None = None  # from the first publish to the last handler (bench/costs.py)

    @property
    def events_per_s(self) -> float:
        """Events from first publish to last handler."""
        return self.events / self.seconds

    @property
    def deliveries_per_s(self) -> float:
        """Handler runs (events x subscriptions) per second."""
        return self.deliveries / self.seconds


# -- databases ----------------------------------------------------------------------------


async def delete_rabbit_topology(url: str, knobs: BusKnobs) -> None:
    """Remove the run's exchange and its subscriptions' queues from RabbitMQ."""
    from broker.rabbit import delete_topology

    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT name FROM event_subscriptions WHERE module_name = 'bench'")
        names = [row["name"] for row in rows]
    finally:
        await conn.close()
    await delete_topology(knobs.amqp_url, knobs.amqp_prefix, names)


async def create_database(admin_url: str, name: str) -> str:
    """Create database `name` with the bus schema; returns its URL."""
    url = await create_empty_database(admin_url, name)
    conn = await asyncpg.connect(url)
    try:
        await schema.install(conn)
    finally:
        await conn.close()
    return url


# -- worker and publisher processes -------------------------------------------------------


def rss_mb() -> float:
    """This process's resident set size (VmRSS) in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


# Matching patterns take turns, so the fan-out exercises `*` and `#` as well as exact types.
MATCHING_PATTERNS = ("bench.tick.sent", "bench.*.sent", "bench.#")


def make_router(subs: int, on_tick: Callable[[Tick], None], *, inbox: bool = False, others: int = 0) -> Router:
    """A router with `subs` handlers of `bench.tick.sent`, all calling `on_tick`, and `others`
    handlers of patterns that match nothing published (many subscriptions, few matching).

    With `inbox`, each handler opens `ctx.transaction()`, which records the event in the inbox.
    """
    router = Router()
    for i in range(others):

        async def never(event: Tick) -> None:
            raise AssertionError("a non-matching subscription got a delivery")

        router.on(f"bench.other{i}.#" if i % 2 else f"bench.*.other{i}", name=f"other_{i}")(never)
    for i in range(subs):

        async def handle(event: Tick) -> None:
            on_tick(event)

        async def handle_once(event: Tick, ctx: Delivery) -> None:
            async with ctx.transaction():
                pass  # the inbox row commits here
            on_tick(event)

        pattern = MATCHING_PATTERNS[i % len(MATCHING_PATTERNS)] if others else "bench.tick.sent"
        router.on(pattern, name=f"tick_{i}")(handle_once if inbox else handle)
    return router


def run_loop(spec: RunSpec, main: Coroutine[Any, Any, None]) -> None:
    """Run a process's coroutine on asyncio, or on uvloop when the run asks for it."""
    if spec.knobs.uvloop:
        import uvloop

        uvloop.run(main)
    else:
        asyncio.run(main)


def worker_main(
    url: str, spec: RunSpec, index: int, relay: bool, loops: int,
    counts: Any, last: Any, ready: MpEvent, stop: MpEvent, results: Any,
) -> None:
    """Run one worker process until `stop`; count handled deliveries in `counts[index]`."""
    logging.disable(logging.WARNING)
    traced = trace.install("worker")
    run_loop(spec, _worker(url, spec, index, relay, loops, counts, last, ready, stop, results))
    if traced:
        trace.dump()


async def _worker(
    url: str, spec: RunSpec, index: int, relay: bool, loops: int,
    counts: Any, last: Any, ready: MpEvent, stop: MpEvent, results: Any,
) -> None:
    seen: list[tuple[int, float]] = []
    record = spec.rate > 0
    clock = time.time

    def on_tick(event: Tick) -> None:
        now = clock()
        counts[index] += 1
        last[index] = now
        if record:
            seen.append((event.n, now))

    bus = EventBus(service="bench", dsn=url, settings=spec.knobs.settings(relay=relay, workers=loops))
    if loops:
        bus.include_router(make_router(spec.subs, on_tick, inbox=spec.knobs.inbox, others=spec.others))
    await bus.start()
    cpu = time.process_time()  # the run's work, not the imports and start-up
    ready.set()
    await asyncio.to_thread(stop.wait)
    cpu = time.process_time() - cpu
    rss = rss_mb()
    await bus.close()
    handed, claimed = metrics.handed_over._value.get(), metrics.claimed._value.get()
    if handed + claimed:
        print(f"worker {index}: {handed:,.0f} deliveries handed over by the relay, {claimed:,.0f} claimed",
              file=sys.stderr)
    if counts[index]:
        print(f"worker {index}: {cpu / counts[index] * 1e6:,.0f} µs CPU per delivery handled "
              f"({'with' if relay else 'without'} the relay)", file=sys.stderr)
    results.put(("worker", index, rss, seen))


def publisher_main(url: str, spec: RunSpec, go: MpEvent, results: Any, tasks: list[int]) -> None:
    """Publish the events of publisher tasks `tasks` (of `spec.publishers`), each on its own connection."""
    logging.disable(logging.WARNING)
    traced = trace.install("publisher")
    run_loop(spec, _publisher(url, spec, go, results, tasks))
    if traced:
        trace.dump()


async def _publisher(url: str, spec: RunSpec, go: MpEvent, results: Any, tasks: list[int]) -> None:
    bus = EventBus(service="bench", dsn=url, settings=BusSettings(relay=False, workers=0, listen=False, pool_size=1))
    await bus.open()
    conns = [await asyncpg.connect(url) for _ in tasks]
    committed: list[tuple[int, float]] = []
    per_task = spec.events // spec.publishers
    await asyncio.to_thread(go.wait)
    started, cpu = time.time(), time.process_time()

    async def publish(task: int, conn: asyncpg.Connection) -> None:
        base = task * per_task
        for offset in range(0, per_task, spec.batch):
            count = min(spec.batch, per_task - offset)
            if spec.rate:  # paced: event k is due at started + k / rate
                due = started + (base + offset) / spec.rate
                delay = due - time.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            now = time.time()
            events = [Tick(n=base + offset + k, sent_at=now) for k in range(count)]
            if spec.autocommit:
                await bus.publish_many(conn, events)
            else:
                async with conn.transaction():
                    if count == 1:
                        await bus.publish(conn, events[0])
                    else:
                        await bus.publish_many(conn, events)
            done = time.time()
            if spec.rate:
                committed.extend((e.n, done) for e in events)

    if spec.rate:  # one paced stream, interleaving the tasks' events
        await publish(0, conns[0])
    else:
        await asyncio.gather(*(publish(t, c) for t, c in zip(tasks, conns, strict=True)))
    finished, cpu = time.time(), time.process_time() - cpu
    print(f"publisher: {cpu / (per_task * len(tasks)) * 1e6:,.0f} µs CPU per event published", file=sys.stderr)
    for conn in conns:
        await conn.close()
    await bus.close()
    results.put(("publisher", started, finished, committed))


def stop_processes(stop: MpEvent, procs: list[Any]) -> None:
    """Tell a run's processes to stop, and terminate whichever has not."""
    stop.set()
    for p in procs:
        if p.is_alive():
            p.terminate()
            p.join(5)


def run_once(admin_url: str, spec: RunSpec, db: str) -> RunResult:
    """One run: fresh database, worker processes, a publisher, wait for every delivery."""
    if spec.rate:
        spec = RunSpec(**{**spec.__dict__, "publishers": 1, "batch": 1})
    if spec.knobs.transport == "rabbitmq":  # exchange and queues of their own, deleted afterwards
        spec = RunSpec(**{**spec.__dict__, "knobs": BusKnobs(**{**spec.knobs.__dict__, "amqp_prefix": db})})
    events = (spec.events // spec.publishers) * spec.publishers
    url = asyncio.run(create_database(admin_url, db))
    ctx = mp.get_context("spawn")
    nprocs = spec.procs + (1 if spec.relay_process else 0)
    counts = RawArray("q", nprocs)
    last = RawArray("d", nprocs)
    stop = ctx.Event()
    go = ctx.Event()
    results = ctx.Queue()
    procs = []
    readies = []
    try:
        for i in range(nprocs):
            is_relay_proc = spec.relay_process and i == spec.procs
            relay = is_relay_proc or (not spec.relay_process and i == 0)
            loops = 0 if is_relay_proc else spec.knobs.loops
            ready = ctx.Event()
            p = ctx.Process(
                target=worker_main, args=(url, spec, i, relay, loops, counts, last, ready, stop, results), daemon=True
            )
            p.start()
            procs.append(p)
            readies.append(ready)
        for ready in readies:
            if not ready.wait(60):
                raise RuntimeError("a worker process did not start")
        if spec.backlog:
            asyncio.run(preload_backlog(url, spec.backlog))
        # Publisher tasks spread over `publisher_procs` processes (one Python process tops out
        # at about 3k one-event transactions/s on this machine, below what the bus takes).
        nprocs_pub = 1 if spec.rate else max(1, min(spec.knobs.publisher_procs, spec.publishers))
        for k in range(nprocs_pub):
            tasks = list(range(k, spec.publishers, nprocs_pub)) if not spec.rate else [0]
            pub = ctx.Process(target=publisher_main, args=(url, spec, go, results, tasks), daemon=True)
            pub.start()
            procs.append(pub)
        time.sleep(0.5)  # let the publisher connect before the clock starts
        before = costs_now(admin_url)
        go.set()
        expected = events * spec.subs
        budget = 30 + (events / spec.rate if spec.rate else expected / 200) + spec.backlog / 2000
        deadline = time.monotonic() + budget
        while sum(counts) < expected:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{spec.label}: only {sum(counts)} of {expected} deliveries after {budget:.0f} s")
            time.sleep(0.01)
        end = max(last)
        costs = costs_now(admin_url) - before
        stop.set()
        got: dict[str, Any] = {}
        rss: list[float] = []
        seen: dict[int, float] = {}
        for _ in range(nprocs + nprocs_pub):
            msg = results.get(timeout=60)
            if msg[0] == "publisher":
                if "publisher" in got:  # several publisher processes: first start, last finish
                    _, s0, f0, c0 = got["publisher"]
                    msg = ("publisher", min(s0, msg[1]), max(f0, msg[2]), c0 + msg[3])
                got["publisher"] = msg
            else:
                if not (spec.relay_process and msg[1] == spec.procs):
                    rss.append(msg[2])
                for n, t in msg[3]:
                    seen.setdefault(n, t)
        for p in procs:
            p.join(30)
        _, started, finished, committed = got["publisher"]
        latencies = [(seen[n] - t) * 1000 for n, t in committed if n in seen]
        return RunResult(
            events=events,
            deliveries=int(sum(counts)),
            seconds=end - started,
            publish_seconds=finished - started,
            rss_mb=rss,
            latencies_ms=latencies,
            costs=costs,
        )
    finally:
        stop_processes(stop, procs)
        if spec.knobs.transport == "rabbitmq":
            asyncio.run(delete_rabbit_topology(url, spec.knobs))
        asyncio.run(drop_database(admin_url, db))


# -- fan-out and backlog ------------------------------------------------------------------

BACKLOG = """
WITH ev AS (
    INSERT INTO events (id, event_type, source, occurred_at, payload, expires_at)
    SELECT gen_random_uuid(), 'bench.tick.sent', 'bench', now(), '{"n": -1, "sent_at": 0}', now() + interval '7 days'
    FROM generate_series(1, $1)
    RETURNING id
)
INSERT INTO event_deliveries (subscription_id, event_id, priority, attempts, available_at, last_error)
SELECT (SELECT id FROM event_subscriptions WHERE name = 'bench.tick_0'), id, 5, 1,
       now() + interval '1 day', 'bench: retry-delayed backlog'
FROM ev
"""


async def preload_backlog(url: str, n: int) -> None:
    """Queue `n` logged events whose deliveries wait for a retry a day away, in front of the run's."""
    conn = await asyncpg.connect(url)
    try:
        for start in range(0, n, 100_000):
            await conn.execute(BACKLOG, min(100_000, n - start))
        await conn.execute("VACUUM ANALYZE event_deliveries")
        await conn.execute("VACUUM ANALYZE events")
    finally:
        await conn.close()


async def _relay_alone(url: str, subs: int, others: int, events: int, relay_batch: int) -> tuple[float, int]:
    """Declare the subscriptions, fill the outbox, then time the relay draining it alone."""
    from broker.postgres import PostgresStore

    pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
    try:
        store = PostgresStore(pool, source="bench")
        router = make_router(subs, lambda _: None, others=others)
        await store.sync_subscriptions("bench", router.handlers)
        async with pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO bus_outbox (id, event_type, source, occurred_at, payload) "
                "SELECT gen_random_uuid(), 'bench.tick.sent', 'bench', now(), '{\"n\": 0, \"sent_at\": 0}' "
                "FROM generate_series(1, $1)", events)
            await conn.execute("VACUUM ANALYZE")
        started = time.perf_counter()
        while await store.relay_batch(relay_batch) > 0:
            pass
        seconds = time.perf_counter() - started
        async with pool.acquire() as conn:
            deliveries = int(await conn.fetchval("SELECT count(*) FROM event_deliveries"))
        return seconds, deliveries
    finally:
        await pool.close()


def relay_once(admin_url: str, spec: RunSpec, db: str, relay_batch: int) -> float:
    """Deliveries/s of the relay alone, on a fresh database; checks the fan-out's count."""
    url = asyncio.run(create_database(admin_url, db))
    try:
        seconds, deliveries = asyncio.run(_relay_alone(url, spec.subs, spec.others, spec.events, relay_batch))
    finally:
        asyncio.run(drop_database(admin_url, db))
    if deliveries != spec.events * spec.subs:
        raise RuntimeError(f"{spec.label}: {deliveries} deliveries, expected {spec.events * spec.subs}")
    return deliveries / seconds


def print_scale(args: argparse.Namespace, plan: dict[str, list[RunSpec]], dbs: Iterator[str]) -> None:
    """The fan-out table (relay alone, then end to end) and the backlog table."""
    chosen = ("fanout", "backlog") if args.scenario == "all" else (args.scenario,)
    if "fanout" in chosen:
        print("| relay alone | deliveries/s | runs |\n|---|---:|---|", flush=True)
        shapes = {(spec.subs + spec.others, spec.subs): spec for spec in plan["fanout"]}  # not per process count
        for (total, matching), spec in shapes.items():
            rates = [relay_once(args.database_url, spec, next(dbs), args.relay_batch) for _ in range(args.runs)]
            runs = ", ".join(f"{r:,.0f}" for r in rates)
            print(f"| {total} subs, {matching} matching | {med(rates):,.0f} | {runs} |", flush=True)
        print()
    for scenario in ("fanout", "backlog"):
        if scenario in chosen:
            print_throughput(args, plan[scenario], dbs)


# -- pgbench ------------------------------------------------------------------------------


def pgbench_binary() -> str:
    """Path of pgbench (on PATH or Debian's versioned directory)."""
    found = shutil.which("pgbench") or "/usr/lib/postgresql/15/bin/pgbench"
    if not Path(found).exists():
        raise RuntimeError("pgbench not found: apt-get install postgresql-contrib")
    return found


def pgbench_once(admin_url: str, db: str, clients: int, seconds: int) -> float:
    """TPS of one single-row INSERT per transaction, `clients` connections, on a fresh bus database."""
    return pgbench_costed(admin_url, db, clients, seconds)[0]


def pgbench_costed(admin_url: str, db: str, clients: int, seconds: int) -> tuple[float, Costs]:
    """`pgbench_once`, and what pgbench's run itself cost (bench/costs.py)."""
    url = asyncio.run(create_database(admin_url, db))

    async def make_table() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("CREATE TABLE pgb (id bigserial PRIMARY KEY, v integer NOT NULL, "
                               "at timestamptz NOT NULL DEFAULT now())")
        finally:
            await conn.close()

    try:
        asyncio.run(make_table())
        with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
            f.write("INSERT INTO pgb (v) VALUES (1);\n")
            script = f.name
        cmd = [pgbench_binary(), "-n", "-f", script, "-T", str(seconds), "-c", str(clients),
               "-j", str(min(clients, os.cpu_count() or 1)), url]
        before = costs_now(admin_url)
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        costs = costs_now(admin_url) - before
        os.unlink(script)
        for line in out.splitlines():
            if line.startswith("tps ="):
                return float(line.split()[2]), costs
        raise RuntimeError(f"no tps in pgbench output:\n{out}")
    finally:
        asyncio.run(drop_database(admin_url, db))


# -- driver -------------------------------------------------------------------------------


def med(values: list[float]) -> float:
    """Median, NaN when empty."""
    return statistics.median(values) if values else float("nan")


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of `values`, nearest rank."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def names() -> Iterator[str]:
    """Unique database names for this invocation."""
    n = 0
    while True:
        n += 1
        yield f"bench_{os.getpid()}_{n}"


def specs(args: argparse.Namespace) -> dict[str, list[RunSpec]]:
    """The configurations of each scenario, from the command line."""
    knobs = BusKnobs(
        loops=args.loops, worker_batch=args.worker_batch, relay_batch=args.relay_batch, pool_size=args.pool_size
    )
    batch = [
        RunSpec(f"batch 100/tx, {s} sub, {p} proc", subs=s, procs=p, events=args.events, knobs=knobs,
                relay_process=args.relay_process)
        for s in (1, 4) for p in (1, 2)
    ]
    single = [
        RunSpec(f"1 event/tx, 4 publishers in {pp} process(es), 1 sub, {p} proc", subs=1, procs=p, publishers=4,
                batch=1, events=args.single_events, relay_process=args.relay_process,
                knobs=BusKnobs(**{**knobs.__dict__, "publisher_procs": pp}))
        for pp in (args.publisher_procs,) for p in (1, 2)
    ]
    latency = [
        RunSpec(label, rate=args.rate, events=int(args.rate * args.latency_seconds), knobs=k)
        for label, k in (
            ("NOTIFY", BusKnobs(**{**knobs.__dict__, "listen": True, "poll_interval": 1.0})),
            ("poll 0.05 s", BusKnobs(**{**knobs.__dict__, "listen": False, "poll_interval": 0.05})),
            ("poll 1.0 s", BusKnobs(**{**knobs.__dict__, "listen": False, "poll_interval": 1.0})),
        )
    ]
    if args.amqp_url:  # the same runs over the RabbitMQ transport
        rabbit = BusKnobs(**{**knobs.__dict__, "transport": "rabbitmq", "amqp_url": args.amqp_url})
        batch.append(RunSpec("batch 100/tx, 1 sub, 1 proc, RabbitMQ", subs=1, procs=1, events=args.events,
                             knobs=rabbit, relay_process=args.relay_process))
        latency.append(RunSpec("NOTIFY, RabbitMQ", rate=args.rate, events=int(args.rate * args.latency_seconds),
                               knobs=rabbit))
    fanout = [
        RunSpec(f"{n} subs, {min(n, args.matching)} matching, {p} proc", subs=min(n, args.matching), procs=p,
                others=n - min(n, args.matching), events=args.events, knobs=knobs, relay_process=args.relay_process)
        for n in (int(x) for x in args.subs.split(",")) for p in (int(x) for x in args.procs.split(","))
    ]
    backlog = [
        RunSpec(f"{n:,} retry-delayed in front, 1 sub, 1 proc", backlog=n, events=args.events, knobs=knobs,
                relay_process=args.relay_process)
        for n in (int(x) for x in args.backlog.split(","))
    ]
    return {"batch": batch, "single": single, "latency": latency, "fanout": fanout, "backlog": backlog}


def print_throughput(args: argparse.Namespace, specs: list[RunSpec], dbs: Iterator[str]) -> list[float]:
    """Run each configuration `args.runs` times and print a row of medians; returns the RSS seen."""
    print("| throughput | events/s | deliveries/s | publish-only events/s | worker RSS MB | runs (events/s) |\n"
          "|---|---:|---:|---:|---:|---|", flush=True)
    all_rss: list[float] = []
    for spec in specs:
        if args.only and args.only not in spec.label:
            continue
        runs = [run_once(args.database_url, spec, next(dbs)) for _ in range(args.runs)]
        rss = [r for run in runs for r in run.rss_mb]
        all_rss += rss
        print(f"| {spec.label} | {med([r.events_per_s for r in runs]):,.0f} "
              f"| {med([r.deliveries_per_s for r in runs]):,.0f} "
              f"| {med([r.events / r.publish_seconds for r in runs]):,.0f} | {max(rss):.0f} "
              f"| {', '.join(f'{r.events_per_s:,.0f}' for r in runs)} |", flush=True)
    print()
    return all_rss


def add_shared_arguments(parser: argparse.ArgumentParser) -> None:
    """The options bench/bus.py and bench/compare.py both take."""
    parser.add_argument("--database-url", default=os.environ.get("BUILDIFY_BENCH_DATABASE_URL", DEFAULT_URL),
                        help="server to create the bench databases on (env BUILDIFY_BENCH_DATABASE_URL)")
    parser.add_argument("--events", type=int, default=10_000, help="events per batched throughput run")
    parser.add_argument("--rate", type=float, default=200.0, help="events/s of the latency runs")
    parser.add_argument("--latency-seconds", type=float, default=8.0, help="length of a latency run")
    parser.add_argument("--pgbench-seconds", type=int, default=10)


def main() -> None:
    """Parse options, run the chosen scenarios, print markdown tables of medians."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_shared_arguments(parser)
    parser.add_argument("--scenario", default="all", choices=(*SCENARIOS, "all"))
    parser.add_argument("--runs", type=int, default=3, help="runs per configuration (medians are reported)")
    parser.add_argument("--single-events", type=int, default=10_000, help="events per one-event-per-tx run")
    parser.add_argument("--loops", type=int, default=4, help="BusSettings.workers: worker loops per process")
    parser.add_argument("--worker-batch", type=int, default=250, help="BusSettings.worker_batch")
    parser.add_argument("--relay-batch", type=int, default=500)
    parser.add_argument("--pool-size", type=int, default=5)
    parser.add_argument("--relay-process", action="store_true", help="run the relay in a process of its own")
    parser.add_argument("--publisher-procs", type=int, default=1,
                        help="processes the 4 one-event-per-transaction publishers are spread over")
    parser.add_argument("--only", default="", help="run only configurations whose label contains this")
    parser.add_argument("--amqp-url", default=os.environ.get("BUILDIFY_BENCH_AMQP_URL", ""),
                        help="also run over the RabbitMQ transport (env BUILDIFY_BENCH_AMQP_URL)")
    parser.add_argument("--subs", default="1,200", help="fanout: active subscriptions per configuration")
    parser.add_argument("--matching", type=int, default=5, help="fanout: how many of them match the events")
    parser.add_argument("--procs", default="1", help="fanout: worker processes per configuration")
    parser.add_argument("--backlog", default="0,200000", help="backlog: retry-delayed deliveries in front")
    args = parser.parse_args()

    chosen = SCENARIOS if args.scenario == "all" else (args.scenario,)
    plan = specs(args)
    dbs = names()
    print(f"# bus benchmark, {time.strftime('%Y-%m-%d %H:%M')}, nproc {os.cpu_count()}, runs {args.runs}, "
          f"loops {args.loops}, worker_batch {args.worker_batch}, relay_batch {args.relay_batch}, "
          f"relay {'own process' if args.relay_process else 'in worker process #0'}\n", flush=True)
    all_rss: list[float] = []

    pg_tps: dict[int, float] = {}
    if "pgbench" in chosen:
        print("| pgbench, 1 single-row INSERT per tx | TPS (median) | runs |\n|---|---:|---|", flush=True)
        for clients in (1, 4):
            tps = [pgbench_once(args.database_url, next(dbs), clients, args.pgbench_seconds) for _ in range(args.runs)]
            pg_tps[clients] = med(tps)
            print(f"| {clients} client(s) | {med(tps):,.0f} | {', '.join(f'{t:,.0f}' for t in tps)} |", flush=True)
        print()

    for scenario in ("batch", "single"):
        if scenario in chosen:
            all_rss += print_throughput(args, plan[scenario], dbs)

    if {"fanout", "backlog"} & set(chosen):
        print_scale(args, plan, dbs)

    if "latency" in chosen:
        print(f"| commit-to-handler latency at {args.rate:.0f} events/s | p50 ms | p99 ms | max ms "
              "| runs (p50 / p99) |\n"
              "|---|---:|---:|---:|---|", flush=True)
        for spec in plan["latency"]:
            if args.only and args.only not in spec.label:
                continue
            runs = [run_once(args.database_url, spec, next(dbs)) for _ in range(args.runs)]
            all_rss += [r for run in runs for r in run.rss_mb]
            p50 = [pct(r.latencies_ms, 0.5) for r in runs]
            p99 = [pct(r.latencies_ms, 0.99) for r in runs]
            print(f"| {spec.label} | {med(p50):.2f} | {med(p99):.2f} | {max(max(r.latencies_ms) for r in runs):.1f} "
                  f"| {', '.join(f'{a:.2f} / {b:.2f}' for a, b in zip(p50, p99, strict=True))} |", flush=True)
        print()
    if all_rss:
        print(f"worker process RSS: median {med(all_rss):.0f} MB, max {max(all_rss):.0f} MB", flush=True)


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
