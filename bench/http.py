"""Benchmark of the gateway: a financial read endpoint directly and through Traefik.

A benchmark, not a test. It makes a fresh database (`bench_http_<random>`, dropped afterwards)
on the server of `--database-url`, starts the whole platform as `make run` does
(`tests/e2e/platform.py::running_platform`, rate limit off), logs in through the gateway as the
demo admin, creates a few invoices for Acme GmbH, and then loads

    GET /api/v1/financial/invoices?company_id=<Acme GmbH>     (bearer token; queries the database)

on the financial service directly (`direct`) and through Traefik (`gateway`), alternating
direct and gateway runs (A B A B ...) `--rounds` times at each concurrency. It prints a
markdown table of medians (requests/s, p50, p99) and, per round, the gateway/direct throughput
ratio and the p50 the gateway adds, with their medians.

The rate limit of Traefik counts per router and per client IP, and every local client is
127.0.0.1, so the benchmark must go through routers without it: `--no-rate-limit` takes it off
core's routers, and `GATEWAY_MIDDLEWARES=security-headers@file` takes it off the module routers
that core renders for Traefik's HTTP provider. The script checks the rendered routes and counts
non-2xx answers (a 429 fails the run).

Load generator: `wrk` (Debian: `apt-get install -y wrk`) with a Lua script that adds the
Authorization header and prints the latency percentiles; without wrk a Python asyncio
generator (raw sockets, HTTP/1.1 keep-alive) takes over and says so. The Python generator
competes with the services for the two cores: its figures are lower than wrk's.

`--extra-gateway` also starts a second Traefik with the runner's flags but `--accessLog=false`
(same file-provider routes, same middleware) and measures it as a third target
(`gateway-no-access-log`) in the same alternation.

`--servers uvicorn,granian --workers 1,2` measures instead the HTTP server and the worker processes
per service that `buildify dev --http-server/--http-workers` start (services/runtime/servers.py):
each configuration gets a fresh database and its own platform start, and the configurations
take turns (rotated each round). Through the gateway it loads a report,
`GET /api/v1/financial/reports/receivables-aging?company_id=...` (over `--invoices` invoices), then
invoice creation, `POST /api/v1/financial/invoices` (one line; the insert, its journal and its
event in one transaction). granian is in the `bench` extra.

    python bench/http.py
    python bench/http.py --duration 8 --rounds 5 --concurrency 1,16,64
    python bench/http.py --extra-gateway --rounds 3
    python bench/http.py --servers uvicorn,granian --workers 1,2 --rounds 2 --concurrency 1,16
"""

import argparse
import asyncio
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

# Run as a script, this file's folder comes first on sys.path and `http.py` would shadow the
# standard library's `http` package (which httpx needs): drop the folder before importing.
HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))

import httpx  # noqa: E402

from services.runtime.gateway import GatewayPorts, dynamic_config, traefik_command  # noqa: E402
from tests.databases import create_database, drop_database  # noqa: E402
from tests.e2e.platform import free_port, running_platform  # noqa: E402

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

WRK_SCRIPT = """
wrk.method = "%(method)s"
wrk.headers["Authorization"] = "Bearer %(token)s"
wrk.headers["Accept"] = "application/json"
wrk.headers["Content-Type"] = "application/json"
wrk.body = %(body)s

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"p50_us\\": %%d, \\"p90_us\\": %%d, "
    .. "\\"p99_us\\": %%d, \\"mean_us\\": %%.1f, \\"connect\\": %%d, \\"read\\": %%d, \\"write\\": %%d, "
    .. "\\"status\\": %%d, \\"timeout\\": %%d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def wrk_script(token: str, method: str = "GET", body: object = None) -> str:
    """wrk's Lua script: bearer token, `method`, a JSON `body` (none: nil), the BENCH summary line."""
    lua_body = "nil" if body is None else "[[" + json.dumps(body) + "]]"
    return WRK_SCRIPT % {"token": token, "method": method, "body": lua_body}


@dataclass(frozen=True, slots=True)
class Result:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    errors: int
    cpu_ms: dict[str, float] = field(default_factory=dict)  # CPU time per request, by process role


# --- load generators ---------------------------------------------------------------------------


