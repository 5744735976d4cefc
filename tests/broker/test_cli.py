"""buildify-events against a real database: every command, its JSON, its messages and exit codes.

The commands run in-process through typer's CliRunner (they call asyncio.run themselves, so
these tests are plain functions); `python -m broker` and the live tail run as subprocesses.
"""

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID, uuid4

import asyncpg
import pytest
from typer.testing import CliRunner

from broker import cli, ops
from tests.broker.ops_seed import (
    add_dead_letter,
    add_deliveries,
    add_events,
    add_subscription,
    deliveries,
    snapshot,
)

T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[2]
runner = CliRunner()


def on_db(url: str, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    async def main() -> T:
        conn = await asyncpg.connect(url)
        try:
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(main())


def run(url: str | None, *args: str, env: dict[str, str] | None = None) -> Any:
    argv = list(args)
    if url is not None:
        argv += ["--database-url", url]
    return runner.invoke(cli.app, argv, env=env)


def seed_basic(url: str) -> dict[str, Any]:
    async def work(conn: asyncpg.Connection) -> dict[str, Any]:
        tenant = uuid4()
        sub = await add_subscription(conn, "financial.accounts", "core.company.*")
        other = await add_subscription(conn, "warehouse.sites", "core.#")
        companies = await add_events(conn, "core.company.created", 3, tenant=tenant)
        users = await add_events(conn, "core.user.created", 2)
        await add_deliveries(conn, sub, companies)
        await add_deliveries(conn, other, companies + users)
        return {"tenant": tenant, "sub": sub, "other": other, "companies": companies, "users": users}

    return on_db(url, work)


# -- reading ----------------------------------------------------------------------------------


def test_list_as_table_and_json(database_url):
    seeded = seed_basic(database_url)
    result = run(database_url, "list", "--type", "core.company.*", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert {UUID(r["id"]) for r in rows} == set(seeded["companies"])
    assert all(r["done"] == 2 for r in rows)
    result = run(database_url, "list", "--tenant", str(seeded["tenant"]), "--since", "1h", "-n", "2")
    assert result.exit_code == 0, result.output
    assert "2 event(s)" in result.stdout and str(seeded["companies"][-1]) in result.stdout
    assert run(database_url, "list", "--since", "2999-01-01T00:00").stdout.count("core.") == 0  # nothing is that new


def test_show_and_stats(database_url):
    seeded = seed_basic(database_url)
    event_id = seeded["companies"][0]
    on_db(database_url, lambda c: add_dead_letter(c, seeded["sub"], event_id, "KeyError: 'name'"))
    result = run(database_url, "show", str(event_id), "--json")
    assert result.exit_code == 0, result.output
    detail = json.loads(result.stdout)
    assert detail["event"]["type"] == "core.company.created" and detail["payload"] == {"n": 0}
    assert {d["subscription"]: d["status"] for d in detail["deliveries"]} == {
        "financial.accounts": "dead", "warehouse.sites": "done"
    }
    assert detail["dead_letters"][0]["reason"] == "KeyError: 'name'"
    table = run(database_url, "show", str(event_id))
    assert table.exit_code == 0 and "deliveries" in table.stdout and "KeyError" in table.stdout

    result = run(database_url, "stats", "--window", "10m", "--json")
    assert result.exit_code == 0, result.output
    stats = json.loads(result.stdout)
    assert stats["events"] == 5 and stats["dead_letters_open"] == 1
    assert {s["name"] for s in stats["subscriptions"]} == {"financial.accounts", "warehouse.sites"}
    table = run(database_url, "stats")
    assert table.exit_code == 0 and "financial.accounts" in table.stdout and "5 event(s)" in table.stdout


def test_tail_prints_recent_events_and_stops(database_url):
    seeded = seed_basic(database_url)
    result = run(database_url, "tail", "--since", "1h", "--type", "core.user.*", "--count", "2", "--json")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [UUID(item["event"]["id"]) for item in lines] == seeded["users"]
    result = run(database_url, "tail", "--timeout", "0.3")
    assert result.exit_code == 0 and result.stdout == ""


def test_tail_follows_live_events(database_url):
    seed_basic(database_url)
    proc = subprocess.Popen(
        [sys.executable, "-m", "broker", "tail", "--count", "1", "--timeout", "30", "--poll", "30",
         "--database-url", database_url],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stderr is not None
        assert "following events" in proc.stderr.readline()
        time.sleep(0.2)

        async def publish(conn: asyncpg.Connection) -> list[UUID]:
            ids = await add_events(conn, "financial.invoice.created", 1)
            await conn.execute("NOTIFY bus_deliveries")  # what the relay's fan-out does
            return ids

        [event_id] = on_db(database_url, publish)
        started = time.monotonic()
        out, _ = proc.communicate(timeout=20)
        assert proc.returncode == 0
        assert str(event_id) in out and "financial.invoice.created" in out
        assert time.monotonic() - started < 10  # woken by NOTIFY, not by the 30 s poll
    finally:
        proc.kill()


# -- replay -------------------------------------------------------------------------------------


def test_replay_dry_run_changes_nothing(database_url):
    seeded = seed_basic(database_url)
    before = on_db(database_url, snapshot)
    result = run(database_url, "replay", "--type", "core.#", "--subscription", "warehouse.sites", "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would replay 5 event(s)" in result.stdout and "nothing was changed" in result.stdout
    assert str(seeded["users"][0]) in result.stdout
    result = run(database_url, "replay", "--all-subscriptions", "--dry-run", "--json")
    assert json.loads(result.stdout)["deliveries"] == 8
    assert on_db(database_url, snapshot) == before


def test_replay_into_one_subscription_then_audit(database_url):
    seeded = seed_basic(database_url)
    result = run(database_url, "replay", "--type", "core.company.*", "-s", "financial.accounts",
                 "--actor", "dave", "--batch-size", "2")
    assert result.exit_code == 0, result.output
    assert "replayed 3 event(s) as 3 delivery(ies) into financial.accounts" in result.stdout
    assert "--resume" in result.stderr
    pending = on_db(database_url, lambda c: deliveries(c, seeded["sub"]))
    assert pending == {e: ("pending", 0) for e in seeded["companies"]}
    result = run(database_url, "audit", "--json")
    [entry] = json.loads(result.stdout)
    assert (entry["action"], entry["actor"], entry["affected"]) == ("replay", "dave", 3)
    assert "replay" in run(database_url, "audit").stdout


def test_replay_resumes_an_interrupted_run(database_url):
    seeded = seed_basic(database_url)

    async def interrupted(conn: asyncpg.Connection) -> UUID:
        def stop(progress: ops.ReplayProgress) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            await ops.replay(conn, ops.EventFilter(), subscription="warehouse.sites", actor="ops",
                             batch_size=2, on_progress=stop)
        return UUID(str(await conn.fetchval("SELECT id FROM event_replay_runs")))

    run_id = on_db(database_url, interrupted)
    result = run(database_url, "replay", "--resume", str(run_id), "--json", "--batch-size", "2")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert (body["events"], body["deliveries"], body["status"]) == (5, 5, "done")
    got = on_db(database_url, lambda c: deliveries(c, seeded["other"]))
    assert got == {e: ("pending", 0) for e in seeded["companies"] + seeded["users"]}


def test_replay_errors_are_clear_with_distinct_exit_codes(database_url):
    seed_basic(database_url)
    before = on_db(database_url, snapshot)

    bad = run(database_url, "replay", "--type", "core..x", "-s", "financial.accounts")
    assert bad.exit_code == cli.EXIT_BAD_INPUT and "is not a word" in bad.stderr

    unknown = run(database_url, "replay", "-s", "financial.acounts")
    assert unknown.exit_code == cli.EXIT_NOT_FOUND
    assert "no subscription named 'financial.acounts'" in unknown.stderr
    assert "financial.accounts" in unknown.stderr  # says what exists

    empty = run(database_url, "replay", "--type", "warehouse.#", "-s", "financial.accounts")
    assert empty.exit_code == cli.EXIT_EMPTY and "no event matches" in empty.stderr

    nowhere = run(database_url, "replay", "--type", "core.#")
    assert nowhere.exit_code == cli.EXIT_BAD_INPUT and "--subscription" in nowhere.stderr

    bad_time = run(database_url, "list", "--since", "last tuesday")
    assert bad_time.exit_code == cli.EXIT_BAD_INPUT and "is not a time" in bad_time.stderr

    bad_id = run(database_url, "show", "not-a-uuid")
    assert bad_id.exit_code == cli.EXIT_BAD_INPUT
    missing = run(database_url, "show", str(uuid4()))
    assert missing.exit_code == cli.EXIT_NOT_FOUND and "no event" in missing.stderr
    assert on_db(database_url, snapshot) == before


def test_unreachable_database_and_missing_url():
    down = run("postgresql://postgres@127.0.0.1:1/nothing", "stats")
    assert down.exit_code == cli.EXIT_UNAVAILABLE
    assert "does not answer" in down.stderr and "127.0.0.1:1/nothing" in down.stderr
    env = {"DATABASE_URL": "", "EVENT_BUS_CONNECTION_STRING": ""}
    none = runner.invoke(cli.app, ["list"], env=env)
    assert none.exit_code == cli.EXIT_BAD_INPUT and "--database-url" in none.stderr


def test_database_url_from_the_environment(database_url):
    seed_basic(database_url)
    result = runner.invoke(cli.app, ["list", "--json"], env={"EVENT_BUS_CONNECTION_STRING": database_url})
    assert result.exit_code == 0 and len(json.loads(result.stdout)) == 5
    result = runner.invoke(cli.app, ["list", "--json"],
                           env={"EVENT_BUS_CONNECTION_STRING": "", "DATABASE_URL": database_url})
    assert result.exit_code == 0 and len(json.loads(result.stdout)) == 5


def test_python_dash_m_broker(database_url):
    seed_basic(database_url)
    env = {**os.environ, "DATABASE_URL": database_url}
    env.pop("EVENT_BUS_CONNECTION_STRING", None)
    helped = subprocess.run([sys.executable, "-m", "broker", "--help"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert helped.returncode == 0
    for command in ("list", "show", "tail", "stats", "replay", "dlq"):
        assert command in helped.stdout
    listed = subprocess.run([sys.executable, "-m", "broker", "list", "--json"], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 5
    down = subprocess.run([sys.executable, "-m", "broker", "dlq", "list", "--database-url",
                           "postgresql://postgres@127.0.0.1:1/x"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert down.returncode == cli.EXIT_UNAVAILABLE and "does not answer" in down.stderr


# -- dead letters -------------------------------------------------------------------------------


def seed_letters(url: str) -> dict[str, Any]:
    async def work(conn: asyncpg.Connection) -> dict[str, Any]:
        tenant = uuid4()
        sub = await add_subscription(conn, "financial.accounts", "core.#")
        events = await add_events(conn, "core.company.created", 4, tenant=tenant)
        letters = [await add_dead_letter(conn, sub, e, f"gave up: {'Timeout' if i % 2 else 'KeyError'} {i}")
                   for i, e in enumerate(events)]
        return {"tenant": tenant, "sub": sub, "events": events, "letters": letters}

    return on_db(url, work)


def test_dlq_list_show(database_url):
    seeded = seed_letters(database_url)
    result = run(database_url, "dlq", "list", "--error", "timeout", "--json")
    assert result.exit_code == 0, result.output
    assert {r["id"] for r in json.loads(result.stdout)} == {seeded["letters"][1], seeded["letters"][3]}
    table = run(database_url, "dlq", "list", "-s", "financial.accounts", "--tenant", str(seeded["tenant"]))
    assert table.exit_code == 0 and "4 dead letter(s)" in table.stdout
    shown = run(database_url, "dlq", "show", str(seeded["letters"][0]))
    assert shown.exit_code == 0 and "Traceback" in shown.stdout and "KeyError 0" in shown.stdout
    assert json.loads(run(database_url, "dlq", "show", str(seeded["letters"][0]), "--json").stdout)["id"] == (
        seeded["letters"][0]
    )
    missing = run(database_url, "dlq", "show", "999999")
    assert missing.exit_code == cli.EXIT_NOT_FOUND and "no dead letter" in missing.stderr


def test_dlq_redrive_exactly_the_chosen_letters(database_url):
    seeded = seed_letters(database_url)
    before = on_db(database_url, snapshot)
    chosen = [str(seeded["letters"][1]), str(seeded["letters"][2])]
    dry = run(database_url, "dlq", "redrive", *chosen, "--dry-run")
    assert dry.exit_code == 0 and "would redrive 2 dead letter(s)" in dry.stdout
    assert on_db(database_url, snapshot) == before

    result = run(database_url, "dlq", "redrive", *chosen, "--actor", "erin")
    assert result.exit_code == 0, result.output
    assert "redrove 2 dead letter(s)" in result.stdout
    state = on_db(database_url, lambda c: deliveries(c, seeded["sub"]))
    events = seeded["events"]
    assert state == {events[0]: ("dead", 5), events[1]: ("pending", 0), events[2]: ("pending", 0),
                     events[3]: ("dead", 5)}
    letters = json.loads(run(database_url, "dlq", "list", "--include-redriven", "--json").stdout)
    assert {r["id"]: r["redriven_by"] for r in letters} == {
        seeded["letters"][0]: None, seeded["letters"][1]: "erin", seeded["letters"][2]: "erin",
        seeded["letters"][3]: None,
    }
    again = run(database_url, "dlq", "redrive", *chosen)
    assert again.exit_code == cli.EXIT_EMPTY and "no dead letter matches" in again.stderr
    unfiltered = run(database_url, "dlq", "redrive")
    assert unfiltered.exit_code == cli.EXIT_BAD_INPUT and "--all" in unfiltered.stderr


def test_dlq_purge(database_url):
    seeded = seed_letters(database_url)
    before = on_db(database_url, snapshot)
    dry = run(database_url, "dlq", "purge", "--error", "KeyError", "--dry-run", "--json")
    assert dry.exit_code == 0 and json.loads(dry.stdout)["letters"] == 2
    assert on_db(database_url, snapshot) == before
    result = run(database_url, "dlq", "purge", "--error", "KeyError")
    assert result.exit_code == 0, result.output
    assert "purged 2 dead letter(s) and 2 dead delivery(ies)" in result.stdout
    left = json.loads(run(database_url, "dlq", "list", "--json").stdout)
    assert {r["id"] for r in left} == {seeded["letters"][1], seeded["letters"][3]}
    everything = run(database_url, "dlq", "purge", "--all", "--json")
    assert json.loads(everything.stdout)["letters"] == 2
    unknown = run(database_url, "dlq", "purge", "-s", "nope")
    assert unknown.exit_code == cli.EXIT_NOT_FOUND
    audit = json.loads(run(database_url, "audit", "--json").stdout)
    assert [(a["action"], a["affected"]) for a in audit] == [("purge", 2), ("purge", 2)]
