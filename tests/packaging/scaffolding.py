"""A module scaffolded by `buildify module new` into a copy of the tree, and ways to run its tests."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from services.runtime.scaffold import scaffold

ROOT = Path(__file__).resolve().parents[2]
# What a module and its tests need of the monorepo (a copy, so the real services/ stays untouched).
TREE = ["broker", "contracts", "modulekit", "services", "pyproject.toml"]
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", ".buildify")


def copy_of_the_tree(into: Path) -> Path:
    into.mkdir(parents=True)
    for name in TREE:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, into / name, ignore=IGNORE)
        else:
            shutil.copy2(source, into / name)
    return into


def scaffolded(into: Path, name: str) -> Path:
    """A copy of the tree with services/<name>/ scaffolded in it; returns the copy's root."""
    tree = copy_of_the_tree(into)
    scaffold(name, tree / "services")
    return tree


def run_pytest(python: Path | str, where: Path, server_url: str, *args: str,
               pythonpath: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["BUILDIFY_TEST_DATABASE_URL"] = server_url
    if pythonpath is not None:
        env["PYTHONPATH"] = str(pythonpath)
    command = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning", *args]
    return subprocess.run(command, cwd=where, env=env, capture_output=True, text=True, timeout=600)


def current_python() -> str:
    return sys.executable
