"""Hygiene (issue 11, finding 13): secrets never readable by others, never on a command line or in --help."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from services.runtime import dev
from services.runtime.gateway import GatewayPorts, traefik_command

pytestmark = pytest.mark.security


def test_secrets_json_is_never_readable_by_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Even when the process dies between writing and a chmod (here: no chmod ever happens)."""
    monkeypatch.setattr(Path, "chmod", lambda *_a, **_k: None)
    monkeypatch.setattr(os, "chmod", lambda *_a, **_k: None)
    old = os.umask(0)
    try:
        dev.Secrets.load(tmp_path, ["financial"])
    finally:
        os.umask(old)
    mode = stat.S_IMODE((tmp_path / "secrets.json").stat().st_mode)
    assert mode == 0o600, oct(mode)


def test_short_secrets_of_older_runs_are_replaced(tmp_path: Path) -> None:
    (tmp_path / "secrets.json").write_text('{"jwt_secret": "short", "gateway_key": "tiny", "module_keys": '
                                           '{"financial": "fin-key"}}')
    loaded = dev.Secrets.load(tmp_path, ["financial"])
    assert len(loaded.gateway_key) >= 32
    assert "jwt_secret" not in (tmp_path / "secrets.json").read_text()  # no shared token secret any more
    assert len(loaded.module_keys["financial"]) >= 32


def test_the_gateway_key_is_not_on_traefik_s_command_line(tmp_path: Path) -> None:
    key = "k" * 40
    command = traefik_command(GatewayPorts(), tmp_path / "dynamic.yaml", gateway_key=key)
    assert not any(key in part for part in command)
    (config,) = [Path(p.split("=", 1)[1]) for p in command if p.startswith("--configFile=")]
    assert key in config.read_text()
    assert stat.S_IMODE(config.stat().st_mode) == 0o600


def test_create_superuser_help_does_not_print_the_database_password() -> None:
    """A fresh process, as an operator runs it, with the password in its environment."""
    env = {**os.environ, "DATABASE_URL": "postgresql://buildify:hunter2-s3cret@db:5432/buildify", "COLUMNS": "200"}
    result = subprocess.run([sys.executable, "-c", "from services.cli import app; app()", "admin",
                             "create-superuser", "--help"], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "hunter2" not in result.stdout + result.stderr
    assert "DATABASE_URL" in result.stdout


def test_make_run_keeps_one_signing_key_readable_by_its_owner_only(tmp_path: Path) -> None:
    """Finding 6: core's private key is generated once (0600, even under umask 0) and reused on every run."""
    old = os.umask(0)
    try:
        path = dev.signing_key_file(tmp_path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in path.read_bytes()
    first = path.read_bytes()
    assert dev.signing_key_file(tmp_path).read_bytes() == first
