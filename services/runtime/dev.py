"""`buildify dev` / `make run`: the whole platform on one machine, behind one address.

Starts PostgreSQL (embedded unless a URL is given), migrates, starts core, the modules and
Traefik, registers the modules from their manifests, loads the demo tenant, waits until every
health check is green and prints where everything is. Ctrl-C stops every process it started.
A second run reuses the data (and the generated secrets) in the data directory.
"""

import asyncio
import json
import os
import secrets
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from broker import embedded
from contracts.auth import secret_problem
from services.runtime.dburl import database_of, with_database
from services.runtime.gateway import (
    SHARED_MIDDLEWARES,
    GatewayPorts,
    dynamic_config,
    module_ports,
    traefik_command,
    write_dynamic_config,
)
from services.runtime.migrations import migrate_all
from services.runtime.paths import ROOT, SERVICES
from services.runtime.processes import Child, say
from services.runtime.servers import server_command

DEMO_TENANT = {"name": "Acme", "slug": "acme"}
DEMO_COMPANY = "Acme GmbH"
DEMO_TENANT_CONFIG = {"currency": "EUR", "tax_rate": 0.20}
DEMO_COMPANY_CONFIG = {"tax_rate": 0.19, "invoice_prefix": "DE-INV"}
# The seed's warehouse example: tenant defaults, and the German subsidiary reserving in its own warehouse.
DEMO_WAREHOUSE_TENANT_CONFIG = {"allow_negative_stock": False, "default_warehouse": "MAIN"}
DEMO_WAREHOUSE_COMPANY_CONFIG = {"default_warehouse": "BERLIN"}
PLATFORM_ADMIN = "platform@buildify.local"
DEMO_ADMIN = "admin@acme.example"


@dataclass
class DevOptions:
    """Ports and places; every default can be changed on the command line."""

    gateway_port: int = 8080
    admin_port: int = 9080
    core_port: int = 8000
    module_ports: dict[str, int] = field(default_factory=lambda: module_ports(SERVICES))
    database_url: str | None = None
    data_dir: Path = ROOT / ".buildify"
    rate_limit: bool = True
    demo: bool = True
    startup_timeout: float = 90.0
    http_server: str = "uvicorn"  # services/runtime/servers.py
    http_workers: int = 1


@dataclass
class Secrets:
    """Generated on the first run, kept in the data directory, reused afterwards."""

    gateway_key: str
    module_keys: dict[str, str]
    platform_password: str
    admin_password: str

    @classmethod
    def load(cls, data_dir: Path, modules: list[str]) -> "Secrets":
        path = data_dir / "secrets.json"
        stored: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
        keys = {n: k for n, k in stored.get("module_keys", {}).items() if not secret_problem(n, k)}
        for name in modules:
            keys.setdefault(name, secrets.token_urlsafe(32))

        def strong(key: str) -> str:  # older runs stored shorter keys, which services now refuse
            value = stored.get(key) or ""
            return value if not secret_problem(key, value) else secrets.token_urlsafe(32)

        value = cls(
            gateway_key=strong("gateway_key"),
            module_keys=keys,
            platform_password=stored.get("platform_password") or secrets.token_urlsafe(12),
            admin_password=stored.get("admin_password") or secrets.token_urlsafe(12),
        )
        data_dir.mkdir(parents=True, exist_ok=True)
        # created 0600 before anything is written (never readable by others, not even for a moment)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.fchmod(fd, 0o600)  # a file from an older run may have other bits
        with os.fdopen(fd, "w") as out:
            out.write(json.dumps(value.__dict__, indent=2))
        return value


def signing_key_file(data_dir: Path) -> Path:
    """Core's Ed25519 signing key, generated on the first run and kept (0600) in the data directory.

    Only core is given its path; modules verify with the public half from core's JWKS."""
    path = data_dir / "jwt-signing-key.pem"
    if path.exists():
        os.chmod(path, 0o600)
        return path
    data_dir.mkdir(parents=True, exist_ok=True)
    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # never readable by others, not for a moment
    with os.fdopen(fd, "wb") as out:
        out.write(pem)
    return path


def module_names() -> list[str]:
    """Modules present in the tree: a folder with a manifest and an app."""
    return sorted(
        p.parent.name for p in SERVICES.glob("*/manifest.json") if (p.parent / "app" / "main.py").exists()
    )


async def prepare_database(options: DevOptions) -> tuple[str, bool]:
    """The platform database URL (created and migrated) and whether we started the server."""
    started = False
    if options.database_url:
        url = options.database_url
    else:
        server = os.environ.get("DATABASE_URL")
        if not server:
            server = embedded.start(options.data_dir / "pg")
            started = True
        url = with_database(server, "buildify") if database_of(server) == "postgres" else server
    name = database_of(url)
    admin = await asyncpg.connect(with_database(url, "postgres"))
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    await migrate_all(url)
    return url, started


