"""Scale curves of the Postgres bus: throughput and latency as one thing grows, plus storage.

A benchmark, not a test. Every point runs through bench/bus.py's `run_once` (fresh database,
spawned worker processes, a publisher process) and `relay_once` (the relay alone), so the
figures are measured exactly as docs/benchmarks.md's other bus tables are. Sweeps:

- backlog: retry-delayed deliveries queued in front of the run's (10k, 100k, 1M; seeded by SQL
  as bus.py's backlog scenario does), 1 subscription;
- subs: active subscriptions of which 5 match (1 → 200), relay alone and end to end;
- matching: subscriptions that all match (1 → 16), relay alone and end to end;
- procs: worker processes (1 → 4), 4 matching subscriptions;
- storage: bus tables' size after N events (bench/storage.py), per million by extrapolation, and
  retention of N expired events by the bus's DELETE cleanup against dropping day partitions.

Throughput is `--events` events published 100 per transaction while consuming (events/s and
deliveries/s end to end); latency is commit-to-handler p50/p99 of a paced run at `--rate` events/s
for `--latency-seconds`, one event per transaction, NOTIFY on. It prints markdown tables, and
writes them with the PNG plots to `--out` (docs/benchmarks/ by default) plus a JSON of every run.

    python bench/curves.py               # an estimated 20 minutes on the 2-core machine (not yet run whole)
    python bench/curves.py --quick       # smoke test: small points, 1 run, about 3 minutes
    python bench/curves.py --only subs,matching --runs 3
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# bench/http.py would shadow the standard library when this file runs as a script: import this
# folder as the namespace package `bench` from the repository root instead (as compare.py does).
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

from bench.bus import DEFAULT_URL, BusKnobs, RunSpec, med, names, pct, relay_once, run_once  # noqa: E402

SWEEPS = ("backlog", "subs", "matching", "procs", "storage")


@dataclass
class Point:
    """One x of one sweep: every run's figures (medians are taken when printing)."""

    sweep: str
    x: int
    label: str
    events_per_s: list[float] = field(default_factory=list)
    deliveries_per_s: list[float] = field(default_factory=list)
    relay_deliveries_per_s: list[float] = field(default_factory=list)
    p50_ms: list[float] = field(default_factory=list)
    p99_ms: list[float] = field(default_factory=list)


def shapes(args: argparse.Namespace) -> dict[str, list[tuple[int, str, RunSpec]]]:
    """The points of each bus sweep: (x, label, what the point varies as a bench/bus.py RunSpec:
    matching subscriptions `subs`, non-matching `others`, worker processes `procs`, `backlog`)."""
    return {
        "backlog": [(n, f"{n:,} retry-delayed in front", RunSpec("backlog", backlog=n)) for n in args.backlog],
        "subs": [(n, f"{n} subs, {min(n, 5)} matching", RunSpec("subs", subs=min(n, 5), others=n - min(n, 5)))
                 for n in args.subs],
        "matching": [(n, f"{n} matching subs", RunSpec("matching", subs=n)) for n in args.matching],
        "procs": [(n, f"{n} worker process(es), 4 matching subs", RunSpec("procs", subs=4, procs=n))
                  for n in args.procs],
    }


def spec_of(shape: RunSpec, args: argparse.Namespace, *, paced: bool) -> RunSpec:
    """`shape` as a throughput run, or (paced) a latency run, with bus.py's command-line worker batch."""
    events = int(args.rate * args.latency_seconds) if paced else args.events
    return replace(shape, events=events, rate=args.rate if paced else 0.0, knobs=BusKnobs(worker_batch=250))


def runs_for(shape: RunSpec, args: argparse.Namespace) -> int:
    """Runs per point: `--big-runs` where seeding the backlog dominates (≥ 500,000), else `--runs`."""
    return int(args.big_runs if shape.backlog >= 500_000 else args.runs)


