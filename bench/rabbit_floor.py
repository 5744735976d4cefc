"""The floor under the RabbitMQ transport: what aiormq alone and the broker cost per message here.

A benchmark, not a test, and no Buildify code: one process publishes `--messages` persistent
messages with publisher confirms (`--window` in flight) to a fresh queue of `--queue-type`
(quorum, as the transport declares, or classic) and consumes them on a second channel
(prefetch 250, acknowledging every 50th with `multiple=True`). It prints messages/s, the
process's CPU per message and the local RabbitMQ server's (beam.smp, bench/rabbit_cpu.py), and
with `--window 1` (one message at a time, 5 ms apart) publish-to-delivery latency percentiles.
Nothing the transport does per event can cost less than this.

    python bench/rabbit_floor.py --messages 20000 --window 250 --queue-type quorum
    python bench/rabbit_floor.py --messages 1000 --window 1 --queue-type classic
"""

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

import aiormq
from aiormq.abc import DeliveredMessage

ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if p and Path(p).resolve() != ROOT / "bench"]  # as bench/bus.py
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

from bench.rabbit_cpu import rabbitmq_cpu  # noqa: E402 - after the path is set

ACK_EVERY = 50


async def measure(url: str, messages: int, window: int, queue_type: str) -> str:
    connection = await aiormq.connect(url)
    publishing = await connection.channel(publisher_confirms=True)
    consuming = await connection.channel()
    queue = f"bench.floor.{queue_type}.{os.getpid()}"
    await publishing.queue_declare(queue, durable=True, arguments={"x-queue-type": queue_type})
    await consuming.basic_qos(prefetch_count=250)
    got, latencies, done = 0, [], asyncio.Event()

    async def on_message(message: DeliveredMessage) -> None:
        nonlocal got
        got += 1
        tag = message.delivery_tag  # Basic.Deliver's
        if (got % ACK_EVERY == 0 or got == messages) and tag is not None:
            await consuming.basic_ack(tag, multiple=True)
        if window == 1:
            latencies.append(time.perf_counter() - float(message.body))
        if got == messages:
            done.set()

    await consuming.basic_consume(queue, on_message)
    properties = aiormq.spec.Basic.Properties(delivery_mode=2, content_type="application/json")
    slots = asyncio.Semaphore(window)

    async def publish() -> None:
        async with slots:
            await publishing.basic_publish(str(time.perf_counter()).encode(), routing_key=queue,
                                           properties=properties)

    cpu, wall, broker = time.process_time(), time.perf_counter(), rabbitmq_cpu()
    if window == 1:
        for _ in range(messages):
            await publish()
            await asyncio.sleep(0.005)
    else:
        await asyncio.gather(*(publish() for _ in range(messages)))
    await done.wait()
    cpu, wall, broker = time.process_time() - cpu, time.perf_counter() - wall, rabbitmq_cpu() - broker
    await publishing.queue_delete(queue)
    await connection.close()
    line = (f"{queue_type}, {messages} messages, {window} in flight: {messages / wall:,.0f} msg/s, "
            f"python {cpu / messages * 1e6:,.0f} µs/msg, beam.smp {broker / messages * 1e6:,.0f} µs/msg, "
            f"load {os.getloadavg()[0]:.1f}")
    if latencies:
        latencies.sort()
        p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]
        line += f"; publish-to-delivery p50 {p50 * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms"
    return line


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--amqp-url", default=os.environ.get("BUILDIFY_BENCH_AMQP_URL",
                                                             "amqp://guest:guest@127.0.0.1:5672/"))
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--window", type=int, default=250, help="publishes in flight (1: latency run)")
    parser.add_argument("--queue-type", default="quorum", choices=("quorum", "classic"))
    args = parser.parse_args()
    print(asyncio.run(measure(args.amqp_url, args.messages, args.window, args.queue_type)))


if __name__ == "__main__":
    main()
