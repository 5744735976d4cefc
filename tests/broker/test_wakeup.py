"""Wake-ups: a source reaches every Wakeup it handed out; a Wakeup wakes one waiting loop per set()."""

import asyncio
import itertools

import pytest

from broker.backoff import run_forever
from broker.wakeup import Wakeup, Wakeups
from tests.waiting import wait_until


async def test_a_wakeup_wakes_exactly_one_waiting_loop():
    wakeup = Wakeup()
    woken: list[int] = []

    async def loop(n: int) -> None:
        if await wakeup.wait(1.0):
            woken.append(n)

    tasks = [asyncio.create_task(loop(n)) for n in range(3)]
    await wait_until(lambda: wakeup.waiting == 3, what="three loops waiting")
    wakeup.set()
    await asyncio.gather(*tasks)
    assert len(woken) == 1  # the other two timed out


async def test_a_wakeup_while_nobody_waits_is_kept_for_the_next_wait():
    wakeup = Wakeup()
    wakeup.set()
    wakeup.set()  # remembered once, not counted
    assert await wakeup.wait(0.01) is True
    assert await wakeup.wait(0.01) is False


async def test_a_source_wakes_each_wakeup_it_handed_out():
    source = Wakeups()
    relay, workers = source.wakeup(), source.wakeup()
    source.set()
    assert await relay.wait(0.01) is True
    assert await workers.wait(0.01) is True


async def test_a_failing_step_is_retried_with_growing_delays_until_it_works_and_cancel_stops_it():
    outcomes = iter([ConnectionError("down"), ConnectionError("down"), None])
    ran: list[float] = []
    settled = asyncio.Event()

    async def step() -> None:
        ran.append(asyncio.get_running_loop().time())
        if len(ran) > 3:
            settled.set()
            await asyncio.Event().wait()  # a healthy loop waits for work
        outcome = next(outcomes)
        if outcome is not None:
            raise outcome

    task = asyncio.create_task(run_forever(step, what="test step"))
    await asyncio.wait_for(settled.wait(), 5)
    gaps = [b - a for a, b in itertools.pairwise(ran)]
    assert 0.09 <= gaps[0] < gaps[1]  # 0.1 s, then 0.2 s
    assert gaps[2] < 0.05  # a step that returned: the next one runs at once
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