def measure(sweep: str, x: int, label: str, shape: RunSpec, args: argparse.Namespace, dbs: Iterator[str]) -> Point:
    """Throughput (and the relay alone, when subscriptions vary) and latency at one point: the paced
    runs are fewer (`--latency-runs`), since a point's p50/p99 come from hundreds of events each."""
    point = Point(sweep, x, label)
    for _ in range(runs_for(shape, args)):
        result = run_once(args.database_url, spec_of(shape, args, paced=False), next(dbs))
        point.events_per_s.append(result.events_per_s)
        point.deliveries_per_s.append(result.deliveries_per_s)
        if sweep in ("subs", "matching"):
            alone = replace(shape, events=args.events)
            point.relay_deliveries_per_s.append(relay_once(args.database_url, alone, next(dbs), 500))
    for _ in range(min(args.latency_runs, runs_for(shape, args))):
        paced = run_once(args.database_url, spec_of(shape, args, paced=True), next(dbs))
        point.p50_ms.append(pct(paced.latencies_ms, 0.5))
        point.p99_ms.append(pct(paced.latencies_ms, 0.99))
    return point


def fmt(values: list[float], spec: str = ",.0f") -> str:
    """Median, or an empty cell."""
    return format(med(values), spec) if values else ""


def curve_table(points: list[Point]) -> str:
    """A markdown table of one sweep's medians, with every run's events/s."""
    rows = ["| point | events/s | deliveries/s | relay alone, deliveries/s | p50 ms | p99 ms | runs (events/s) |",
            "|---|---:|---:|---:|---:|---:|---|"]
    for p in points:
        runs = ", ".join(f"{v:,.0f}" for v in p.events_per_s)
        rows.append(f"| {p.label} | {fmt(p.events_per_s)} | {fmt(p.deliveries_per_s)} "
                    f"| {fmt(p.relay_deliveries_per_s)} | {fmt(p.p50_ms, '.2f')} | {fmt(p.p99_ms, '.2f')} | {runs} |")
    return "\n".join(rows)


def storage_tables(args: argparse.Namespace, dbs: Iterator[str]) -> tuple[str, dict[str, object]]:
    """Bus tables' size per million events (1 and 5 subscriptions) and retention, delete vs drop;
    draws storage.png."""
    from bench.plots import plot_storage
    from bench.storage import BUS_TABLES, GROWING, log_size, retention

    sizes = [log_size(args.database_url, next(dbs), args.size_events, subs) for subs in (1, 5)]
    rows = [f"Measured after {args.size_events:,} events published 500 per transaction and handled (no vacuum "
            "in between), extrapolated linearly to 1,000,000 (MB = 10^6 bytes; heap + indexes + TOAST). "
            "The inbox (no handler here uses it), subscriptions and routes tables "
            "hold a row per inboxed delivery, subscription or event type: their size as measured.", "",
            "| MB per million events | " + " | ".join(f"{s.subs} sub(s)" for s in sizes) + " |",
            "|---|" + "---:|" * len(sizes)]
    for table in GROWING:
        rows.append(f"| {table} | " + " | ".join(f"{s.per_million(table):,.1f}" for s in sizes) + " |")
    rows.append("| **growing tables** | " + " | ".join(f"**{s.log_per_million:,.0f}**" for s in sizes) + " |")
    for table in BUS_TABLES:
        if table not in GROWING:
            rows.append(f"| {table} (as measured, MB) | "
                        + " | ".join(f"{s.bytes_by_table[table] / 1e6:,.2f}" for s in sizes) + " |")
    rows.append("| WAL written while publishing and handling, bytes per event (server-wide) | "
                + " | ".join(f"{s.wal_bytes / s.events:,.0f}" for s in sizes) + " |")
    rows.append("| publish-and-handle seconds | " + " | ".join(f"{s.seconds:,.1f}" for s in sizes) + " |")
    plot_storage(sizes, args.out)
    kept = retention(args.database_url, next(dbs), args.retention_rows)
    rows += ["", f"Retention of {kept.rows:,} expired events, each with one finished delivery:", "",
             "| how | seconds | WAL MB |", "|---|---:|---:|",
             f"| bus cleanup (DELETE in batches of 5,000) | {kept.delete_seconds:,.2f} "
             f"| {kept.delete_wal_bytes / 1e6:,.1f} |",
             f"| DROP TABLE of the day's two partitions | {kept.drop_seconds:,.3f} "
             f"| {kept.drop_wal_bytes / 1e6:,.3f} |"]
    return "\n".join(rows), {"sizes": [asdict(s) for s in sizes], "retention": asdict(kept)}


