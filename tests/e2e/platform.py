"""Start the whole platform as `make run` does (real processes, free ports) for end-to-end tests."""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.waiting import wait_until_sync

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class RunningPlatform:
    gateway: str
    core: str
    financial: str
    admin_email: str
    admin_password: str
    platform_admin_password: str
    process: subprocess.Popen[str]
    log: Path
    env: Mapping[str, str] = field(default_factory=dict)  # what `running_platform` added for every service

    def pids(self) -> set[int]:
        """The runner and every process it started (children and their process groups)."""
        out = subprocess.run(["ps", "-eo", "pid=,pgid=,ppid="], capture_output=True, text=True).stdout
        rows = [tuple(int(x) for x in line.split()) for line in out.splitlines() if line.strip()]
        family = {self.process.pid}
        changed = True
        while changed:
            changed = False
            for pid, pgid, ppid in rows:
                if pid not in family and (ppid in family or pgid in family):
                    family.add(pid)
                    changed = True
        return family


@contextmanager
def running_platform(database_url: str, data_dir: Path, *, rate_limit: bool = True, timeout: float = 120.0,
                     root: Path = ROOT, env: Mapping[str, str] | None = None) -> Iterator[RunningPlatform]:
    """Run `python -m services.runtime.dev` on free ports against `database_url`; stop it with SIGINT.
    `root`: the tree to run (a copy with a scaffolded module in it, say); this repository by default.
    `env`: variables for every service over this process's (`BUS_TRANSPORT=rabbitmq`, say)."""
    ports = {name: free_port() for name in ("gateway", "core", "financial", "warehouse", "admin")}
    log = data_dir / "platform.log"
    command = [
        sys.executable, "-m", "services.runtime.dev",
        "--database-url", database_url, "--data-dir", str(data_dir),
        "--gateway-port", str(ports["gateway"]), "--core-port", str(ports["core"]),
        "--financial-port", str(ports["financial"]), "--warehouse-port", str(ports["warehouse"]),
        "--admin-port", str(ports["admin"]), "--startup-timeout", str(timeout),
    ]
    if not rate_limit:
        command.append("--no-rate-limit")
    data_dir.mkdir(parents=True, exist_ok=True)
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=root, stdout=out, stderr=subprocess.STDOUT, text=True,
                                   env={**os.environ, **(env or {}), "PYTHONUNBUFFERED": "1"})
    try:

        def up_or_exited() -> bool:
            return "Buildify is up" in log.read_text() or process.poll() is not None

        with contextlib.suppress(AssertionError):  # a timeout is reported below, with the log
            wait_until_sync(up_or_exited, timeout=timeout, interval=0.2, what="the platform starting")
        if "Buildify is up" not in log.read_text():
            raise RuntimeError(f"the platform did not start:\n{log.read_text()[-4000:]}")
        secrets = json.loads((data_dir / "secrets.json").read_text())
        yield RunningPlatform(
            gateway=f"http://127.0.0.1:{ports['gateway']}",
            core=f"http://127.0.0.1:{ports['core']}",
            financial=f"http://127.0.0.1:{ports['financial']}",
            admin_email="admin@acme.example",
            admin_password=secrets["admin_password"],
            platform_admin_password=secrets["platform_password"],
            process=process,
            log=log,
            env=dict(env or {}),
        )
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def login(http: httpx.Client, platform: RunningPlatform) -> dict[str, str]:
    """Log in as the demo admin through `http`; the bearer header."""
    answer = http.post("/api/v1/auth/login", json={"email": platform.admin_email, "password": platform.admin_password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}
