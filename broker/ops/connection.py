"""One way for operations to reach the bus database, with driver failures turned into ours."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, cast

import asyncpg
import msgspec

from broker.errors import BusUnavailable
from broker.ops.errors import SchemaMissing

Db = asyncpg.Pool | asyncpg.Connection


@asynccontextmanager
async def connection(db: Db) -> AsyncIterator[asyncpg.Connection]:
    """A connection from a pool, or the connection itself; driver failures become ours."""
    try:
        if isinstance(db, asyncpg.Pool):
            async with db.acquire() as conn:
                yield cast(asyncpg.Connection, conn)
        else:
            yield db
    except asyncpg.UndefinedTableError as exc:
        raise SchemaMissing(f"{SchemaMissing.__doc__} ({exc})") from exc
    except (OSError, asyncpg.InterfaceError, asyncpg.exceptions.ConnectionDoesNotExistError) as exc:
        raise BusUnavailable(f"lost the bus database: {exc}") from exc


def json_of(text: str | None) -> Any:
    """A JSON column read as text, decoded (None stays None)."""
    return None if text is None else msgspec.json.decode(text)