def header(args: argparse.Namespace) -> str:
    """When, where and on which commit: the facts docs/benchmarks.md asks of every figure."""
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--", "broker"], capture_output=True, text=True,
                           cwd=ROOT).stdout.strip()
    load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    return (f"Commit {commit}{' (broker/ modified)' if dirty else ''}, {when}, "
            f"nproc {os.cpu_count()}, load average {load} at the start; {args.events:,} events per throughput run, "
            f"latency at {args.rate:.0f} events/s for {args.latency_seconds:g} s; throughput runs per point "
            f"{args.runs} ({args.big_runs} at ≥ 500,000 backlog), latency runs {args.latency_runs}.")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Options; `--quick` shrinks every sweep for a smoke test."""
    ints = lambda s: [int(x) for x in s.split(",") if x.strip()]  # noqa: E731
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BUILDIFY_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "benchmarks", help="tables, plots, JSON")
    parser.add_argument("--only", default=",".join(SWEEPS), help=f"comma-separated sweeps of {', '.join(SWEEPS)}")
    parser.add_argument("--runs", type=int, default=2, help="runs per point (medians are reported)")
    parser.add_argument("--big-runs", type=int, default=1, help="runs per point with a backlog of 500,000 or more")
    parser.add_argument("--events", type=int, default=5_000, help="events per throughput run")
    parser.add_argument("--rate", type=float, default=200.0, help="events/s of the latency runs")
    parser.add_argument("--latency-seconds", type=float, default=4.0)
    parser.add_argument("--latency-runs", type=int, default=1, help="paced runs per point (at most --runs)")
    parser.add_argument("--backlog", type=ints, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--subs", type=ints, default=[1, 10, 50, 100, 200])
    parser.add_argument("--matching", type=ints, default=[1, 2, 4, 8, 16])
    parser.add_argument("--procs", type=ints, default=[1, 2, 3, 4])
    parser.add_argument("--size-events", type=int, default=50_000, help="events published before measuring size")
    parser.add_argument("--retention-rows", type=int, default=1_000_000, help="expired events to remove")
    parser.add_argument("--quick", action="store_true", help="smoke test: small points, 1 run, out to a temp dir")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs = args.big_runs = 1
        args.events, args.latency_seconds, args.size_events, args.retention_rows = 1_000, 1.0, 2_000, 10_000
        args.backlog, args.subs, args.matching, args.procs = [1_000, 10_000], [1, 20], [1, 4], [1, 2]
        if args.out == ROOT / "docs" / "benchmarks":
            args.out = Path(f"/tmp/curves-quick-{os.getpid()}")
    args.only = [s for s in args.only.split(",") if s]
    return args


def main(argv: list[str] | None = None) -> int:
    """Run the chosen sweeps, print and write their tables, draw the plots."""
    from bench.plots import plot_sweeps

    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    dbs = names()
    sections = [f"# Scale curves\n\n{header(args)}\n"]
    print(sections[0], flush=True)
    curves: dict[str, list[Point]] = {}
    titles = {"backlog": "Backlog (retry-delayed deliveries in front, 1 subscription)",
              "subs": "Active subscriptions (5 of them matching)", "matching": "Matching subscriptions",
              "procs": "Worker processes (4 matching subscriptions)"}
    for sweep, points in shapes(args).items():
        if sweep not in args.only:
            continue
        curves[sweep] = []
        for x, label, shape in points:
            curves[sweep].append(measure(sweep, x, label, shape, args, dbs))
            print(f"{sweep} {label}: done ({time.strftime('%H:%M:%S')})", file=sys.stderr, flush=True)
        section = f"## {titles[sweep]}\n\n{curve_table(curves[sweep])}\n"
        sections.append(section)
        print(section, flush=True)
    data: dict[str, object] = {"header": header(args), "curves": {k: [asdict(p) for p in v] for k, v in curves.items()}}
    if "storage" in args.only:
        text, data["storage"] = storage_tables(args, dbs)
        sections.append(f"## Storage\n\n{text}\n")
        print(sections[-1], flush=True)
    sections.append(f"Finished {time.strftime('%H:%M UTC', time.gmtime())}, load average "
                    + " / ".join(f"{v:.2f}" for v in os.getloadavg()) + ".\n")
    (args.out / "curves.md").write_text("\n".join(sections))
    (args.out / "curves.json").write_text(json.dumps(data, indent=1))
    for png in plot_sweeps(curves, args.out):
        print(f"wrote {png}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
