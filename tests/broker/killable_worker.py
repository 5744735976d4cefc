"""A worker process for the crash test: its handler hangs on the first attempt until killed."""

import asyncio
import sys

from broker import BusSettings, Delivery, EventBus, Router
from tests.broker.events import Pinged

router = Router()


@router.on("test.ping.sent")
async def book_ping(event: Pinged, ctx: Delivery) -> None:
    async with ctx.transaction() as conn:  # shows the handler started; commits at once
        await conn.execute("INSERT INTO started (attempt) VALUES ($1)", ctx.attempt)
    await asyncio.Event().wait()  # hangs until the process is killed


async def main(dsn: str, lease: float) -> None:
    bus = EventBus(service="chaos", dsn=dsn, settings=BusSettings(lease=lease, poll_interval=0.1, workers=1))
    bus.include_router(router)
    await bus.start()
    print("ready", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], float(sys.argv[2])))