def python_service(name: str, port: int, env: dict[str, str], options: DevOptions) -> Child:
    command = server_command(f"services.{name}.app.main:create_app", port, server=options.http_server,
                             workers=options.http_workers)
    return Child(name, command, env)


async def wait_until(url: str, timeout: float, *, expect: int = 200, expect_any: bool = False) -> None:
    """Poll `url` until it answers `expect` (or anything at all, with `expect_any`)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    async with httpx.AsyncClient(timeout=2.0) as client:
        while time.monotonic() < deadline:
            try:
                response = await client.get(url)
                if response.status_code == expect or expect_any:
                    return
                last = f"{response.status_code} {response.text[:200]}"
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}"
            await asyncio.sleep(0.2)
    raise TimeoutError(f"{url} did not answer {expect} within {timeout:.0f} s (last: {last})")


class CoreClient:
    """Just enough of core's API to register modules and load the demo tenant."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=10.0)

    async def login(self, email: str, password: str) -> None:
        response = await self.http.post("/api/v1/auth/login", json={"email": email, "password": password})
        response.raise_for_status()
        self.http.headers["Authorization"] = f"Bearer {response.json()['access_token']}"

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        response = await self.http.request(method, path, json=body)
        if response.status_code >= 400:
            raise RuntimeError(f"{method} {path} answered {response.status_code}: {response.text[:300]}")
        return response.json() if response.content else None

    async def close(self) -> None:
        await self.http.aclose()


async def ensure_platform_admin(url: str, password: str) -> None:
    from services.core.app.admin import create_superuser

    conn = await asyncpg.connect(url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM users WHERE email = $1", PLATFORM_ADMIN)
    finally:
        await conn.close()
    if not exists:
        await create_superuser(url, PLATFORM_ADMIN, password)


async def bootstrap(core: CoreClient, modules: list[str], secret: Secrets, demo: bool) -> dict[str, str]:
    """Register every module's manifest; create the demo tenant once. Returns the demo's ids."""
    await core.login(PLATFORM_ADMIN, secret.platform_password)
    for name in modules:
        manifest = json.loads((SERVICES / name / "manifest.json").read_text())
        await core.call("POST", "/api/v1/modules", manifest)
    if not demo:
        return {}
    tenants = await core.call("GET", "/api/v1/tenants")
    items = tenants["items"] if isinstance(tenants, dict) else tenants
    tenant = next((t for t in items if t["slug"] == DEMO_TENANT["slug"]), None)
    if tenant is None:
        tenant = await core.call("POST", "/api/v1/tenants", DEMO_TENANT)
    companies = await core.call("GET", f"/api/v1/companies?tenant_id={tenant['id']}")
    items = companies["items"] if isinstance(companies, dict) else companies
    company = next((c for c in items if c["name"] == DEMO_COMPANY), None)
    if company is None:
        company = await core.call("POST", "/api/v1/companies", {"name": DEMO_COMPANY, "tenant_id": tenant["id"]})
    if "financial" in modules:
        await core.call("PUT", f"/api/v1/tenants/{tenant['id']}/modules/financial",
                        {"is_enabled": True, "configuration": DEMO_TENANT_CONFIG})
        await core.call("PUT", f"/api/v1/companies/{company['id']}/modules/financial",
                        {"is_enabled": True, "configuration": DEMO_COMPANY_CONFIG})
    if "warehouse" in modules:
        await core.call("PUT", f"/api/v1/tenants/{tenant['id']}/modules/warehouse",
                        {"is_enabled": True, "configuration": DEMO_WAREHOUSE_TENANT_CONFIG})
        await core.call("PUT", f"/api/v1/companies/{company['id']}/modules/warehouse",
                        {"is_enabled": True, "configuration": DEMO_WAREHOUSE_COMPANY_CONFIG})
    for name in modules:
        if name not in ("financial", "warehouse"):
            await core.call("PUT", f"/api/v1/tenants/{tenant['id']}/modules/{name}",
                            {"is_enabled": True, "configuration": {}})
    users = await core.call("GET", "/api/v1/users")
    items = users["items"] if isinstance(users, dict) else users
    if not any(u["email"] == DEMO_ADMIN for u in items):
        await core.call("POST", "/api/v1/users", {
            "email": DEMO_ADMIN, "password": secret.admin_password, "tenant_id": tenant["id"],
            "company_ids": [company["id"]], "roles": [], "tenant_admin": True,
        })
    return {"tenant_id": tenant["id"], "company_id": company["id"]}


class Platform:
    """The running platform: children in start order, stopped in reverse."""

    def __init__(self, options: DevOptions) -> None:
        self.options = options
        self.children: list[Child] = []
        self.started_database = False

    def ports(self) -> GatewayPorts:
        return GatewayPorts(gateway=self.options.gateway_port, admin=self.options.admin_port,
                            core=self.options.core_port)

    async def start(self) -> dict[str, Any]:
        options = self.options
        modules = module_names()
        options.module_ports = {**module_ports(SERVICES), **options.module_ports}  # a new module: its manifest port
        secret = Secrets.load(options.data_dir, modules)
        say("dev", "preparing the database")
        url, self.started_database = await prepare_database(options)
        await ensure_platform_admin(url, secret.platform_password)
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("JWT_")}
        base_env.update({"PYTHONUNBUFFERED": "1", "DATABASE_URL": url})
        core_url = f"http://127.0.0.1:{options.core_port}"
        upstreams = {name: f"http://127.0.0.1:{options.module_ports[name]}" for name in modules}
        core_env = {
            **base_env,
            "JWT_PRIVATE_KEY_FILE": str(signing_key_file(options.data_dir)),  # core alone can sign
            "MODULE_API_KEYS": ",".join(f"{n}={k}" for n, k in secret.module_keys.items()),
            "MODULE_UPSTREAMS": ",".join(f"{n}={u}" for n, u in upstreams.items()),
            "GATEWAY_CONFIG_KEY": secret.gateway_key,
            # module routers use the same middlewares as core's (no rate limit for gateway benchmarks)
            "GATEWAY_MIDDLEWARES": ",".join(SHARED_MIDDLEWARES if options.rate_limit else SHARED_MIDDLEWARES[:1]),
            "BUS_CALLBACKS": "true",
        }
        self._spawn(python_service("core", options.core_port, core_env, options))
        for name in modules:
            env = {**base_env, "CORE_URL": core_url, "MODULE_API_KEY": secret.module_keys[name],
                   "JWKS_URL": f"{core_url}/api/v1/auth/jwks",
                   "DATABASE_STRATEGY": "shared"}
            self._spawn(python_service(name, options.module_ports[name], env, options))
        timeout = options.startup_timeout
        await wait_until(f"{core_url}/health", timeout, expect_any=True)
        # Traefik after core answers: its HTTP provider polls core at once.
        dynamic = options.data_dir / "traefik" / "dynamic.yaml"
        write_dynamic_config(dynamic, dynamic_config(self.ports(), rate_limit=options.rate_limit))
        self._spawn(Child("gateway", traefik_command(self.ports(), dynamic, gateway_key=secret.gateway_key),
                          dict(os.environ)))
        await wait_until(f"{core_url}/health", timeout)
        for name in modules:
            await wait_until(f"{upstreams[name]}/health", timeout)
        core = CoreClient(core_url)
        try:
            ids = await bootstrap(core, modules, secret, options.demo)
        finally:
            await core.close()
        gateway = f"http://127.0.0.1:{options.gateway_port}"
        await wait_until(f"http://127.0.0.1:{options.admin_port}/ping", timeout)
        await wait_until(f"{gateway}/health", timeout)
        for name in modules:  # routed through the registry once Traefik polled core
            await wait_until(f"{gateway}/health/{name}", timeout)
        return {"gateway": gateway, "core": core_url, "upstreams": upstreams, "database_url": url,
                "secrets": secret, **ids}

    def _spawn(self, child: Child) -> None:
        child.start()
        self.children.append(child)

    def crashed(self) -> Child | None:
        return next((c for c in self.children if not c.running), None)

    def stop(self) -> None:
        for child in reversed(self.children):
            child.stop()
        if self.started_database:
            embedded.stop(self.options.data_dir / "pg")


