"""The publishing process alone: events/s and CPU per `bus.publish`, one event at a time.

`compare.py`'s one-event-per-transaction rows are bound by the publishing process (its
publish-only rate equals its events/s), so this measures that process without a consumer:
`--tasks` tasks, each on its own connection, publish `--events` events in total, one per
transaction (`async with conn.transaction()`: BEGIN, INSERT, COMMIT), one per statement
(`--mode autocommit`, as pgbench's script) or one per `publish(None, ...)` (`--mode own`: the
bus takes a pooled connection). It prints events/s and the process's CPU µs per event (user +
system, `time.process_time`), the steadier figure on a shared machine. A fresh database per
invocation, dropped afterwards.

    python bench/publish_cpu.py --mode tx --events 20000 --repeat 3
    python bench/publish_cpu.py --mode autocommit --profile /tmp/pub.prof   # cProfile one repeat
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import os
import statistics
import sys
import time
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

from broker.bus import EventBus  # noqa: E402
from broker.settings import BusSettings  # noqa: E402
from contracts.envelope import Event  # noqa: E402
from tests.databases import create_database, drop_database  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


class Tick(Event, frozen=True, kw_only=True, tag="bench.tick.sent"):
    """The benchmark's event (the same shape as bench/bus.py's)."""

    n: int
    sent_at: float


async def one_pass(bus: EventBus, conns: list[asyncpg.Connection], events: int, mode: str) -> tuple[float, float]:
    """Publish `events` from one task per connection; (seconds, CPU seconds)."""
    per_task = events // len(conns)

    async def publish(task: int, conn: asyncpg.Connection) -> None:
        base = task * per_task
        for k in range(per_task):
            event = Tick(n=base + k, sent_at=time.time())
            if mode == "tx":
                async with conn.transaction():
                    await bus.publish(conn, event)
            elif mode == "autocommit":
                await bus.publish(conn, event)
            else:
                await bus.publish(None, event)

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(publish(t, c) for t, c in enumerate(conns)))
    return time.perf_counter() - wall, time.process_time() - cpu


async def main_async(args: argparse.Namespace) -> None:
    db = f"bench_pubcpu_{os.getpid()}"
    url = await create_database(args.database_url, db)
    try:
        settings = BusSettings(relay=False, workers=0, listen=False, pool_size=args.tasks)
        async with EventBus(service="bench", dsn=url, settings=settings) as bus:
            conns = [await asyncpg.connect(url) for _ in range(args.tasks)]
            await one_pass(bus, conns, min(2_000, args.events), args.mode)  # warm: statements prepared
            rates, cpus = [], []
            for _ in range(args.repeat):
                profiler = cProfile.Profile() if args.profile else None
                if profiler:
                    profiler.enable()
                seconds, cpu = await one_pass(bus, conns, args.events, args.mode)
                if profiler:
                    profiler.disable()
                    profiler.dump_stats(args.profile)
                    args.profile = None
                rates.append(args.events / seconds)
                cpus.append(cpu / args.events * 1e6)
            for conn in conns:
                await conn.close()
    finally:
        await drop_database(args.database_url, db)
    print(
        f"mode={args.mode} tasks={args.tasks} events={args.events}: "
        f"events/s {', '.join(f'{r:,.0f}' for r in rates)} (median {statistics.median(rates):,.0f}); "
        f"CPU µs/event {', '.join(f'{c:.1f}' for c in cpus)} (median {statistics.median(cpus):.1f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BUILDIFY_BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--mode", choices=("tx", "autocommit", "own"), default="tx")
    parser.add_argument("--tasks", type=int, default=4)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--uvloop", action="store_true")
    parser.add_argument("--profile", help="write a cProfile of the first repeat to this file")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    if args.uvloop:
        import uvloop

        uvloop.run(main_async(args))
    else:
        asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
