"""Reading infra/ as data: every .tf parsed by python-hcl2, blocks indexed by kind and name.

Without the google provider (it cannot be downloaded here) `terraform validate` is not
available, so the tests read the configuration itself. Strings come back without their
quotes and with HCL's escapes undone; expressions stay as `${...}` text.
"""
from __future__ import annotations

import ast
import functools
import operator
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
MODULE = INFRA
EXAMPLES = INFRA / "examples"


Terraform = Callable[..., "subprocess.CompletedProcess[str]"]


def terraform_in(terraform: str, root: Path) -> Terraform:
    """`run(*args, input=None)`: `terraform ARGS` in `root`, offline (no home config, no version
    check), after a `terraform init` there that must succeed. The caller checks each result."""
    env = {"PATH": "/usr/bin:/bin", "HOME": str(root), "TF_IN_AUTOMATION": "1", "CHECKPOINT_DISABLE": "1"}

    def run(*args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([terraform, *args], cwd=root, env=env, input=input, capture_output=True, text=True,
                              timeout=120, check=False)

    init = run("init", "-input=false", "-backend=false", "-no-color")
    assert init.returncode == 0, init.stdout + init.stderr
    return run


def on_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def require_tool(path: Path | str | None, hint: str) -> str:
    """The tool's path; without it, skip with `hint` (fail under CI=true)."""
    found = shutil.which(str(path)) if path else None
    if found is None and path and Path(path).is_file():
        found = str(path)
    if found is None:
        if on_ci():
            pytest.fail(f"CI=true and {hint}", pytrace=False)
        pytest.skip(hint)
    return found


def _unescape(text: str) -> str:
    return text.replace('\\"', '"').replace("\\\\", "\\")


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return _unescape(value)
    if isinstance(value, list):
        return [_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if not k.startswith("__")}
    return value


def load_file(path: Path) -> dict[str, Any]:
    import hcl2
    from hcl2 import SerializationOptions

    options = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)
    with path.open(encoding="utf-8") as handle:
        return _clean(hcl2.load(handle, serialization_options=options))


@dataclass
class Config:
    """One Terraform module (a directory): its blocks by kind."""

    directory: Path
    files: dict[Path, dict[str, Any]] = field(default_factory=dict)

    def blocks(self, kind: str) -> list[dict[str, Any]]:
        return [block for parsed in self.files.values() for block in parsed.get(kind, [])]

    @property
    def variables(self) -> dict[str, dict[str, Any]]:
        return {name: body for block in self.blocks("variable") for name, body in block.items()}

    @property
    def outputs(self) -> dict[str, dict[str, Any]]:
        return {name: body for block in self.blocks("output") for name, body in block.items()}

    @property
    def locals(self) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for block in self.blocks("locals"):
            merged.update(block)
        return merged

    @property
    def modules(self) -> dict[str, dict[str, Any]]:
        return {name: body for block in self.blocks("module") for name, body in block.items()}

    def resources(self, kind: str = "resource") -> dict[tuple[str, str], dict[str, Any]]:
        found = {}
        for block in self.blocks(kind):
            for rtype, named in block.items():
                for name, body in named.items():
                    found[(rtype, name)] = body
        return found

    def resource(self, rtype: str, name: str) -> dict[str, Any]:
        return self.resources()[(rtype, name)]

    def of_type(self, rtype: str) -> dict[str, dict[str, Any]]:
        return {name: body for (t, name), body in self.resources().items() if t == rtype}


def tf_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.tf"))


@functools.cache
def load_module(directory: Path = MODULE) -> Config:
    config = Config(directory)
    for path in tf_files(directory):
        config.files[path] = load_file(path)
    return config


def all_module_dirs() -> list[Path]:
    return [MODULE] + sorted(p.parent for p in EXAMPLES.rglob("main.tf"))


def single(block_list: Any) -> dict[str, Any]:
    """A nested block written once (hcl2 gives a one-element list)."""
    assert isinstance(block_list, list) and len(block_list) == 1, block_list
    return block_list[0]


