"""The fault suite (issue 10): events keep flowing through crashes, restarts and deploys.

Each run publishes a known set of events (`Pinged(n)` for n in a range) while something breaks,
then counts, through the inbox-backed handlers of tests/broker/fault_process.py, that every
event was handled exactly once in effect: 0 lost, 0 duplicated effects. Each run appends its
figures (sent, handled, duplicated, lost, recovery time) to .buildify/reliability.jsonl; they
are summarised in docs/reliability.md.

Only servers the tests own are restarted: a throwaway PostgreSQL cluster on a spare port, and
RabbitMQ outages are a TCP proxy in front of the shared broker that only our connections use.
"""

import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from uuid import uuid4

import asyncpg
import httpx
import pytest

from broker import BusSettings, EventBus
from broker.rabbit import RabbitTransport, delete_topology
from tests.broker.events import Pinged
from tests.broker.fault_process import EFFECTS_TABLE, SERVICE, router_for
from tests.broker.tcp_proxy import TcpProxy
from tests.databases import on_server
from tests.e2e.platform import RunningPlatform, free_port, running_platform
from tests.waiting import wait_until, wait_until_sync

pytestmark = [pytest.mark.chaos, pytest.mark.slow, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / ".buildify" / "reliability.jsonl"
SEED = int(os.environ.get("BUILDIFY_CHAOS_SEED", "10"))
PUBLISHER = BusSettings(relay=False, workers=0, listen=False, cleanup_interval=0, poll_interval=0.2)


# -- processes -------------------------------------------------------------------------------


@dataclass
class ServiceProcess:
    """A `fault_process` instance: started, killed and restarted by the test."""

    dsn: str
    role: str
    version: int = 1
    lease: float = 2.0
    process: asyncio.subprocess.Process | None = None
    tail: list[str] = field(default_factory=list)
    _reader: "asyncio.Task[None] | None" = None

    async def start(self) -> "ServiceProcess":
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.broker.fault_process", self.dsn, self.role, str(self.version),
            str(self.lease), cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        ready = asyncio.Event()
        self._reader = asyncio.create_task(self._read(self.process, ready))
        try:
            await asyncio.wait_for(ready.wait(), 30)
        except TimeoutError:
            raise AssertionError(f"{self.role} v{self.version} did not start:\n" + "\n".join(self.tail)) from None
        return self

    async def _read(self, process: asyncio.subprocess.Process, ready: asyncio.Event) -> None:
        """Keep the pipe drained (a full pipe would block the child); remember the last lines."""
        assert process.stdout is not None
        while line := await process.stdout.readline():
            text = line.decode(errors="replace").rstrip()
            if text == "ready":
                ready.set()
            self.tail = [*self.tail[-40:], text]

    async def kill(self) -> None:
        """SIGKILL: the crash, no clean-up of any kind."""
        await self._end(signal.SIGKILL)

    async def stop(self) -> None:
        """SIGTERM: a clean stop, as a deploy does."""
        await self._end(signal.SIGTERM)

    async def _end(self, sig: int) -> None:
        process, self.process = self.process, None
        if process is None or process.returncode is not None:
            return
        process.send_signal(sig)
        try:
            await asyncio.wait_for(process.wait(), 20)
        except TimeoutError:
            process.kill()
            await process.wait()
        if self._reader is not None:
            await self._reader


@contextlib.asynccontextmanager
async def processes() -> AsyncIterator[list[ServiceProcess]]:
    started: list[ServiceProcess] = []
    try:
        yield started
    finally:
        for proc in started:
            await proc.kill()


# -- counting --------------------------------------------------------------------------------


@dataclass
class Tally:
    sent: int
    handled: int
    duplicated: int
    lost: int


async def tally(dsn: str, handler: str, expected: range) -> Tally:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS effects, count(DISTINCT event_id) AS events FROM fault_effects WHERE handler = $1",
            handler,
        )
        assert row is not None
        seen = {r["n"] for r in await conn.fetch("SELECT DISTINCT n FROM fault_effects WHERE handler = $1", handler)}
    finally:
        await conn.close()
    return Tally(sent=len(expected), handled=len(seen & set(expected)), duplicated=row["effects"] - row["events"],
                 lost=len(set(expected) - seen))


