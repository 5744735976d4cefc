"""`buildify module new`: a module on the kit whose own tests pass right after scaffolding,
and clear refusals for names and ports that cannot work."""

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.cli import app
from services.runtime.scaffold import ScaffoldError, scaffold
from tests.packaging.scaffolding import ROOT, copy_of_the_tree, current_python, run_pytest, scaffolded

pytestmark = pytest.mark.slow


def test_a_scaffolded_module_passes_its_own_tests_and_the_linters(tmp_path: Path, pg_server_url: str) -> None:
    tree = scaffolded(tmp_path / "tree", "inventory")
    module = tree / "services" / "inventory"
    manifest = json.loads((module / "manifest.json").read_text())
    assert manifest["backend"] == {"type": "microservice", "api_prefix": "/api/v1/inventory", "port": 8003,
                                   "health_path": "/health"}
    assert manifest["database"] == {"strategy": "shared", "schema_prefix": "inventory_"}
    assert manifest["events"]["publishes"] == ["inventory.item.created"]
    assert "core.company.created" in manifest["events"]["consumes"]
    assert {p["name"] for p in manifest["permissions"]} == {"inventory.items.read", "inventory.items.write"}
    assert manifest["config_schema"]["properties"]["first_item_name"]["default"] == "Welcome"
    for part in ("app/main.py", "app/settings.py", "app/config.py", "app/migrations/0001_initial.sql",
                 "app/items.py", "app/handlers.py", "frontend/module.js", "Dockerfile", "README.md", "tests"):
        assert (module / part).exists(), f"the scaffold has no {part}"
    assert "init(ctx)" in (module / "frontend" / "module.js").read_text()
    assert "cleanup()" in (module / "frontend" / "module.js").read_text()

    result = run_pytest(current_python(), tree, pg_server_url, "services/inventory/tests", pythonpath=tree)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "4 passed" in result.stdout and "skipped" not in result.stdout, result.stdout[-2000:]
    lint = subprocess.run([str(Path(current_python()).parent / "ruff"), "check", "--config",
                           str(ROOT / "pyproject.toml"), str(module)], capture_output=True, text=True)
    assert lint.returncode == 0, lint.stdout


def test_the_scaffold_stands_on_the_kit_not_on_financials_plumbing(tmp_path: Path) -> None:
    tree = scaffolded(tmp_path / "tree", "inventory")
    code = "\n".join(p.read_text() for p in (tree / "services" / "inventory" / "app").rglob("*.py"))
    assert "create_module_app" in code and "load_settings" in code
    assert "services.financial" not in code and "services.core" not in code and "services.runtime" not in code


@pytest.mark.parametrize(("name", "port", "says"), [
    ("Bad-Name", None, "is not a module name"),
    ("x", None, "is not a module name"),
    ("class", None, "is not a module name"),
    ("core", None, "is reserved"),
    ("financial", None, "exists already"),
    ("a_name_longer_than_twenty", None, "longer than 20"),
    ("inventory", 8001, "taken by financial"),
    ("inventory", 8080, "taken by the gateway"),
])
def test_names_and_ports_that_cannot_work_are_refused(tmp_path: Path, name: str, port: int | None,
                                                      says: str) -> None:
    services = copy_of_the_tree(tmp_path / "tree") / "services"
    before = sorted(p.name for p in services.iterdir())
    with pytest.raises(ScaffoldError, match=says):
        scaffold(name, services, port=port)
    assert sorted(p.name for p in services.iterdir()) == before, "a refused scaffold left files behind"


def test_the_command_says_why_it_refuses(tmp_path: Path) -> None:
    services = copy_of_the_tree(tmp_path / "tree") / "services"
    result = CliRunner().invoke(app, ["module", "new", "core", "--services", str(services)])
    assert result.exit_code == 2
    assert "'core' is reserved" in result.output
    made = CliRunner().invoke(app, ["module", "new", "stock", "--port", "8010", "--services", str(services)])
    assert made.exit_code == 0, made.output
    assert json.loads((services / "stock" / "manifest.json").read_text())["backend"]["port"] == 8010


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed (only checks the page's syntax)")
def test_the_page_is_a_valid_es_module(tmp_path: Path) -> None:
    tree = scaffolded(tmp_path / "tree", "inventory")
    page = tree / "services" / "inventory" / "frontend" / "module.js"
    as_module = tmp_path / "module.mjs"  # node parses .mjs as an ES module; imports are not resolved by --check
    as_module.write_text(page.read_text())
    result = subprocess.run(["node", "--check", str(as_module)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "from '/ui/kit.js'" in page.read_text(), "pages use the kit's shared helpers, not a copy"
