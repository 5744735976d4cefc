"""A healthy start says so and nothing else: no error line a person would have to investigate."""

import re
from pathlib import Path

import pytest

from tests.e2e.platform import running_platform

pytestmark = pytest.mark.slow

# Python's errors and tracebacks, asyncio's "Future exception was never retrieved", Traefik's ERR and WRN.
TROUBLE = re.compile(r"\b(ERROR|ERR|WRN|CRITICAL|FATAL)\b|Traceback|never retrieved|exception", re.IGNORECASE)


def test_a_clean_start_logs_no_error(database_url: str, tmp_path: Path) -> None:
    with running_platform(database_url, tmp_path / "platform") as platform:
        log = platform.log.read_text()
    started = log[: log.index("Buildify is up")]
    trouble = [line for line in started.splitlines() if TROUBLE.search(line)]
    assert not trouble, "a healthy start logged:\n" + "\n".join(trouble)