def run_wrk(url: str, token_script: Path, connections: int, duration: float) -> Result:
    threads = 1 if connections < 16 else 2
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration:g}s", "--timeout", "10s",
               "--latency", "-s", str(token_script), url]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    match = re.search(r"^BENCH (\{.*\})$", out, re.MULTILINE)
    if not match:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    data = json.loads(match.group(1))
    errors = sum(data[k] for k in ("connect", "read", "write", "status", "timeout"))
    return Result(rps=data["requests"] / (data["duration_us"] / 1e6), p50_ms=data["p50_us"] / 1000,
                  p99_ms=data["p99_us"] / 1000, requests=data["requests"], errors=errors)


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response, return its status; the connection stays usable."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length, chunked = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    elif length:
        await reader.readexactly(length)
    return status


async def _python_load(url: str, token: str, connections: int, duration: float) -> Result:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    request = (f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: Bearer {token}\r\n"
               "Accept: application/json\r\n\r\n").encode()
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + duration

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                writer.write(request)
                status = await _read_response(reader)
                latencies.append(time.perf_counter() - start)
                if not 200 <= status < 400:
                    errors += 1
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000 if latencies else float("nan")

    return Result(rps=len(latencies) / elapsed, p50_ms=pct(0.50), p99_ms=pct(0.99), requests=len(latencies),
                  errors=errors)


def run_python(url: str, token: str, connections: int, duration: float) -> Result:
    return asyncio.run(_python_load(url, token, connections, duration))


# --- the platform ------------------------------------------------------------------------------


def prepare(base: str, financial: str, email: str, password: str, invoices: int) -> tuple[str, str]:
    """Log in through the gateway, find Acme GmbH, create `invoices` invoices; return (token, company)."""
    with httpx.Client(base_url=base, timeout=30) as http:
        login = http.post("/api/v1/auth/login", json={"email": email, "password": password})
        login.raise_for_status()
        token = login.json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        me = http.get("/api/v1/me", headers=auth).json()
        company = next(c["company"]["id"] for c in me["companies"] if c["company"]["name"] == "Acme GmbH")
        for i in range(invoices):
            created = http.post("/api/v1/financial/invoices", headers=auth, json={
                "company_id": company, "customer": f"Bench customer {i}",
                "lines": [{"description": "Consulting", "quantity": str(1 + i), "unit_price": "100.00"}],
            })
            if created.status_code != 201:
                raise RuntimeError(f"creating an invoice: {created.status_code} {created.text}")
    with httpx.Client(timeout=30) as http:  # the same answer both ways
        path = f"/api/v1/financial/invoices?company_id={company}"
        direct = http.get(financial + path, headers=auth)
        routed = http.get(base + path, headers=auth)
        if direct.status_code != 200 or routed.status_code != 200 or direct.json() != routed.json():
            raise RuntimeError(f"direct and gateway answers differ: {direct.status_code} {routed.status_code}")
        if len(direct.json()) != invoices:
            raise RuntimeError(f"expected {invoices} invoices, got {len(direct.json())}")
    return token, company


def check_no_rate_limit(core: str, data_dir: Path) -> None:
    """The module routers core renders for Traefik must not carry the rate limit."""
    key = json.loads((data_dir / "secrets.json").read_text())["gateway_key"]
    rendered = httpx.get(f"{core}/api/v1/gateway/traefik", headers={"X-Gateway-Key": key}, timeout=10).json()
    for name, router in rendered.get("http", {}).get("routers", {}).items():
        if any("rate-limit" in m for m in router.get("middlewares", [])):
            raise RuntimeError(f"router {name} still has the rate limit: {router['middlewares']}")


