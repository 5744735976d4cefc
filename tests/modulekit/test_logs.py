"""Logs on a terminal are readable, and a traceback never prints the local variables of the
frames it passes through (they hold passwords, tokens and personal data)."""

import io
import re
from collections.abc import Iterator
from contextlib import redirect_stdout

import pytest
import structlog

from modulekit.logs import configure

pytestmark = pytest.mark.security


@pytest.fixture
def restore_logging() -> Iterator[None]:
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def test_a_terminal_traceback_shows_the_error_but_not_local_variables(restore_logging: None) -> None:
    configure("t", json=False)
    out = io.StringIO()
    with redirect_stdout(out):
        log = structlog.get_logger("t")

        def sign_in(password: str) -> None:
            token = "tok-" + password  # noqa: F841 - a local that must never reach the log
            raise ValueError("the account is locked")

        try:
            sign_in("h" + "unter2-correct-horse")  # split so the source line shown does not contain it
        except ValueError:
            log.exception("sign-in failed")
    text = re.sub(r"\x1b\[[0-9;]*m", "", out.getvalue())  # the traceback is coloured
    assert "sign-in failed" in text and "ValueError: the account is locked" in text
    assert "hunter2" not in text
