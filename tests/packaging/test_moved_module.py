"""A module moved out of the tree: its folder alone in an empty directory, the platform's wheels
(buildify-contracts, -broker, -modulekit) and the module installed into a fresh virtualenv,
and the module's own tests run there. Nothing of the monorepo is on the path."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.packaging.scaffolding import IGNORE, ROOT, run_pytest, scaffolded

pytestmark = [pytest.mark.slow, pytest.mark.packaging, pytest.mark.timeout(900)]

WHEELS = ["contracts", "broker", "modulekit"]


def pip(python: Path, *args: str) -> None:
    result = subprocess.run([str(python), "-m", "pip", "--disable-pip-version-check", *args],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_a_module_moved_to_its_own_folder_runs_its_tests_on_the_wheels(tmp_path: Path, pg_server_url: str) -> None:
    tree = scaffolded(tmp_path / "tree", "inventory")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    shutil.copytree(tree / "services" / "inventory", elsewhere / "inventory", ignore=IGNORE)

    wheels = tmp_path / "wheels"
    pip(Path(sys.executable), "wheel", "-q", "--no-deps", "-w", str(wheels),
        *(str(ROOT / "packages" / w) for w in WHEELS))
    built = sorted(p.name for p in wheels.glob("*.whl"))
    assert [w.split("-")[0] for w in built] == ["buildify_broker", "buildify_contracts", "buildify_modulekit"]

    subprocess.run([sys.executable, "-m", "venv", str(tmp_path / "venv")], check=True, timeout=120)
    python = tmp_path / "venv" / "bin" / "python"
    pip(python, "install", "-q", "--find-links", str(wheels), f"{elsewhere / 'inventory'}[test]")

    # the module and the kit come from the venv, not from this repository
    where = subprocess.run([str(python), "-c", "import modulekit, services.inventory.app.main as m; "
                            "print(modulekit.__file__); print(m.__file__)"],
                           cwd=elsewhere, capture_output=True, text=True, timeout=60)
    assert where.returncode == 0, where.stderr
    assert all(str(tmp_path / "venv") in line for line in where.stdout.split()), where.stdout

    result = run_pytest(python, elsewhere / "inventory", pg_server_url)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "4 passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-2000:]
