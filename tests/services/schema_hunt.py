"""Schemathesis against a service's OpenAPI document (issue 11, hostile suite), shared by every service:
serve the app on a real port, send generated requests as each caller, collect every 5xx or off-schema answer."""

import socket
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import uvicorn

from tests.waiting import wait_until_sync

EXAMPLES = 25  # per operation and caller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def served(app: Any, what: str) -> Iterator[str]:
    """`app` on a real port in its own thread and loop; yields its base URL and stops it after."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_until_sync(lambda: server.started, timeout=30, what=f"{what} started")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def hunt(url: str, callers: Sequence[Mapping[str, str]], *, skip: tuple[str, ...] = ()) -> tuple[int, list[str]]:
    """Every operation's generated cases sent as each caller: (requests sent, failures found).

    Operations whose path starts with one of `skip` are left out.
    """
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    schema = schemathesis.openapi.from_url(f"{url}/schema/openapi.json")
    failures: list[str] = []
    runs = 0
    for result in schema.get_all_operations():
        op = result.ok()
        if op.path.startswith(skip):
            continue

        @given(case=op.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,  # same cases every run
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            nonlocal runs
            for caller in callers:
                runs += 1
                response = case.call(base_url=url, headers=dict(caller), timeout=30)
                try:
                    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
                except (Exception, BaseExceptionGroup) as exc:  # schemathesis' FailureGroup lists every failed check
                    failures.append(f"{case.method} {case.formatted_path} -> {response.status_code}: "
                                    f"{str(exc)[:400]}")

        run()
    return runs, failures
