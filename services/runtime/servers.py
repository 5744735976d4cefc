"""The command that serves one service's ASGI app: which HTTP server, how many worker processes.

`buildify dev` (and `make run`) start every Python service with `server_command`. The default,
one uvicorn process per service, was chosen by `bench/http.py --servers` (docs/benchmarks.md,
"HTTP servers and worker processes"); `--http-server granian` (bench extra: `pip install granian`)
and `--http-workers N` are there to re-measure on other machines, and for a host with more cores.
With N > 1 each worker process runs its own event bus: workers compete for deliveries
(`FOR UPDATE SKIP LOCKED`) and one relay at a time takes the outbox (advisory lock).
"""

import importlib.util
import sys

HTTP_SERVERS = ("uvicorn", "granian")


def server_command(app: str, port: int, *, server: str = "uvicorn", workers: int = 1) -> list[str]:
    """argv serving the factory `app` ("package.module:function") on 127.0.0.1:`port`, access log off."""
    if workers < 1:
        raise ValueError(f"http workers must be at least 1, not {workers}")
    more = ["--workers", str(workers)] if workers > 1 else []  # one: the server's single-process mode
    if server == "uvicorn":
        return [sys.executable, "-m", "uvicorn", app, "--factory", "--host", "127.0.0.1", "--port", str(port),
                "--log-level", "warning", "--no-access-log", *more]
    if server == "granian":
        if importlib.util.find_spec("granian") is None:
            raise RuntimeError("--http-server granian: granian is not installed (pip install -e '.[bench]')")
        return [sys.executable, "-m", "granian", "--interface", "asgi", "--factory", "--host", "127.0.0.1",
                "--port", str(port), "--log-level", "warning", "--no-access-log", *more, app]
    raise ValueError(f"unknown http server {server!r}; one of {', '.join(HTTP_SERVERS)}")
