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


SETTLING = {  # parameter types, and values for EXPLAIN EXECUTE
    "complete_deliveries": ("bigint[], int[], text", "'{1,2}', '{1,1}', 'w'"),
    "extend_leases": ("bigint[], float8, int[], text", "'{1,2}', 30.0, '{1,1}', 'w'"),
}


@pytest.mark.parametrize("name", SETTLING)
async def test_settling_finds_its_deliveries_by_primary_key_before_the_table_is_analysed(
    db: asyncpg.Connection, name: str
):
    """On a fresh table (no statistics yet) the planner took `id = ANY($1) AND status = 'pending'`
    as a bitmap AND with the whole index of pending deliveries: under a backlog of 50,000 every
    completion read all of it, about a second each, and the bus ran at a tenth of its speed."""
    await db.execute("INSERT INTO event_subscriptions (name, module_name, event_pattern, pattern_regex) "
                     "VALUES ('s', 'm', 'x', 'x')")
    await db.execute(
        "INSERT INTO event_deliveries (subscription_id, event_id, priority, attempts, available_at, locked_by) "
        "SELECT (SELECT id FROM event_subscriptions), gen_random_uuid(), 5, 1, now() + interval '30 seconds', 'w' "
        "FROM generate_series(1, 50000)"
    )
    await db.execute("UPDATE event_deliveries SET status = 'done' WHERE id % 3 = 0")  # some already settled
    types, values = SETTLING[name]
    await db.execute(f"PREPARE settle({types}) AS {query(name)}")
    await db.execute("SET plan_cache_mode = force_generic_plan")  # the plan a pooled statement keeps after five calls
    plan = "\n".join(row[0] for row in await db.fetch(f"EXPLAIN EXECUTE settle({values})"))
    assert "event_deliveries_ready" not in plan and "event_deliveries_pkey" in plan, plan
