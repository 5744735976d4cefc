"""Embedded PostgreSQL (pgserver) for machines with nothing running: `make run`, the demo, tests.

pgserver ships PostgreSQL 16 in a wheel. It listens on a Unix socket only, so the URL names
the socket directory. The server is left running (cleanup_mode=None) because several
processes share it; `stop()` ends it.
"""

import os
import subprocess
from pathlib import Path

DEFAULT_DIR = Path(".buildify") / "pg"


def _prepare_runtime_dir(base: Path) -> None:
    # pgserver's lock otherwise falls back to a machine-wide folder shared by every user.
    runtime = base.parent / "run"
    runtime.mkdir(parents=True, exist_ok=True)
    runtime.chmod(0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime.resolve()))


def start(data_dir: Path = DEFAULT_DIR) -> str:
    """Start (or reuse) the embedded server in `data_dir`; returns a postgresql:// URL."""
    data_dir = data_dir.resolve()
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    _prepare_runtime_dir(data_dir)
    import pgserver  # after XDG_RUNTIME_DIR is set: platformdirs reads it at import

    server = pgserver.get_server(data_dir, cleanup_mode=None)  # type: ignore[attr-defined]
    info = server.get_postmaster_info()
    return f"postgresql://postgres@/postgres?host={info.socket_dir}&port={info.port}"


def stop(data_dir: Path = DEFAULT_DIR) -> None:
    """Stop the embedded server in `data_dir` if it runs."""
    data_dir = data_dir.resolve()
    _prepare_runtime_dir(data_dir)
    from pgserver._commands import POSTGRES_BIN_PATH

    if not (data_dir / "postmaster.pid").exists():
        return
    pg_ctl = [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w", "stop"]
    if os.geteuid() == 0:
        pg_ctl = ["runuser", "-u", "pgserver", "--", *pg_ctl]
    subprocess.run(pg_ctl, check=False, capture_output=True)
