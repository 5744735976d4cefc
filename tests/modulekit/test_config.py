"""`config_for_event`: what an event handler does with a company's configuration it cannot have."""

from collections.abc import Awaitable, Callable
from uuid import UUID, uuid4

import pytest

from broker import Retry
from modulekit.config import config_for_event
from modulekit.errors import DependencyUnavailable, ModuleDisabled, NotFound


def answering(outcome: str | Exception) -> Callable[[UUID], Awaitable[str]]:
    """A `get` like `ConfigClient.get` that answers `outcome` (or raises it)."""

    async def get(company_id: UUID) -> str:
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return get


async def test_a_company_with_the_module_gets_its_configuration() -> None:
    assert await config_for_event(answering("EUR"), uuid4()) == "EUR"


@pytest.mark.parametrize("refusal", [ModuleDisabled("off for it"), NotFound("core knows no such company")])
async def test_nothing_to_do_for_a_company_without_the_module(refusal: Exception) -> None:
    assert await config_for_event(answering(refusal), uuid4()) is None


async def test_core_away_retries_the_event_instead_of_dropping_it() -> None:
    with pytest.raises(Retry, match="core did not answer"):
        await config_for_event(answering(DependencyUnavailable("core did not answer")), uuid4())
