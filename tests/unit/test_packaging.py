"""pyproject.toml declares what `pip install .` needs for a working `runwarden`, and the version
the CLI reports is the package's."""
from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from click.testing import CliRunner

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
INSTALLED = ("shared", "functions", "cli", "sandbox")


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _third_party_imports() -> set[str]:
    found = set()
    files = [ROOT / "main.py"] + [p for d in INSTALLED for p in (ROOT / d).rglob("*.py")]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return {m for m in found if m not in sys.stdlib_module_names and m not in INSTALLED and m != "main"}


def test_every_runtime_requirement_is_a_dependency() -> None:
    declared = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    pinned = {_name(line) for line in (ROOT / "requirements.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")}
    assert pinned <= declared, pinned - declared


def test_every_import_of_the_installed_code_comes_from_a_dependency() -> None:
    declared = {_name(r) for r in PYPROJECT["project"]["dependencies"]}
    providers = packages_distributions()
    missing = {}
    for module in sorted(_third_party_imports()):
        distributions = {d.lower().replace("_", "-") for d in providers.get(module, [])}
        # A module may come from a dependency's own dependency (grpc from grpcio, google from many).
        if not distributions & declared and module not in {"google", "urllib3", "pydantic_core"}:
            missing[module] = sorted(distributions)
    assert missing == {}, f"imported but not declared: {missing}"


def test_the_dev_extra_holds_the_test_tools() -> None:
    dev = {_name(r) for r in PYPROJECT["project"]["optional-dependencies"]["dev"]}
    assert {"pytest", "hypothesis", "python-hcl2"} <= dev


def test_runwarden_reports_its_version() -> None:
    from cli.main import runwarden
    from shared import __version__

    result = CliRunner().invoke(runwarden, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"runwarden {__version__}"
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "shared.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)
    assert f"## {__version__}" in (ROOT / "CHANGELOG.md").read_text()
