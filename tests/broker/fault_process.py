"""One service instance for the fault suite (tests/broker/test_faults.py), run as its own process.

    python -m tests.broker.fault_process DSN ROLE VERSION [LEASE]

ROLE is `relay` (relay only), `worker` (workers only) or `both`. VERSION 1 subscribes
`count_effect`; version 2 adds `audit_effect` (the handler a rolling deploy introduces). Each
handler records its effect in `fault_effects` inside `ctx.transaction()`, so the inbox makes a
redelivered event a no-op: a duplicate row there is a duplicated effect. Prints `ready` once
started; SIGTERM stops it cleanly (a rolling deploy), SIGKILL is the crash.
"""

import asyncio
import signal
import sys

from broker import BusSettings, Delivery, EventBus, Router
from tests.broker.events import Pinged

EFFECTS_TABLE = """
CREATE TABLE IF NOT EXISTS fault_effects (
    handler  text NOT NULL,
    event_id uuid NOT NULL,
    n        int  NOT NULL
)
"""
SERVICE = "faults"


async def record_effect(handler: str, event: Pinged, ctx: Delivery) -> None:
    async with ctx.transaction() as conn:
        await conn.execute("INSERT INTO fault_effects (handler, event_id, n) VALUES ($1, $2, $3)",
                           handler, ctx.event_id, event.n)


def router_for(version: int) -> Router:
    router = Router()

    @router.on("test.ping.sent")
    async def count_effect(event: Pinged, ctx: Delivery) -> None:
        await record_effect("count_effect", event, ctx)

    if version >= 2:

        @router.on("test.ping.sent")
        async def audit_effect(event: Pinged, ctx: Delivery) -> None:
            await record_effect("audit_effect", event, ctx)

    return router


def settings_for(role: str, lease: float) -> BusSettings:
    return BusSettings(
        poll_interval=0.2, lease=lease, cleanup_interval=0, relay=role in ("relay", "both"),
        workers=2 if role in ("worker", "both") else 0, pool_size=6,
    )


async def main(dsn: str, role: str, version: int, lease: float) -> None:
    bus = EventBus(service=SERVICE, dsn=dsn, settings=settings_for(role, lease))
    if role != "relay":
        bus.include_router(router_for(version))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await bus.start()
    print("ready", flush=True)
    await stop.wait()
    await bus.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]) if len(sys.argv) > 4 else 2.0))
