"""What a pooled connection's release resets, per pool.

asyncpg resets a connection on release with a query (advisory locks, LISTEN, cursors,
session settings), a round trip of its own. The bus's pools skip it where nothing can have
changed the session: always on the work pool (only the bus's own statements use it), and
after a `publish(None, ...)` on the bus and outbox pools, whose other users (`bus.pool`: ops,
health checks, services) keep the full reset.
"""

import weakref
from typing import Any

import asyncpg

# Connections of the bus and outbox pools that served nothing but the bus's own publish since
# they were acquired (`publish(None, ...)`): one INSERT leaves no session state to reset.
_published_only: "weakref.WeakSet[asyncpg.Connection]" = weakref.WeakSet()


def skip_reset(conn: Any) -> None:
    """Release pooled `conn` (a pool's proxy) without the reset query: only the bus's INSERT ran on it."""
    _published_only.add(getattr(conn, "_con", conn))


async def reset_unless_published_only(conn: asyncpg.Connection) -> None:
    """The bus and outbox pools' reset on release: asyncpg's default reset query (advisory
    locks, LISTEN, session settings: callers of `bus.pool` may leave any of them), skipped after a
    `publish(None, ...)`, whose one INSERT changed none of them. The reset query is a round trip
    as long as the INSERT's, so skipping it makes a publish outside a transaction one round trip
    (issue 15). asyncpg has already rolled back any open transaction before calling this."""
    if conn in _published_only:
        _published_only.discard(conn)
        return
    reset_query = conn.get_reset_query()
    if reset_query:
        await conn.execute(reset_query)


async def keep_session(_conn: asyncpg.Connection) -> None:
    """The work pool's reset on release: none beyond asyncpg's rollback of an open transaction.
    Only the bus's own statements use that pool and they leave no session state (advisory
    locks are per transaction), while the default reset query cost a round trip per use —
    as many statements as the claims, completions and relay batches it served."""