def banner(info: dict[str, Any], modules: list[str]) -> None:
    secret: Secrets = info["secrets"]
    gateway = info["gateway"]
    lines = [
        "",
        f"Buildify is up: {gateway}/",
        f"  core API docs      {info['core']}/schema   (through the gateway: {gateway}/api/v1/...)",
    ]
    for name in modules:
        docs = f"{info['upstreams'][name]}/schema"
        lines.append(f"  {name + ' API docs':<18} {docs}   (gateway: {gateway}/api/v1/{name}/...)")
    lines += [
        f"  health             {gateway}/health",
        f"  log in as          {DEMO_ADMIN} / {secret.admin_password}   (tenant Acme, company Acme GmbH)",
        f"  platform admin     {PLATFORM_ADMIN} / {secret.platform_password}",
        f"  database           {info['database_url']}",
        "Ctrl-C stops everything.",
    ]
    for line in lines:
        say("dev", line)


def run(options: DevOptions) -> int:
    """Start the platform and keep it up until Ctrl-C (or SIGTERM) or a child dies."""
    platform = Platform(options)
    stopping = False

    def request_stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    code = 0
    try:
        info = asyncio.run(platform.start())
        banner(info, module_names())
        while not stopping:
            crashed = platform.crashed()
            if crashed is not None:
                say("dev", f"{crashed.name} exited with {crashed.process.returncode if crashed.process else '?'}")
                code = 1
                break
            time.sleep(0.2)
    except Exception as exc:
        if not stopping:
            say("dev", f"could not start the platform: {exc}")
            code = 1
    finally:
        say("dev", "stopping")
        platform.stop()
    return code


if __name__ == "__main__":
    from services.runtime.cli import main

    main()
