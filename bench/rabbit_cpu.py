"""CPU time per event of the whole RabbitMQ pipeline in one process, for A/B runs on a busy machine.

A benchmark, not a test. It publishes `--events` events into the outbox of a fresh database (not
measured), then starts a bus on the RabbitMQ transport and measures, until the handler has seen
them all, the process's CPU time (relay, forwarder with publisher confirms, consumer, handler,
acknowledgements), the wall time, and the CPU the local RabbitMQ server (beam.smp) spent
meanwhile. CPU per event moves much less than throughput when other work shares the cores;
run the two sides of an A/B back to back (PYTHONPATH=<checkout>).

    python bench/rabbit_cpu.py --amqp-url amqp://guest:guest@127.0.0.1:5672/ --events 5000
"""

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path
from uuid import uuid4

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
# As in bench/bus.py: bench/http.py would shadow the standard library; the checkout under test
# may come first on PYTHONPATH (an A/B against another checkout), this one last.
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

from bench.costs import process_cpu  # noqa: E402 - after the path is set
from broker import BusSettings, EventBus, Router  # noqa: E402
from broker.rabbit import delete_topology  # noqa: E402
from contracts.envelope import Event  # noqa: E402


class Tick(Event, frozen=True, kw_only=True, tag="bench.tick.sent"):
    n: int


async def measure(admin_url: str, amqp_url: str, events: int) -> str:
    admin = await asyncpg.connect(admin_url)
    name = f"bench_cpu_{uuid4().hex[:8]}"
    await admin.execute(f"CREATE DATABASE {name}")
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    seen = [0]
    done = asyncio.Event()
    router = Router()

    @router.on("bench.tick.sent")
    async def count(event: Tick) -> None:
        seen[0] += 1
        if seen[0] >= events:
            done.set()

    settings = BusSettings(transport="rabbitmq", amqp_url=amqp_url, amqp_prefix=name, worker_batch=250, workers=4,
                           relay_batch=500)
    try:
        bus = EventBus(service="bench", dsn=url, settings=settings)
        bus.include_router(router)
        await bus.open()  # the subscription exists; nothing runs yet
        async with bus.pool.acquire() as conn:
            for start in range(0, events, 100):
                async with conn.transaction():
                    await bus.publish_many(conn, [Tick(n=n) for n in range(start, min(start + 100, events))])
        await bus.close()
        bus = EventBus(service="bench", dsn=url, settings=settings)
        bus.include_router(router)
        cpu, wall, beam = time.process_time(), time.monotonic(), rabbitmq_cpu()
        await bus.start()
        await done.wait()
        cpu, wall, beam = time.process_time() - cpu, time.monotonic() - wall, rabbitmq_cpu() - beam
        await bus.close()
        await delete_topology(amqp_url, name, ["bench.count"])
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()
    per_event, rate, load = cpu / events * 1e6, events / wall, os.getloadavg()[0]
    broker = f"{beam / events * 1e6:,.0f} µs" if beam == beam else "unknown (no beam.smp in /proc)"
    return (f"{events} events: {per_event:,.0f} µs CPU/event, RabbitMQ (beam.smp) {broker} CPU/event, "
            f"{rate:,.0f} events/s wall, load {load:.1f}")


def rabbitmq_cpu() -> float:
    """CPU seconds the local RabbitMQ server (beam.smp) has used so far; NaN when none is found
    (another host, or /proc not readable): at this rate the broker's own CPU is a large share."""
    return process_cpu("beam.smp")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("BUILDIFY_BENCH_DATABASE_URL",
                                                                 "postgresql://postgres@127.0.0.1:5432/postgres"))
    parser.add_argument("--amqp-url", default=os.environ.get("BUILDIFY_BENCH_AMQP_URL",
                                                             "amqp://guest:guest@127.0.0.1:5672/"))
    parser.add_argument("--events", type=int, default=5000)
    args = parser.parse_args()
    print(asyncio.run(measure(args.database_url, args.amqp_url, args.events)))


if __name__ == "__main__":
    main()