async def handled_count(dsn: str, handler: str = "count_effect") -> int:
    conn = await asyncpg.connect(dsn, timeout=2)
    try:
        return int(await conn.fetchval("SELECT count(DISTINCT n) FROM fault_effects WHERE handler = $1", handler))
    finally:
        await conn.close()


async def safe_count(dsn: str, handler: str = "count_effect") -> int:
    """`handled_count`, or -1 while the database is away (a restart in progress)."""
    try:
        return await handled_count(dsn, handler)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
        return -1


async def recovery_after(dsn: str, before: int, started: float, timeout: float = 60) -> float:
    """Seconds from `started` until handled events grow past `before` again."""
    await wait_until(lambda: _above(dsn, before), timeout=timeout, interval=0.05, what="events handled again")
    return time.monotonic() - started


async def _above(dsn: str, n: int) -> bool:
    return await safe_count(dsn) > n


def record(scenario: str, result: Tally, recovery: list[float], **extra: object) -> None:
    """Append this run's figures to .buildify/reliability.jsonl (docs/reliability.md sums them up)."""
    row = {"scenario": scenario, **asdict(result), "recovery_max_s": round(max(recovery, default=0.0), 2),
           "recoveries_s": [round(r, 2) for r in recovery], **extra}
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("a") as out:
        out.write(json.dumps(row) + "\n")
    print(json.dumps(row))


# -- publishing ------------------------------------------------------------------------------


async def publish_all(bus: EventBus, ns: range, *, dsn: str, in_flight: int | None = None, batch: int = 250) -> None:
    """Publish `Pinged(n)` for every n, a batch per transaction. A batch that fails (the database
    restarting) is published again; with `in_flight`, wait while that many events are unhandled."""
    for start in range(ns.start, ns.stop, batch):
        chunk = [Pinged(n=n) for n in range(start, min(start + batch, ns.stop))]
        await wait_until(lambda chunk=chunk: _try_publish(bus, chunk), timeout=60, interval=0.1,  # type: ignore[misc]
                         what="the database accepting the batch")
        if in_flight is not None:
            limit = start + len(chunk) - ns.start - in_flight
            await wait_until(lambda limit=limit: _above(dsn, limit), timeout=60, interval=0.05,  # type: ignore[misc]
                             what="handlers catching up")


async def _try_publish(bus: EventBus, chunk: list[Pinged]) -> bool:
    try:
        await bus.publish_many(None, chunk)
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
        return False
    return True


async def publisher(dsn: str) -> EventBus:
    await on_server(dsn, EFFECTS_TABLE)
    bus = EventBus(service="faults-publisher", dsn=dsn, settings=PUBLISHER)
    await bus.open()
    return bus


async def drained(dsn: str) -> bool:
    """Nothing left anywhere: outbox empty, no pending delivery."""
    try:
        conn = await asyncpg.connect(dsn, timeout=2)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    try:
        return bool(await conn.fetchval(
            "SELECT NOT EXISTS (SELECT 1 FROM bus_outbox) "
            "AND NOT EXISTS (SELECT 1 FROM event_deliveries WHERE status = 'pending')"
        ))
    finally:
        await conn.close()


# -- 1. SIGKILL the relay and workers --------------------------------------------------------

KILL_EVENTS = int(os.environ.get("BUILDIFY_CHAOS_EVENTS", "20000"))


