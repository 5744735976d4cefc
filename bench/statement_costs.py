"""Server time and WAL per event of each statement on the bus's batched path, no Python between.

A benchmark, not a test. In a fresh database with one subscription it runs, per cycle, the
publisher's outbox insert (5 x 100 events), the relay statement with the hand-off (500 events,
all handed over) and the completion of those 500 deliveries, each under `EXPLAIN (ANALYZE, WAL)`,
and prints the median over the cycles of each statement's execution time and WAL bytes per
event. This is the Postgres side of `bench/compare.py`'s per-event costs, statement by statement;
`--plan` prints the relay statement's last plan with per-node times (timing on: slower) and its
triggers, to see which insert or check the time goes to.

    python bench/statement_costs.py --cycles 12
    python bench/statement_costs.py --cycles 4 --plan
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

from bench.bus import DEFAULT_URL, create_database  # noqa: E402
from broker.postgres import RELAY_LOCK_KEY  # noqa: E402
from broker.queries import query  # noqa: E402
from tests.databases import drop_database  # noqa: E402

BATCH, INSERTS = 100, 5  # the publisher's transactions per cycle; the relay moves all of them at once
EVENTS = BATCH * INSERTS


async def explain(conn: asyncpg.Connection, sql: str, *args: Any, timing: bool = False) -> dict[str, Any]:
    """Run `sql` under EXPLAIN ANALYZE; its plan as JSON (execution time, WAL bytes, triggers)."""
    options = f"ANALYZE, WAL, TIMING {'ON' if timing else 'OFF'}, FORMAT JSON"
    rows = await conn.fetch(f"EXPLAIN ({options}) {sql}", *args)
    plan: dict[str, Any] = json.loads(rows[0][0])[0]
    return plan


def per_event(plan: dict[str, Any]) -> tuple[float, float]:
    """(µs, WAL bytes) per event of one statement that handled EVENTS events."""
    return plan["Execution Time"] * 1000 / EVENTS, plan["Plan"].get("WAL Bytes", 0) / EVENTS


def show(node: dict[str, Any], depth: int = 0) -> None:
    """Print a plan node and its children: type, relation, time and WAL."""
    name = node.get("Relation Name") or node.get("Subplan Name") or node.get("CTE Name") or ""
    print(f"{'  ' * depth}{node['Node Type']} {name}: {node.get('Actual Total Time', 0):.2f} ms, "
          f"{node.get('Actual Rows')} rows, WAL {node.get('WAL Bytes', 0):,} B")
    for child in node.get("Plans", []):
        show(child, depth + 1)


async def cycle(conn: asyncpg.Connection, subscription_id: int, *, timing: bool) -> dict[str, Any]:
    """One publish → relay → complete cycle; each statement's plan."""
    now, plans = datetime.now(UTC), {}
    inserted = []
    for _ in range(INSERTS):
        ids = [uuid.uuid4() for _ in range(BATCH)]
        n = len(ids)
        inserted.append(await explain(conn, query("insert_many"), ids, ["bench.tick.sent"] * n, ["bench"] * n,
                                      [None] * n, [None] * n, [None] * n, [now] * n, ids, [None] * n, [1] * n,
                                      ['{"n": 1, "sent_at": 0}'] * n))
    plans["outbox insert (5 x 100)"] = {
        "Execution Time": sum(p["Execution Time"] for p in inserted),
        "Plan": {"WAL Bytes": sum(p["Plan"].get("WAL Bytes", 0) for p in inserted)},
    }
    plans["relay, hand-off (500)"] = await explain(
        conn, query("relay_local"), EVENTS, 604800.0, RELAY_LOCK_KEY, [subscription_id], EVENTS, 30.0, "w",
        timing=timing)
    rows = await conn.fetch("SELECT id, attempts FROM event_deliveries WHERE status = 'pending' AND locked_by = 'w'")
    if len(rows) != EVENTS:
        raise RuntimeError(f"the relay handed over {len(rows)} deliveries, not {EVENTS}")
    plans["completion (500)"] = await explain(conn, query("complete_deliveries"), [r[0] for r in rows],
                                              [r[1] for r in rows], "w")
    return plans


PerEvent = dict[str, list[tuple[float, float]]]  # statement -> (µs, WAL bytes) per event, per cycle


async def measure(admin_url: str, cycles: int, timed_plan: bool) -> tuple[PerEvent, dict[str, Any]]:
    """Each statement's (µs, WAL bytes) per event over the cycles after the first two (they warm
    caches and plans), and the last cycle's plans."""
    db = f"bench_statements_{os.getpid()}"
    url = await create_database(admin_url, db)
    results: PerEvent = {}
    last: dict[str, Any] = {}
    try:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("SET synchronous_commit = off")  # as the bus's work pool
            subscription_id = await conn.fetchval(
                "INSERT INTO event_subscriptions (name, module_name, event_pattern, pattern_regex) "
                "VALUES ('bench.tick', 'bench', 'bench.tick.sent', '^\\.bench\\.tick\\.sent$') RETURNING id")
            for i in range(cycles):
                last = await cycle(conn, subscription_id, timing=timed_plan and i == cycles - 1)
                if i >= 2 or cycles <= 2:
                    for name, plan in last.items():
                        results.setdefault(name, []).append(per_event(plan))
        finally:
            await conn.close()
    finally:
        await drop_database(admin_url, db)
    return results, last


def report(results: PerEvent, last: dict[str, Any], cycles: int, show_plan: bool) -> None:
    """The markdown table of medians, and the relay's plan when asked."""
    print(f"# statement costs per event, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {cycles} cycles of {EVENTS} events, "
          f"medians; load average {' '.join(Path('/proc/loadavg').read_text().split()[:3])}\n")
    print("| statement | server µs / event | WAL bytes / event |\n|---|---:|---:|")
    for name, values in results.items():
        print(f"| {name} | {statistics.median(v[0] for v in values):.1f} | "
              f"{statistics.median(v[1] for v in values):,.0f} |")
    if show_plan:
        relay = last["relay, hand-off (500)"]
        print("\nThe relay statement, last cycle, timing on:")
        show(relay["Plan"])
        for trigger in relay.get("Triggers", []):
            print(f"trigger {trigger['Trigger Name']}: {trigger['Time']:.2f} ms, {trigger['Calls']} calls")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BUILDIFY_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--cycles", type=int, default=12)
    parser.add_argument("--plan", action="store_true", help="print the relay statement's plan with per-node times")
    args = parser.parse_args()
    results, last = asyncio.run(measure(args.database_url, args.cycles, args.plan))
    report(results, last, args.cycles, args.plan)


if __name__ == "__main__":
    main()
