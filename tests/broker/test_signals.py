"""Wake-ups: a broadcast reaches every subscriber; a doorbell wakes one worker loop per ring."""

import asyncio

from broker.signals import Broadcast, Doorbell
from tests.waiting import wait_until


async def test_a_ring_wakes_exactly_one_waiting_loop():
    bell = Doorbell()
    woken: list[int] = []

    async def loop(n: int) -> None:
        if await bell.wait(1.0):
            woken.append(n)

    tasks = [asyncio.create_task(loop(n)) for n in range(3)]
    await wait_until(lambda: bell.waiting == 3, what="three loops waiting")
    bell.set()
    await asyncio.gather(*tasks)
    assert len(woken) == 1  # the other two timed out


async def test_a_ring_while_nobody_waits_is_kept_for_the_next_wait():
    bell = Doorbell()
    bell.set()
    bell.set()  # remembered once, not counted
    assert await bell.wait(0.01) is True
    assert await bell.wait(0.01) is False


async def test_a_broadcast_rings_each_subscriber_once():
    broadcast = Broadcast()
    event, bell = broadcast.subscribe(), broadcast.doorbell()
    broadcast.set()
    assert event.is_set()
    assert await bell.wait(0.01) is True
