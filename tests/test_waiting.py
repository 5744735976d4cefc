"""The suite's one wait: it returns what the condition found, and a wait that runs out says what for."""

import pytest

from tests.waiting import wait_until, wait_until_sync


async def test_async_wait_returns_the_first_truthy_value_of_a_sync_or_async_condition() -> None:
    seen = iter([0, None, "found"])

    async def later() -> str:
        return "async found"

    assert await wait_until(lambda: next(seen)) == "found"
    assert await wait_until(later) == "async found"


def test_sync_wait_returns_the_first_truthy_value() -> None:
    seen = iter([[], [], [3]])
    assert wait_until_sync(lambda: next(seen)) == [3]


async def test_a_wait_that_runs_out_names_its_condition_and_last_value() -> None:
    with pytest.raises(AssertionError, match=r"the invoice paid not met within 0 s \(last value: 0\)"):
        await wait_until(lambda: 0, timeout=0, what="the invoice paid")
    with pytest.raises(AssertionError, match=r"condition not met within 0 s \(last value: ''\)"):
        wait_until_sync(lambda: "", timeout=0)
