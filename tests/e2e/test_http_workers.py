"""`buildify dev --http-workers 2`: every service is served by two worker processes, and the platform
works through the gateway as with one (the bus of each worker process competes for deliveries)."""

from pathlib import Path

import httpx
import pytest

from tests.e2e.platform import login, running_platform
from tests.waiting import wait_until_sync

pytestmark = pytest.mark.slow


def parent_of(pid: int) -> int:
    """The parent process id (0 once the process is gone)."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return 0


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def test_two_worker_processes_per_service_serve_through_the_gateway(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BUILDIFY_HTTP_WORKERS", "2")  # what `buildify dev --http-workers 2` sets
    with running_platform(database_url, tmp_path / "platform") as platform:
        family = platform.pids()
        server = next(p for p in family if "uvicorn services.financial" in command_line(p))
        workers = [p for p in family if parent_of(p) == server and "spawn_main" in command_line(p)]
        assert len(workers) == 2, "financial should run two worker processes"  # (and a resource tracker)

        with httpx.Client(base_url=platform.gateway, timeout=10) as http:
            auth = login(http, platform)
            tenant = http.get("/api/v1/me", headers=auth).json()["tenant"]["id"]
            created = http.post("/api/v1/companies", json={"name": "Acme Two Workers", "tenant_id": tenant},
                                headers=auth)
            assert created.status_code == 201, created.text
            company = created.json()["id"]
            auth = login(http, platform)  # a token that knows the new company

            def chart() -> list[dict[str, str]] | None:  # made by financial's handler of core's event
                r = http.get("/api/v1/financial/accounts", params={"company_id": company}, headers=auth)
                return r.json() if r.status_code == 200 and r.json() else None

            accounts = wait_until_sync(chart, timeout=30, interval=0.2, what="the new company's accounts")
            assert len({a["code"] for a in accounts}) == len(accounts)  # made once, not once per worker

    wait_until_sync(lambda: not [p for p in family if Path(f"/proc/{p}").exists()], timeout=10,
                    what="every process of the platform, workers included, ended")