async def test_sigkill_relay_and_workers_while_events_flow(database_url):
    rng = random.Random(SEED)
    bus = await publisher(database_url)
    recovery: list[float] = []
    victims: list[str] = []
    async with processes() as running:
        relay = await ServiceProcess(database_url, "relay").start()
        workers = [await ServiceProcess(database_url, "worker").start() for _ in range(2)]
        running.extend([relay, *workers])
        feeding = asyncio.create_task(publish_all(bus, range(KILL_EVENTS), dsn=database_url, in_flight=4000))
        kills = sorted(rng.sample(range(KILL_EVENTS // 10, KILL_EVENTS * 9 // 10), 6))
        for point in kills:
            await wait_until(lambda point=point: _above(database_url, point), timeout=120, what=f"{point} handled")
            victim = rng.choice([relay, *workers])
            victims.append(victim.role)
            before, started = await handled_count(database_url), time.monotonic()
            await victim.kill()
            await victim.start()
            recovery.append(await recovery_after(database_url, before, started))
        await feeding
        await wait_until(lambda: _above(database_url, KILL_EVENTS - 1), timeout=120, what="every event handled")
        await wait_until(lambda: drained(database_url), timeout=60, what="nothing pending")
    await bus.close()
    result = await tally(database_url, "count_effect", range(KILL_EVENTS))
    record("sigkill relay and workers", result, recovery, kills=victims)
    assert (result.lost, result.duplicated, result.handled) == (0, 0, KILL_EVENTS)


# -- 2. PostgreSQL restarts (a cluster the test owns) ----------------------------------------


@pytest.fixture
def owned_postgres() -> Iterator[tuple[str, list[str]]]:
    """A throwaway PostgreSQL 15 cluster on a spare port; restart it with `pg_ctl`, never the shared one."""
    bin_dir = Path("/usr/lib/postgresql/15/bin")
    if not (bin_dir / "initdb").exists() or os.geteuid() != 0:
        pytest.skip("needs Debian's PostgreSQL 15 binaries and root (runuser -u postgres)")
    base = Path(tempfile.mkdtemp(prefix="buildify-faults-"))
    base.chmod(0o755)
    data = base / "data"
    shutil.chown(base, "postgres", "postgres")
    port = free_port()
    as_pg = ["runuser", "-u", "postgres", "--"]
    subprocess.run([*as_pg, str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
                   check=True, capture_output=True)
    ctl = [*as_pg, str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(base / "log"),
           "-o", f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=on", "-w"]
    subprocess.run([*ctl, "start"], check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres", ctl
    finally:
        subprocess.run([*ctl, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


async def restart_postgres(ctl: list[str]) -> None:
    """Crash-stop (`-m immediate`, as a power cut) and start the owned cluster again."""
    for action in (["-m", "immediate", "stop"], ["start"]):
        proc = await asyncio.create_subprocess_exec(*ctl, *action, stdout=asyncio.subprocess.DEVNULL,
                                                    stderr=asyncio.subprocess.DEVNULL)
        assert await proc.wait() == 0


PG_EVENTS = int(os.environ.get("BUILDIFY_CHAOS_PG_EVENTS", "5000"))


async def test_postgres_restarts_and_everything_reconnects(owned_postgres):
    dsn, ctl = owned_postgres
    bus = await publisher(dsn)  # the publishing service reconnects through its pool
    recovery: list[float] = []
    async with processes() as running:
        running.append(await ServiceProcess(dsn, "both").start())
        running.append(await ServiceProcess(dsn, "worker").start())
        feeding = asyncio.create_task(publish_all(bus, range(PG_EVENTS), dsn=dsn, in_flight=1000))
        for point in (PG_EVENTS // 4, PG_EVENTS // 2, PG_EVENTS * 3 // 4):
            await wait_until(lambda point=point: _above(dsn, point), timeout=120, what=f"{point} handled")
            before, started = await handled_count(dsn), time.monotonic()
            await restart_postgres(ctl)
            recovery.append(await recovery_after(dsn, before, started))
        await feeding
        await wait_until(lambda: _above(dsn, PG_EVENTS - 1), timeout=120, what="every event handled")
        await wait_until(lambda: drained(dsn), timeout=60, what="nothing pending")
        assert all(proc.process is not None and proc.process.returncode is None for proc in running)
    await bus.close()
    result = await tally(dsn, "count_effect", range(PG_EVENTS))
    record("postgres restart", result, recovery, restarts=3)
    assert (result.lost, result.duplicated, result.handled) == (0, 0, PG_EVENTS)


# -- 3. Rolling deploy -----------------------------------------------------------------------

DEPLOY_BATCH = 500


async def test_rolling_deploy_new_handler_gets_every_event_after_it_started(database_url):
    bus = await publisher(database_url)
    sent = 0

    async def publish_batch() -> None:
        nonlocal sent
        await publish_all(bus, range(sent, sent + DEPLOY_BATCH), dsn=database_url)
        sent += DEPLOY_BATCH
        await wait_until(lambda: _above(database_url, sent - 1), timeout=60, what="the batch handled")

    async with processes() as running:
        old = await ServiceProcess(database_url, "both", version=1).start()
        running.append(old)
        await publish_batch()
        new = await ServiceProcess(database_url, "both", version=2).start()
        running.append(new)
        first_after_new = sent
        await publish_batch()
        for turn in (old, new, old, new):  # restart in turn, as a rolling deploy does
            await turn.stop()
            await publish_batch()  # one instance serves meanwhile
            await turn.start()
            await publish_batch()
        await wait_until(lambda: drained(database_url), timeout=60, what="nothing pending")
    await bus.close()
    old_handler = await tally(database_url, "count_effect", range(sent))
    new_handler = await tally(database_url, "audit_effect", range(first_after_new, sent))
    record("rolling deploy (count_effect, all events)", old_handler, [])
    record("rolling deploy (audit_effect, events after it started)", new_handler, [])
    assert (old_handler.lost, old_handler.duplicated) == (0, 0)
    assert (new_handler.lost, new_handler.duplicated) == (0, 0)


# -- 4. RabbitMQ connection drops and an outage ----------------------------------------------

AMQP_URL = os.environ.get("BUILDIFY_TEST_AMQP_URL", "")
RABBIT_EVENTS = int(os.environ.get("BUILDIFY_CHAOS_RABBIT_EVENTS", "5000"))


@pytest.mark.rabbit
@pytest.mark.skipif(not AMQP_URL, reason="BUILDIFY_TEST_AMQP_URL is not set (e.g. amqp://guest:guest@127.0.0.1:5672/)")
async def test_rabbitmq_connection_drops_and_outage_lose_nothing(database_url):
    target = urlsplit(AMQP_URL)
    proxy = await TcpProxy(target.hostname or "127.0.0.1", target.port or 5672).up()
    url = target._replace(netloc=f"{target.username}:{target.password}@127.0.0.1:{proxy.port}").geturl()
    prefix = f"faults{uuid4().hex[:10]}"
    bus = await publisher(database_url)
    recovery: list[float] = []
    try:
        async with over_rabbitmq(database_url, url, prefix, start_timeout=10) as (relay, consumer):
            # the last events are published during the outage below: the forwarder may have caught up
            # with everything the feeder had published by then, and those must wait in Postgres
            during_outage = range(RABBIT_EVENTS - max(1, RABBIT_EVENTS // 50), RABBIT_EVENTS)
            feeding = asyncio.create_task(
                publish_all(bus, range(during_outage.start), dsn=database_url, in_flight=1500)
            )
            own = {f"buildify {relay.worker_id}", f"buildify {consumer.worker_id}"}
            cuts = [("tcp cut", proxy.drop)]
            if shutil.which("rabbitmqctl") and target.hostname in ("127.0.0.1", "localhost"):
                cuts.append(("rabbitmqctl close_connection", lambda: close_own_connections(own)))
            for n, (_how, cut) in enumerate(cuts, start=1):  # connections dropped; they reconnect by themselves
                point = RABBIT_EVENTS * n // 5
                await wait_until(lambda point=point: _above(database_url, point), timeout=120, what=f"{point} handled")
                reconnects = (_transport(relay).reconnects, _transport(consumer).reconnects)
                await cut()
                started = time.monotonic()  # after the cut: rabbitmqctl itself takes seconds
                await wait_until(
                    lambda reconnects=reconnects: _transport(relay).reconnects > reconnects[0]  # type: ignore[misc]
                    and _transport(consumer).reconnects > reconnects[1], timeout=30, what="both reconnected",
                )
                recovery.append(await reconnected(relay, consumer, database_url, started))
            await wait_until(lambda: _above(database_url, RABBIT_EVENTS * 3 // 5), timeout=120, what="3/5 handled")
            await proxy.down()  # RabbitMQ away: events wait in Postgres, health says so
            await wait_until(lambda: relay.health().status == "degraded", what="the relay's health degraded")
            await publish_all(bus, during_outage, dsn=database_url)
            await wait_until(lambda: _outbox_or_forward_waiting(database_url), what="events waiting in Postgres")
            assert await handled_count(database_url) < RABBIT_EVENTS
            started = time.monotonic()
            await proxy.up()
            recovery.append(await reconnected(relay, consumer, database_url, started))
            await feeding
            await wait_until(lambda: _above(database_url, RABBIT_EVENTS - 1), timeout=120, what="every event handled")
            await wait_until(lambda: relay.health().status == "ok", what="health back to ok")
    finally:
        await bus.close()
        await proxy.down()
        await delete_topology(AMQP_URL, prefix, [f"{SERVICE}.count_effect"])
    result = await tally(database_url, "count_effect", range(RABBIT_EVENTS))
    record("rabbitmq connection drops + outage", result, recovery, drops=[how for how, _ in cuts], outages=1)
    assert (result.lost, result.duplicated, result.handled) == (0, 0, RABBIT_EVENTS)


@contextlib.asynccontextmanager
async def over_rabbitmq(
    dsn: str, amqp_url: str, prefix: str, *, start_timeout: float
) -> AsyncIterator[tuple[EventBus, EventBus]]:
    """A relay forwarding to RabbitMQ and a consumer counting effects from it, both started; closed after."""
    settings = BusSettings(poll_interval=0.2, cleanup_interval=0, lease=5.0, transport="rabbitmq", amqp_url=amqp_url,
                           amqp_prefix=prefix, amqp_start_timeout=start_timeout)
    relay = EventBus(service="faults-relay", dsn=dsn, settings=settings.but(workers=0))
    consumer = EventBus(service=SERVICE, dsn=dsn, settings=settings.but(relay=False))
    consumer.include_router(router_for(1))
    try:
        await relay.start()
        await consumer.start()
        yield relay, consumer
    finally:
        await consumer.close()
        await relay.close()


def _transport(bus: EventBus) -> RabbitTransport:
    assert isinstance(bus._rabbit, RabbitTransport)
    return bus._rabbit


async def close_own_connections(names: set[str]) -> None:
    """Have the broker close this test's connections (and no one else's), by connection name."""

    async def ctl(*args: str) -> str:
        proc = await asyncio.create_subprocess_exec("rabbitmqctl", *args, stdout=asyncio.subprocess.PIPE,
                                                    stderr=asyncio.subprocess.DEVNULL)
        out, _ = await proc.communicate()
        assert proc.returncode == 0, f"rabbitmqctl {args[0]} failed"
        return out.decode()

    closed = 0
    for line in (await ctl("list_connections", "pid", "client_properties", "-q", "--no-table-headers")).splitlines():
        pid, _, properties = line.partition("\t")
        if any(f'{{"connection_name","{name}"}}' in properties for name in names):
            await ctl("close_connection", pid, "buildify fault test")
            closed += 1
    assert closed >= len(names), f"found {closed} of our connections"


async def reconnected(relay: EventBus, consumer: EventBus, dsn: str, started: float) -> float:
    """Seconds from `started` until both buses are connected again and events are handled again."""
    await wait_until(lambda: relay.health().rabbitmq_connected and consumer.health().rabbitmq_connected,
                     timeout=60, what="both buses reconnected")
    return await recovery_after(dsn, await handled_count(dsn), started)


async def _outbox_or_forward_waiting(dsn: str) -> bool:
    conn = await asyncpg.connect(dsn)
    try:
        return bool(await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM event_deliveries d JOIN event_subscriptions s ON s.id = d.subscription_id "
            "WHERE s.name = 'rabbitmq.forward' AND d.status = 'pending')"
        ))
    finally:
        await conn.close()



# -- 5. A module service down ----------------------------------------------------------------

DOWN_COMPANIES = 3


def test_a_module_down_is_reported_routed_around_and_gets_its_events_when_back(database_url, tmp_path):
    """The financial module stops answering (SIGSTOP: the dev runner ends the platform when a child
    exits, and a hung process is the harder case for a gateway): core's health says so, its routes
    answer 503 at once, core keeps working, and the companies created meanwhile get their accounts
    (core.company.created, handled by financial) once it is back."""
    with running_platform(database_url, tmp_path / "platform") as platform, \
            httpx.Client(base_url=platform.gateway, timeout=10) as http:
        auth = _login(http, platform)
        tenant_id = http.get("/api/v1/me", headers=auth).json()["tenant"]["id"]
        assert http.get("/api/v1/financial/accounts", headers=auth).status_code < 500  # routed, answering
        financial = _pid_of(platform, "services.financial.app.main")
        os.killpg(financial, signal.SIGSTOP)
        try:
            stopped = time.monotonic()
            wait_until_sync(lambda: _module_health(http) == "down", timeout=30, what="core's health: financial down")
            detected = time.monotonic() - stopped
            wait_until_sync(lambda: _quick_status(http, auth) in (502, 503), timeout=30, what="gateway answers 503")
            answered = time.monotonic()
            assert _quick_status(http, auth) in (502, 503)
            assert time.monotonic() - answered < 1.0  # at once, not after a timeout
            companies = []
            for n in range(DOWN_COMPANIES):  # core works; its events for financial wait
                created = http.post("/api/v1/companies", json={"name": f"Down {n}", "tenant_id": tenant_id},
                                    headers=auth)
                assert created.status_code == 201, created.text
                companies.append(created.json()["id"])
        finally:
            os.killpg(financial, signal.SIGCONT)
        resumed = time.monotonic()
        auth = _login(http, platform)  # a token that names the new companies
        charts = [wait_until_sync(lambda c=c: _accounts(http, auth, c), timeout=60, what="default accounts")
                  for c in companies]
        recovered = time.monotonic() - resumed
        wait_until_sync(lambda: _module_health(http) == "up", timeout=30, what="core's health: financial up")
    duplicated = sum(len(chart) - len({a["code"] for a in chart}) for chart in charts)
    result = Tally(sent=DOWN_COMPANIES, handled=sum(1 for chart in charts if chart), duplicated=duplicated, lost=0)
    record("module service down (financial)", result, [recovered], health_detected_s=round(detected, 2))
    assert (result.handled, result.duplicated) == (DOWN_COMPANIES, 0)


def _login(http: httpx.Client, platform: RunningPlatform) -> dict[str, str]:
    login = http.post("/api/v1/auth/login", json={"email": platform.admin_email, "password": platform.admin_password})
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def _pid_of(platform: RunningPlatform, needle: str) -> int:
    # -ww: without it ps cuts lines at 80 columns when not on a terminal, and a long checkout path hides the needle
    out = subprocess.run(["ps", "-ww", "-eo", "pid=,args="], capture_output=True, text=True).stdout
    family = platform.pids()
    for line in out.splitlines():
        pid, _, args = line.strip().partition(" ")
        if int(pid) in family and needle in args:
            return int(pid)
    raise AssertionError(f"no process running {needle}")


def _module_health(http: httpx.Client) -> str | None:
    """What anonymous callers see of a module on core's /health: "up" or "down" (security 9)."""
    checks = http.get("/health").json().get("checks", {})
    return checks.get("module:financial", {}).get("status")


def _quick_status(http: httpx.Client, auth: dict[str, str]) -> int | None:
    try:
        return http.get("/api/v1/financial/accounts", headers=auth, timeout=2).status_code
    except httpx.TimeoutException:
        return None


def _accounts(http: httpx.Client, auth: dict[str, str], company: str) -> list[dict[str, str]]:
    r = http.get("/api/v1/financial/accounts", params={"company_id": company}, headers=auth)
    return list(r.json()) if r.status_code == 200 else []


# -- 4b. A RabbitMQ broker the test owns restarts ----------------------------------------------

RABBIT_RESTART_EVENTS = int(os.environ.get("BUILDIFY_CHAOS_RABBIT_RESTART_EVENTS", "2000"))


@dataclass
class OwnedRabbit:
    """A RabbitMQ node of the test's own (own node name, ports, data dir), never the shared one."""

    node: str
    port: int
    base: Path

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/"

    def _env(self) -> list[str]:
        return ["runuser", "-u", "rabbitmq", "--", "env", "HOME=/var/lib/rabbitmq", f"RABBITMQ_NODENAME={self.node}",
                f"RABBITMQ_NODE_PORT={self.port}", f"RABBITMQ_DIST_PORT={free_port()}",
                f"RABBITMQ_CONFIG_FILE={self.base}/rabbitmq", f"RABBITMQ_MNESIA_BASE={self.base}/mnesia",
                f"RABBITMQ_LOG_BASE={self.base}/log", f"RABBITMQ_PID_FILE={self.base}/pid",
                f"RABBITMQ_ENABLED_PLUGINS_FILE={self.base}/enabled_plugins"]

    async def start(self) -> None:
        await _run(*self._env(), "/usr/lib/rabbitmq/bin/rabbitmq-server", "-detached")
        await _run(*self._env(), "/usr/lib/rabbitmq/bin/rabbitmqctl", "-n", self.node, "wait", f"{self.base}/pid")

    async def stop(self) -> None:
        await _run(*self._env(), "/usr/lib/rabbitmq/bin/rabbitmqctl", "-n", self.node, "stop")


async def _run(*command: str) -> None:
    proc = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.DEVNULL,
                                                stderr=asyncio.subprocess.DEVNULL)
    assert await proc.wait() == 0, f"{command[-2]} {command[-1]} failed"


def _rabbit_dir() -> OwnedRabbit:
    if not Path("/usr/lib/rabbitmq/bin/rabbitmq-server").exists() or os.geteuid() != 0:
        pytest.skip("needs Debian's rabbitmq-server and root (runuser -u rabbitmq)")
    base = Path(tempfile.mkdtemp(prefix="buildify-rabbit-"))
    base.chmod(0o755)
    port = free_port()
    (base / "rabbitmq.conf").write_text(f"listeners.tcp.local = 127.0.0.1:{port}\n")
    (base / "enabled_plugins").write_text("[].\n")  # no management listener to collide with the shared node's
    for path in (base, *base.iterdir()):
        shutil.chown(path, "rabbitmq", "rabbitmq")
    return OwnedRabbit(node=f"buildify-faults-{uuid4().hex[:8]}@localhost", port=port, base=base)


@pytest.fixture
async def owned_rabbit() -> AsyncIterator[OwnedRabbit]:
    rabbit = _rabbit_dir()
    base = rabbit.base
    await rabbit.start()
    try:
        yield rabbit
    finally:
        with contextlib.suppress(AssertionError):
            await rabbit.stop()
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.rabbit
async def test_an_owned_rabbitmq_restart_loses_nothing(database_url, owned_rabbit):
    bus = await publisher(database_url)
    recovery: list[float] = []
    try:
        async with over_rabbitmq(database_url, owned_rabbit.url, "faults", start_timeout=30) as (relay, consumer):
            feeding = asyncio.create_task(
                publish_all(bus, range(RABBIT_RESTART_EVENTS), dsn=database_url, in_flight=800)
            )
            await wait_until(lambda: _above(database_url, RABBIT_RESTART_EVENTS // 3), timeout=120,
                             what="a third handled")
            await owned_rabbit.stop()  # queued and unacknowledged messages stay on disk: durable, persistent
            await wait_until(lambda: relay.health().status == "degraded", what="the relay's health degraded")
            await owned_rabbit.start()
            started = time.monotonic()
            recovery.append(await reconnected(relay, consumer, database_url, started))
            await feeding
            await wait_until(lambda: _above(database_url, RABBIT_RESTART_EVENTS - 1), timeout=120,
                             what="every event handled")
            await wait_until(lambda: relay.health().status == "ok", what="health back to ok")
    finally:
        await bus.close()
    result = await tally(database_url, "count_effect", range(RABBIT_RESTART_EVENTS))
    record("rabbitmq broker restart (owned node)", result, recovery, restarts=1)
    assert (result.lost, result.duplicated, result.handled) == (0, 0, RABBIT_RESTART_EVENTS)