class ExtraGateway:
    """A second Traefik: the runner's flags without the access log, file provider only."""

    def __init__(self, financial: str, data_dir: Path):
        self.port, admin = free_port(), free_port()
        ports = GatewayPorts(gateway=self.port, admin=admin, core=free_port())
        config = dynamic_config(ports, rate_limit=False)
        http = config["http"]
        http["routers"] = {"financial": {
            "rule": "Path(`/api/v1/financial`) || PathPrefix(`/api/v1/financial/`)", "service": "financial",
            "entryPoints": ["web"], "middlewares": ["security-headers"], "priority": 100,
        }}
        http["services"] = {"financial": {"loadBalancer": {"servers": [{"url": financial}]}}}
        dynamic = data_dir / "extra-gateway.yaml"  # JSON is valid YAML
        dynamic.write_text(json.dumps(config))
        command = traefik_command(ports, dynamic, http_provider=False, access_log=False)
        self.log = (data_dir / "extra-gateway.log").open("w")
        self.process = subprocess.Popen(command, stdout=self.log, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{admin}/ping", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.close()
        raise RuntimeError("the extra Traefik did not start")

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        self.log.close()


# --- CPU accounting ----------------------------------------------------------------------------
# Wall-clock figures move with the neighbours' load on a shared box; CPU time per request, read
# from /proc for each process of the platform, says where the work goes whatever the noise.

TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def roles(platform_pids: set[int], runner: int, extra: int | None) -> dict[str, list[int]]:
    """The platform's processes by role: financial, core, traefik (the runner's), runner, extra."""
    found: dict[str, list[int]] = {"financial": [], "core": [], "traefik": [], "runner": [runner]}
    for pid in platform_pids - {runner}:
        try:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
        except FileNotFoundError:
            continue
        if "services.financial" in cmd:
            found["financial"].append(pid)
        elif "services.core" in cmd:
            found["core"].append(pid)
        elif "traefik" in cmd:
            found["traefik"].append(pid)
    if extra is not None:
        found["traefik-no-log"] = [extra]
    return found


class CpuMeter:
    def __init__(self, by_role: dict[str, list[int]]):
        self.by_role = by_role

    def snapshot(self) -> dict[str, float]:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        taken = {role: sum(cpu_seconds(p) for p in pids) for role, pids in self.by_role.items()}
        return {**taken, "load generator": usage.ru_utime + usage.ru_stime}


# --- the benchmark -----------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def bench(args: argparse.Namespace, targets: dict[str, str], token: str, company: str,
          work: Path, meter: CpuMeter) -> dict[int, dict[str, list[Result]]]:
    path = f"/api/v1/financial/invoices?company_id={company}"
    use_wrk = args.generator == "wrk" or (args.generator == "auto" and shutil.which("wrk"))
    if use_wrk:
        script = work / "auth.lua"
        script.write_text(wrk_script(token))
        print("load generator: wrk " + subprocess.run(["wrk", "-v"], capture_output=True, text=True)
              .stdout.splitlines()[0].split(" Copyright")[0].removeprefix("wrk "), file=sys.stderr)

        def load(url: str, connections: int, duration: float) -> Result:
            return run_wrk(url, script, connections, duration)
    else:
        print("load generator: Python asyncio (wrk not found: apt-get install -y wrk); it competes with "
              "the services for the CPU, so figures are lower than with wrk", file=sys.stderr)

        def load(url: str, connections: int, duration: float) -> Result:
            return run_python(url, token, connections, duration)

    results: dict[int, dict[str, list[Result]]] = {}
    for connections in args.concurrency:
        results[connections] = {name: [] for name in targets}
        for base in targets.values():  # warm-up, not recorded
            load(base + path, connections, args.warmup)
        for round_ in range(args.rounds):
            for name, base in targets.items():
                before = meter.snapshot()
                result = load(base + path, connections, args.duration)
                after = meter.snapshot()
                if result.requests:
                    result = replace(result, cpu_ms={role: (after[role] - before[role]) * 1000 / result.requests
                                                     for role in after})
                if result.errors:
                    raise RuntimeError(f"{name} c={connections}: {result.errors} errors (non-2xx or socket)")
                results[connections][name].append(result)
                print(f"c={connections:<3} round {round_ + 1}/{args.rounds} {name:<22} {result.rps:9.1f} req/s  "
                      f"p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms", file=sys.stderr)
    return results


def table(results: dict[int, dict[str, list[Result]]], baseline: str = "direct") -> str:
    rows = ["| concurrency | target | req/s | p50 ms | p99 ms | gateway/direct req/s | added p50 ms |",
            "|---:|---|---:|---:|---:|---:|---:|"]
    for connections, by_target in results.items():
        base = by_target[baseline]
        for name, runs in by_target.items():
            rps = median([r.rps for r in runs])
            p50 = median([r.p50_ms for r in runs])
            p99 = median([r.p99_ms for r in runs])
            if name == baseline:
                ratio = added = "—"
            else:  # per round, against the direct run right before it
                ratio = f"{median([g.rps / d.rps for g, d in zip(runs, base, strict=True)]):.2f}"
                added = f"{median([g.p50_ms - d.p50_ms for g, d in zip(runs, base, strict=True)]):+.2f}"
            rows.append(f"| {connections} | {name} | {rps:,.0f} | {p50:.2f} | {p99:.2f} | {ratio} | {added} |")
    return "\n".join(rows)