# --- a small evaluator for the numeric expressions the tests must check -----------------------

_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_REF = re.compile(r"\b(var|local)\.([A-Za-z_][A-Za-z0-9_]*)\b")


def _arith(node: ast.AST) -> float:
    if isinstance(node, ast.Expression):
        return _arith(node.body)
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_arith(node.left), _arith(node.right))
    raise ValueError(f"not plain arithmetic: {ast.dump(node)}")


def evaluate(value: Any, config: Config | None = None) -> Any:
    """Resolves `${...}` made of numbers, + - * /, and var./local. references to plain values
    (variables at their defaults). Anything else comes back unchanged."""
    if not isinstance(value, str) or "${" not in value:
        return value
    config = config or load_module()

    def resolve(match: re.Match[str]) -> str:
        kind, name = match.groups()
        if kind == "var":
            resolved = evaluate(config.variables[name].get("default"), config)
        else:
            resolved = evaluate(config.locals[name], config)
        if not isinstance(resolved, (int, float)):
            raise ValueError(f"{match.group(0)} is not a number")
        return repr(resolved)

    def one(match: re.Match[str]) -> str:
        named = evaluate("${" + match.group(1) + "}", config)
        if isinstance(named, str) and named != "${" + match.group(1) + "}":
            return named                       # a reference to a string, expanded as far as it goes
        if isinstance(named, (int, float)):
            return repr(named)
        return match.group(0)

    alone = re.fullmatch(r"\$\{(var|local)\.([A-Za-z_][A-Za-z0-9_]*)\}", value)
    if alone:  # a bare reference: the value it names, when that is a literal
        kind, name = alone.groups()
        named = config.variables[name].get("default") if kind == "var" else config.locals.get(name)
        named = evaluate(named, config)
        if isinstance(named, str) or (named is not None and "${" not in repr(named)):
            return named
        return value
    try:
        whole = re.fullmatch(r"\$\{(.*)\}", value, flags=re.S)
        if whole:
            return _arith(ast.parse(_REF.sub(resolve, whole.group(1)), mode="eval"))
        return re.sub(r"\$\{([^{}]*)\}", one, value)
    except (ValueError, KeyError, SyntaxError):
        return value


def terraform_fmt_check(terraform: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([terraform, "fmt", "-check", "-recursive", "-diff", str(INFRA)],
                          capture_output=True, text=True, timeout=120, check=False)


# --- rendering the filters Terraform builds with join() ------------------------------------------

_LOCAL = re.compile(r"\$\{local\.([a-z0-9_]+)\}")
_JOIN_FOR = re.compile(r'^\$\{join\("([^"]*)", \[for (\w+) in local\.(\w+) : "(.*)"\]\)\}$', re.S)


def function_names() -> list[str]:
    """The deployed functions' names (on_alert, on_command, timeline), variables at their defaults."""
    config = load_module()
    names = [evaluate(f["name"]) for f in config.locals["functions"].values()]
    names.append(evaluate(config.resource("google_cloudfunctions2_function", "timeline")["name"]))
    assert all("${" not in n for n in names), names
    return names


def render(text: str) -> str:
    """A filter as Terraform renders it: local references expanded, `join(SEP, [for X in
    local.LIST : "TEMPLATE"])` evaluated, variables at their defaults."""
    config = load_module()

    def local(name: str) -> str | list[str]:
        if name == "function_names":
            return function_names()
        value = config.locals[name]
        if isinstance(value, list):
            return [evaluate(v) for v in value]
        joined = _JOIN_FOR.match(value)
        if joined:
            separator, variable, listed, template = joined.groups()
            items = local(listed)
            return separator.join(template.replace("${" + variable + "}", item) for item in items)
        return render(value)

    expanded = _LOCAL.sub(lambda m: str(local(m.group(1))), text)
    rendered = evaluate(expanded)
    assert "${" not in rendered, f"unrendered: {rendered}"
    return rendered
