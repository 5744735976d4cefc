"""The wheels in packages/ declare what their code imports, and carry a version."""

import ast
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.packaging.scaffolding import ROOT

PACKAGES = ["broker", "contracts", "modulekit"]


def imported_top_levels(package: Path) -> set[str]:
    names: set[str] = set()
    for source in package.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names)


def canonical(name: str) -> str:
    return name.lower().replace("_", "-")


@pytest.mark.parametrize("package", PACKAGES)
def test_every_import_is_a_declared_dependency(package: str) -> None:
    project = tomllib.loads((ROOT / "packages" / package / "pyproject.toml").read_text())["project"]
    declared = {canonical(Requirement(r).name) for r in project["dependencies"]}
    ours = {f"buildify-{p}" for p in PACKAGES}
    distributions = packages_distributions()
    missing = []
    for name in sorted(imported_top_levels(ROOT / package) - {package}):
        wanted = {f"buildify-{name}"} if name in PACKAGES else {canonical(d) for d in distributions.get(name, [name])}
        if not wanted & declared:
            missing.append(f"{name} ({', '.join(sorted(wanted))})")
    assert not missing, f"packages/{package}/pyproject.toml does not declare: {missing}"
    assert not (declared & ours) - {f"buildify-{p}" for p in imported_top_levels(ROOT / package) & set(PACKAGES)}
    assert project["version"].count(".") == 2, "a semantic version, MAJOR.MINOR.PATCH"