def cpu_table(results: dict[int, dict[str, list[Result]]]) -> str:
    """Median CPU milliseconds per request, by process role (the load generator: when it is wrk)."""
    roles_seen = list(next(iter(next(iter(results.values())).values()))[0].cpu_ms)
    rows = ["| concurrency | target | " + " | ".join(roles_seen) + " | total |",
            "|---:|---|" + "---:|" * (len(roles_seen) + 1)]
    for connections, by_target in results.items():
        for name, runs in by_target.items():
            values = [median([r.cpu_ms.get(role, 0.0) for r in runs]) for role in roles_seen]
            rows.append(f"| {connections} | {name} | " + " | ".join(f"{v:.2f}" for v in values)
                        + f" | {sum(values):.2f} |")
    return "\n".join(rows)


def verdict(results: dict[int, dict[str, list[Result]]]) -> list[str]:
    lines = []
    if 1 in results:
        added = median([g.p50_ms - d.p50_ms for g, d in zip(results[1]["gateway"], results[1]["direct"],
                                                             strict=True)])
        lines.append(f"- p50 added by the gateway at concurrency 1: {added:+.2f} ms (target < 1 ms): "
                     + ("met" if added < 1 else "NOT met"))
    if 16 in results:
        ratio = median([g.rps / d.rps for g, d in zip(results[16]["gateway"], results[16]["direct"], strict=True)])
        lines.append(f"- gateway/direct throughput at concurrency 16: {ratio:.2f}x (target >= 0.6x): "
                     + ("met" if ratio >= 0.6 else "NOT met"))
    return lines


# --- HTTP servers and worker processes (--servers) -----------------------------------------------

INVOICE_BODY = {"customer": "Bench customer",
                "lines": [{"description": "Consulting", "quantity": "2", "unit_price": "100.00"}]}
ENDPOINTS = ("report", "create invoice")


def endpoint(name: str, company: str) -> tuple[str, str, object]:
    """(method, path, JSON body) of one measured endpoint."""
    if name == "report":
        return "GET", f"/api/v1/financial/reports/receivables-aging?company_id={company}", None
    return "POST", "/api/v1/financial/invoices", {**INVOICE_BODY, "company_id": company}


ServerRuns = dict[tuple[str, int], dict[tuple[str, int], list[Result]]]


def one_server(args: argparse.Namespace, server: str, workers: int, work: Path, runs: ServerRuns) -> None:
    """Start the platform (`server`, `workers` per service) on a fresh database; load each endpoint."""
    os.environ["BUILDIFY_HTTP_SERVER"], os.environ["BUILDIFY_HTTP_WORKERS"] = server, str(workers)
    name = f"bench_http_{uuid.uuid4().hex[:10]}"
    url = asyncio.run(create_database(args.database_url, name))
    data = work / name
    try:
        with running_platform(url, data, rate_limit=False) as platform:
            check_no_rate_limit(platform.core, data)
            token, company = prepare(platform.gateway, platform.financial, platform.admin_email,
                                     platform.admin_password, args.invoices)
            for what in ENDPOINTS:
                method, path, body = endpoint(what, company)
                script = data / f"{what.replace(' ', '_')}.lua"
                script.write_text(wrk_script(token, method, body))
                for connections in args.concurrency:
                    run_wrk(platform.gateway + path, script, connections, args.warmup)
                    result = run_wrk(platform.gateway + path, script, connections, args.duration)
                    if result.errors:
                        raise RuntimeError(f"{server} x{workers} {what} c={connections}: {result.errors} errors")
                    runs.setdefault((server, workers), {}).setdefault((what, connections), []).append(result)
                    print(f"{server:<8} x{workers} {what:<15} c={connections:<3} {result.rps:9.1f} req/s  "
                          f"p50 {result.p50_ms:7.2f} ms  p99 {result.p99_ms:7.2f} ms", file=sys.stderr)
    finally:
        asyncio.run(drop_database(args.database_url, name))


def compare_servers(args: argparse.Namespace) -> ServerRuns:
    """Every (server, workers) once per round, the order rotated by one each round."""
    if not shutil.which("wrk"):
        raise RuntimeError("--servers needs wrk (apt-get install -y wrk): it posts JSON bodies")
    os.environ["GATEWAY_MIDDLEWARES"] = "security-headers@file"
    configs = [(server, workers) for server in args.servers for workers in args.workers]
    runs: ServerRuns = {}
    with tempfile.TemporaryDirectory(prefix="bench_http_") as tmp:
        for round_ in range(args.rounds):
            shift = round_ % len(configs)
            for server, workers in configs[shift:] + configs[:shift]:
                one_server(args, server, workers, Path(tmp), runs)
    return runs


