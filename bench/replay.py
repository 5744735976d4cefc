"""Benchmark of `buildify-events replay`: events per second into the delivery tables.

A benchmark, not a test. It makes a fresh database (`bench_replay_<pid>`, dropped afterwards)
on the server of `--database-url`, logs `--events` events (default 100,000) of types that one
subscription matches among others, then replays them all into that one subscription with
`broker.ops.replay` — the code path of the CLI — `--runs` times in each of two cases:

- `insert`: the subscription has no delivery of these events yet (a subscription added
  after the fact, catching up on history);
- `reset`: every delivery exists as `done` and is reset to pending (replaying a day after a
  bug fix), the `ON CONFLICT DO UPDATE` path.

It prints a markdown table with the median, minimum and maximum events/s of each case.

    python bench/replay.py
    python bench/replay.py --events 100000 --runs 5 --batch-size 5000
"""

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

from broker import ops, schema  # noqa: E402
from broker.patterns import to_regex  # noqa: E402
from tests.databases import create_database, drop_database  # noqa: E402

SEED_EVENTS = """
INSERT INTO events (id, event_type, source, tenant_id, company_id, occurred_at, recorded_at, payload, expires_at)
SELECT gen_random_uuid(),
       (ARRAY['financial.invoice.created', 'financial.payment.received', 'core.company.created'])[1 + i % 3],
       'bench', t.tenant, NULL,
       now() - interval '1 day' + i * interval '1 ms', now() - interval '1 day' + i * interval '1 ms',
       jsonb_build_object('invoice_id', gen_random_uuid(), 'number', 'INV-' || i, 'total', '100.00',
                          'currency', 'EUR'),
       now() + interval '7 days'
FROM generate_series(1, $1) AS i,
     LATERAL (SELECT (ARRAY[$2::uuid, $3::uuid])[1 + i % 2] AS tenant) t
"""


async def prepare(url: str, events: int) -> None:
    conn = await asyncpg.connect(url)
    try:
        await schema.install(conn)
        # Three types, two tenants; the target subscription (`#`) takes every event, so the
        # selection and the delivery count are both `events`. Another subscription exists so
        # the pattern join has something to reject.
        await conn.execute(SEED_EVENTS, events, uuid.uuid4(), uuid.uuid4())
        for name, pattern in [("bench.replay_target", "#"), ("bench.other", "financial.#")]:
            await conn.execute(
                "INSERT INTO event_subscriptions (name, module_name, event_pattern, pattern_regex) "
                "VALUES ($1, 'bench', $2, $3)", name, pattern, to_regex(pattern),
            )
        await conn.execute("VACUUM ANALYZE events")
    finally:
        await conn.close()


async def one_run(url: str, case: str, batch_size: int) -> tuple[float, int]:
    conn = await asyncpg.connect(url)
    try:
        target = await conn.fetchval("SELECT id FROM event_subscriptions WHERE name = 'bench.replay_target'")
        if case == "insert":
            await conn.execute("DELETE FROM event_deliveries WHERE subscription_id = $1", target)
        else:
            await conn.execute(
                "UPDATE event_deliveries SET status = 'done', finished_at = now() WHERE subscription_id = $1",
                target,
            )
        await conn.execute("TRUNCATE event_replay_runs, event_ops_audit")
        await conn.execute("VACUUM ANALYZE event_deliveries")
        started = time.perf_counter()
        result = await ops.replay(conn, ops.EventFilter(), subscription="bench.replay_target", actor="bench",
                                  batch_size=batch_size)
        seconds = time.perf_counter() - started
        return result.deliveries / seconds, result.deliveries
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get(
        "BUILDIFY_BENCH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=5000)
    args = parser.parse_args()

    name = f"bench_replay_{os.getpid()}"
    url = await create_database(args.database_url, name)
    try:
        seed_started = time.perf_counter()
        await prepare(url, args.events)
        print(f"seeded {args.events:,} events in {time.perf_counter() - seed_started:.1f}s", file=sys.stderr)
        results: dict[str, list[float]] = {"insert": [], "reset": []}
        for run in range(args.runs):
            for case in ("insert", "reset"):
                rate, count = await one_run(url, case, args.batch_size)
                assert count == args.events, f"{case}: replayed {count}, expected {args.events}"
                results[case].append(rate)
                print(f"run {run + 1} {case}: {rate:,.0f} events/s", file=sys.stderr)
        print(f"\n{args.events:,} events into one subscription, batches of {args.batch_size:,}, "
              f"{args.runs} runs:\n")
        print("| case | median events/s | min | max |")
        print("|---|---:|---:|---:|")
        for case, rates in results.items():
            print(f"| {case} | {statistics.median(rates):,.0f} | {min(rates):,.0f} | {max(rates):,.0f} |")
    finally:
        await drop_database(args.database_url, name)


if __name__ == "__main__":
    asyncio.run(main())
