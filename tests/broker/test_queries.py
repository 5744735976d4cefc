"""The bus's SQL lives in named queries (broker/sql/queries); a typo there must fail here,
not in a running relay."""

import asyncpg
import pytest

from broker.queries import UnknownQuery, names, query

STATEMENTS = ("SELECT", "WITH", "INSERT", "UPDATE", "DELETE")


async def test_every_named_statement_is_valid_sql_on_the_bus_schema(db: asyncpg.Connection):
    statements = [name for name in names() if query(name).lstrip().upper().startswith(STATEMENTS)]
    assert {"claim_deliveries", "relay_local", "append_remote", "replay_batch", "dlq_redrive", "follow"} <= set(
        statements
    )
    for name in statements:
        try:
            await db.prepare(query(name))
        except asyncpg.PostgresError as exc:
            pytest.fail(f"query {name!r} does not prepare: {exc}")


def test_includes_are_expanded_and_an_unknown_name_is_refused():
    assert "{{" not in query("list_events") and "e.recorded_at >= COALESCE" in query("list_events")
    with pytest.raises(UnknownQuery, match="no_such_query"):
        query("no_such_query")
