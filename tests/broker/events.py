"""Events used only by the bus tests, and the router that records them."""

from uuid import UUID

import asyncpg
import pytest

from broker import EventBus, Router
from contracts.envelope import Event


class Pinged(Event, frozen=True, kw_only=True, tag="test.ping.sent"):
    n: int


class Ponged(Event, frozen=True, kw_only=True, tag="test.pong.sent"):
    n: int


class OrderLine(Event, frozen=True, kw_only=True, tag="test.order.line_added"):
    order_id: UUID
    n: int


def recording_router(seen: list[int]) -> Router:
    """A router with one subscriber, `record`, that appends each Pinged's n to `seen`."""
    router = Router()

    @router.on("test.ping.sent")
    async def record(event: Pinged) -> None:
        seen.append(event.n)

    return router


async def publish_one_rolled_back_one_committed(bus: EventBus, conn: asyncpg.Connection) -> UUID:
    """Pinged(n=1) in a transaction that fails, then Pinged(n=2) in one that commits: the committed event's id."""
    with pytest.raises(RuntimeError):
        async with conn.transaction():
            await bus.publish(conn, Pinged(n=1))
            raise RuntimeError("the domain write failed")
    async with conn.transaction():
        return await bus.publish(conn, Pinged(n=2))
