"""Child processes of `buildify dev`, each with its output prefixed by its name.

Every child gets its own process group, so stopping one stops what it started too, and
Ctrl-C in the terminal reaches `buildify dev` first, which then stops them in order.
"""

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import IO

COLOURS = {"core": "36", "financial": "32", "warehouse": "33", "gateway": "35", "dev": "1"}


def say(name: str, line: str) -> None:
    """Print one line, prefixed by the service it comes from."""
    colour = COLOURS.get(name, "0")
    prefix = f"\033[{colour}m{name:>9}\033[0m |" if sys.stdout.isatty() else f"{name:>9} |"
    print(f"{prefix} {line}", flush=True)


@dataclass
class Child:
    name: str
    command: list[str]
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    _pump: threading.Thread | None = field(default=None, repr=False)

    def start(self) -> None:
        self.process = subprocess.Popen(
            self.command,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        assert self.process.stdout is not None
        self._pump = threading.Thread(target=self._forward, args=(self.process.stdout,), daemon=True)
        self._pump.start()

    def _forward(self, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            say(self.name, raw.decode(errors="replace").rstrip())

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the child's process group, then SIGKILL what is left after `timeout`."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            time.sleep(0.05)
        if self.process.poll() is None:
            say("dev", f"{self.name} did not stop in {timeout:.0f} s; killing it")
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
