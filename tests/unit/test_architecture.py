"""The walls of the architecture, read from the code's own imports (static: nothing is imported).

- no import circle between modules, including imports made inside functions;
- `shared/` never imports the sandbox or the CLI, and the sandbox never imports the CLI;
- the installed command's shim (`runwarden/`) sits above everything: nothing imports it;
- `shared/` is grouped by domain: no loose module at its top but the ones at the bottom layer.
"""
from __future__ import annotations

import ast
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("shared", "functions", "sandbox", "cli", "runwarden")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {_module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}
    found["main"] = ROOT / "main.py"
    return found


def _imports(path: Path, known: set[str]) -> set[str]:
    """The project modules one file imports, resolved to the deepest known module."""
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                targets.add(name)
    return targets


@lru_cache(maxsize=1)
def _graph() -> dict[str, frozenset[str]]:
    """Read once per run: every test here walks the same tree, and parsing it six times in one test ran past
    pytest's timeout on a loaded machine. Frozen, so that no test can change what the others read."""
    modules = _modules()
    known = set(modules)
    graph = {}
    for name, path in modules.items():
        edges = _imports(path, known) - {name}
        # importing a package's submodule runs the package's __init__ too, but that is not an edge
        # that can close a circle unless __init__ itself imports back; keep the explicit edges only
        graph[name] = frozenset(e for e in edges if not name.startswith(e + "."))
    return graph


def _cycles(graph: dict[str, frozenset[str]] | dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles():
    assert _cycles(_graph()) == []


def test_the_cycle_finder_finds_a_circle():
    # the test above must be able to fail
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _offenders(importer: str, forbidden: tuple[str, ...]) -> list[str]:
    graph = _graph()
    return sorted(f"{mod} -> {dep}" for mod, deps in graph.items() if mod.split(".")[0] == importer
                  for dep in deps if dep.split(".")[0] in forbidden)


def test_shared_never_imports_the_sandbox_or_the_cli():
    assert _offenders("shared", ("sandbox", "cli")) == []


def test_the_sandbox_never_imports_the_cli():
    assert _offenders("sandbox", ("cli",)) == []


def test_nothing_imports_the_installed_commands_shim():
    for importer in ("main", "functions", "shared", "sandbox", "cli"):
        assert _offenders(importer, ("runwarden",)) == []
    assert _offenders("runwarden", ("cli",)) != []    # the wall can fail: the shim does import cli


def test_shared_is_grouped_by_domain():
    # redaction.py: the one redaction, below errors.py and outcomes.py, which both use it.
    # echo.py: how much of its input any answer repeats, used by every layer that answers.
    # status_text.py: a Google API's error in one line, below errors.py, which quotes every such error through it.
    bottom = {"__init__.py", "clock.py", "config.py", "echo.py", "errors.py", "outcomes.py", "pipeline.py", "ports.py",
              "redaction.py", "status_text.py", "workers.py"}
    loose = sorted(p.name for p in (ROOT / "shared").glob("*.py") if p.name not in bottom)
    assert loose == []
    for package in ("alerts", "diagnosis", "remediation", "timeline", "gcp"):
        doc = ast.get_docstring(ast.parse((ROOT / "shared" / package / "__init__.py").read_text()))
        assert doc, f"shared/{package}/__init__.py says what the package is"


def _short_name_copies(tree: ast.AST) -> list[str]:
    """Functions whose whole body is `return NAME.rsplit("/", 1)[-1]` on their one argument: what
    shared/diagnosis/evidence.short_name does (it also keeps an empty name as it is)."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef) or len(node.args.args) != 1 or len(node.body) != 1:
            continue
        body = node.body[0]
        if isinstance(body, ast.Return) and ast.unparse(body.value) == f"{node.args.args[0].arg}.rsplit('/', 1)[-1]":
            found.append(node.name)
    return found


def test_resource_names_are_shortened_by_the_one_helper():
    """evidence.short_name is the one way to shorten a resource name; a private copy drifts from it
    (an empty name, a trailing slash handled otherwise) and was found twice in shared/."""
    copies = [f"{path.relative_to(ROOT)}: {name}" for path in sorted((ROOT / "shared").rglob("*.py"))
              for name in _short_name_copies(ast.parse(path.read_text()))]
    assert copies == [], copies


def test_the_copy_finder_finds_a_copy():
    assert _short_name_copies(ast.parse('def _short(name):\n    return name.rsplit("/", 1)[-1]\n')) == ["_short"]


def test_no_signature_rule_imports_another():
    """Each rule judges its own signature; what two rules both judge (the connector's signs, the
    database's state, the refusals) lives in a neutral module beside them, so a change to one rule's
    decision never moves another's through an import."""
    graph = _graph()
    rules = {dep for dep in graph["shared.diagnosis.rules"] if dep.startswith("shared.diagnosis.rules.")}
    assert "shared.diagnosis.rules.connector_saturation" in rules   # the set is read, not empty
    assert sorted(f"{rule} -> {dep}" for rule in rules for dep in graph[rule] if dep in rules) == []
