"""Turns a unique-constraint violation into a 409 naming the field (the race after a pre-check)."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from services.core.app.errors import Conflict


@asynccontextmanager
async def unique_as_conflict(field: str, value: object) -> AsyncIterator[None]:
    try:
        yield
    except asyncpg.UniqueViolationError as exc:
        raise Conflict(f"`{field}` {value!r} is already taken.", field=field) from exc