def servers_table(runs: ServerRuns) -> str:
    """Medians per endpoint and concurrency; req/s also as a ratio to the first configuration's."""
    first = next(iter(runs))
    rows = ["| endpoint | concurrency | server | workers per service | req/s | p50 ms | p99 ms "
            f"| req/s ÷ {first[0]} x{first[1]} | runs (req/s) |", "|---|---:|---|---:|---:|---:|---:|---:|---|"]
    for what, connections in runs[first]:
        base = median([r.rps for r in runs[first][(what, connections)]])
        for (server, workers), by_load in runs.items():
            got = by_load[(what, connections)]
            rps = median([r.rps for r in got])
            rows.append(f"| {what} | {connections} | {server} | {workers} | {rps:,.0f} "
                        f"| {median([r.p50_ms for r in got]):.2f} | {median([r.p99_ms for r in got]):.2f} "
                        f"| {rps / base:.2f} | {', '.join(f'{r.rps:,.0f}' for r in got)} |")
    return "\n".join(rows)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url",
                        default=os.environ.get("BUILDIFY_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
                        help="a PostgreSQL server; a fresh bench_http_<random> database is made on it and dropped")
    parser.add_argument("--duration", type=int, default=8, help="seconds per run (default 8)")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per target and concurrency")
    parser.add_argument("--rounds", type=int, default=5, help="direct/gateway pairs per concurrency (default 5)")
    parser.add_argument("--concurrency", default="1,16,64",
                        type=lambda s: [int(x) for x in s.split(",") if x.strip()],
                        help="comma-separated connection counts (default 1,16,64)")
    parser.add_argument("--invoices", type=int, default=5, help="invoices the listed company has (default 5)")
    parser.add_argument("--generator", choices=["auto", "wrk", "python"], default="auto",
                        help="wrk if installed (auto), or the Python asyncio generator")
    parser.add_argument("--extra-gateway", action="store_true",
                        help="also measure a second Traefik with --accessLog=false")
    parser.add_argument("--servers", default="", type=lambda s: [x for x in s.split(",") if x.strip()],
                        help="instead: compare these HTTP servers (uvicorn,granian) through the gateway")
    parser.add_argument("--workers", default="1,2", type=lambda s: [int(x) for x in s.split(",") if x.strip()],
                        help="with --servers: worker processes per service (default 1,2)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.servers:
        load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
        runs = compare_servers(args)
        print(f"\nThrough the gateway, medians of {args.rounds} rounds of {args.duration:g} s (load average "
              f"{load} before, {' / '.join(f'{v:.2f}' for v in os.getloadavg())} after), {args.invoices} invoices:\n")
        print(servers_table(runs))
        return 0
    name = f"bench_http_{uuid.uuid4().hex[:10]}"
    url = asyncio.run(create_database(args.database_url, name))
    # Module routers rendered by core carry GATEWAY_MIDDLEWARES; without this they keep the rate limit.
    os.environ["GATEWAY_MIDDLEWARES"] = "security-headers@file"
    extra: ExtraGateway | None = None
    try:
        with tempfile.TemporaryDirectory(prefix="bench_http_") as tmp:
            work = Path(tmp)
            started = time.monotonic()
            with running_platform(url, work / "platform", rate_limit=False) as platform:
                print(f"platform up in {time.monotonic() - started:.1f} s", file=sys.stderr)
                check_no_rate_limit(platform.core, work / "platform")
                token, company = prepare(platform.gateway, platform.financial, platform.admin_email,
                                         platform.admin_password, args.invoices)
                targets = {"direct": platform.financial, "gateway": platform.gateway}
                if args.extra_gateway:
                    extra = ExtraGateway(platform.financial, work)
                    targets["gateway-no-access-log"] = extra.url
                meter = CpuMeter(roles(platform.pids(), platform.process.pid,
                                       extra.process.pid if extra else None))
                try:
                    results = bench(args, targets, token, company, work, meter)
                finally:
                    if extra:
                        extra.close()
    finally:
        asyncio.run(drop_database(args.database_url, name))
    print(f"\nGET /api/v1/financial/invoices?company_id=... ({args.invoices} invoices), "
          f"medians of {args.rounds} rounds of {args.duration:g} s, alternating {' / '.join(targets)}\n")
    print(table(results))
    print("\nCPU milliseconds per request, by process (medians; the load generator's own CPU is wrk's "
          "or, for the Python generator, not counted):\n")
    print(cpu_table(results))
    print()
    print("\n".join(verdict(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
