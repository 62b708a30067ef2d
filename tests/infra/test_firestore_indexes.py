"""Every Firestore query the deployed code makes is served by an index infra/ declares.

The emulator answers any query without an index, so the emulator tests cannot catch a missing one;
on a real database the query is refused ("If you attempt a compound query with a range clause that
doesn't map to an existing index, you receive an error", Firestore "Index types"). So the queries are
derived here from the code itself: every call of the state store's three query methods
(shared/gcp/firestore.py) in the deployed code, with the collection and fields it names, is held to
infra/firestore.tf:
  - find_before(kind, F, value, T, ...): `F == value AND T < x [AND T >= y] ORDER BY T`, an equality
    and a range on different fields: a composite index (F ASC, T ASC) on that collection;
  - find_between(kind, T, ...): ranges and the order on T alone, and find_records(kind, F, ...): an
    equality on F alone. Both are served by the automatic single-field index ("Firestore automatically
    maintains single-field indexes for each field in a document", Firestore "Standard edition index
    overview"), which must not be exempted: a field whose indexes infra disables
    (`google_firestore_field` with an empty `index_config`) can never be queried.
A call whose collection or field cannot be read from the source fails here, so a new query is never
left unchecked.
"""
from __future__ import annotations

import ast
import functools
import importlib
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.infra.terraform import ROOT, load_module

QUERY_METHODS = ("find_before", "find_between", "find_records")
# The deployed code: what main.py's entry points import (as tests/infra/test_iam.py scans it). shared/live
# serves the CLI only; shared/gcp holds the adapter that makes the queries.
DEPLOYED = [ROOT / "main.py", *sorted((ROOT / "functions").glob("*.py")),
            *(p for p in sorted((ROOT / "shared").rglob("*.py"))
              if not p.is_relative_to(ROOT / "shared" / "live") and not p.is_relative_to(ROOT / "shared" / "gcp"))]
# Where each method's collection and fields are among its positional arguments (FirestoreStateStore).
KIND_AT = {"find_before": 0, "find_between": 0, "find_records": 0}
FIELDS_AT = {"find_before": (1, 3), "find_between": (1,), "find_records": (1,)}
ANY = "*"   # a collection the source passes as a variable (a loop over several): checked against all


@dataclass(frozen=True)
class Query:
    where: str          # path:line
    method: str
    kind: str           # the StateStore kind (collection id less the prefix), or ANY
    fields: tuple[str, ...]


class _Unreadable(Exception):
    pass


def _module_of(path: Path):
    dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return importlib.import_module(dotted)


def _constant(node: ast.AST, module) -> str:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.Name) and isinstance(getattr(module, node.id, None), str):
        return getattr(module, node.id)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        owner = getattr(module, node.value.id, None)
        if isinstance(getattr(owner, node.attr, None), str):
            return getattr(owner, node.attr)
    raise _Unreadable(ast.unparse(node))


def _aliases(function: ast.AST) -> dict[str, str]:
    """Local names bound to a query method: `find = getattr(self.state, "find_before", None)`."""
    found = {}
    for node in ast.walk(function):
        if (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)
                and isinstance(node.value, ast.Call) and isinstance(node.value.func, ast.Name)
                and node.value.func.id == "getattr" and len(node.value.args) >= 2
                and isinstance(node.value.args[1], ast.Constant) and node.value.args[1].value in QUERY_METHODS):
            found[node.targets[0].id] = node.value.args[1].value
    return found


def _method(call: ast.Call, aliases: dict[str, str]) -> str | None:
    if isinstance(call.func, ast.Attribute) and call.func.attr in QUERY_METHODS:
        return call.func.attr
    if isinstance(call.func, ast.Name):
        return aliases.get(call.func.id)
    return None


def _calls_of(name: str, trees: list[tuple[ast.AST, object]]) -> list[tuple[ast.Call, object]]:
    """Every call of a function named `name` (`name(...)` or `owner.name(...)`) in `trees`."""
    return [(node, module) for tree, module in trees for node in ast.walk(tree)
            if isinstance(node, ast.Call) and ((isinstance(node.func, ast.Name) and node.func.id == name)
                                               or (isinstance(node.func, ast.Attribute) and node.func.attr == name))]


def _parameter_sources(trees: list[tuple[ast.AST, object]], function: ast.FunctionDef,
                       name: str) -> list[tuple[ast.AST, object]]:
    """The arguments given for parameter `name` of `function` at each call of it (a helper that passes
    its own parameters on to the query: shared/commands/status.py, shared/remediation/history.py)."""
    params = [a.arg for a in function.args.args]
    index = params.index(name) - (1 if params and params[0] == "self" else 0)
    sources = []
    for call, module in _calls_of(function.name, trees):
        given = [k.value for k in call.keywords if k.arg == name]
        if given:
            sources.append((given[0], module))
        elif index < len(call.args):
            sources.append((call.args[index], module))
    if not sources:
        raise _Unreadable(f"{function.name}({name}) is never called with it")
    return sources


def _values(node: ast.AST, enclosing: ast.FunctionDef | None, module, trees) -> list[str]:
    if (isinstance(node, ast.Name) and enclosing is not None
            and node.id in [a.arg for a in enclosing.args.args]):
        return [v for source, caller in _parameter_sources(trees, enclosing, node.id)
                for v in _values(source, None, caller, trees)]
    return [_constant(node, module)]


def _lambda_default(node: ast.AST, lambdas: list[ast.Lambda]) -> bool:
    """A lambda's own parameter (`lambda c=collection: ...find_records(c, ...)`): a loop's variable."""
    return isinstance(node, ast.Name) and any(node.id in [a.arg for a in lam.args.args] for lam in lambdas)


def _queries_of(call: ast.Call, method: str, where: str, enclosing: ast.FunctionDef | None,
                lambdas: list[ast.Lambda], module, trees) -> list[Query]:
    """The query one call makes, once per collection and field its arguments may name (a helper called
    with several gives each: an over-approximation, never a miss)."""
    try:
        kind_node = call.args[KIND_AT[method]]
        kinds = [ANY] if _lambda_default(kind_node, lambdas) else _values(kind_node, enclosing, module, trees)
        per_field = [_values(call.args[i], enclosing, module, trees) for i in FIELDS_AT[method]]
    except (_Unreadable, IndexError) as exc:
        pytest.fail(f"{where}: {method}'s collection or fields cannot be read from the source ({exc}): "
                    "name them with constants so that this test can check their index")
    return [Query(where, method, kind, fields) for kind in kinds for fields in itertools.product(*per_field)]


def queries_in(path: Path, source: str | None = None, module=None,
               trees: list[tuple[ast.AST, object]] | None = None) -> list[Query]:
    """The queries made in one file; a parameter passed on to a query is followed to the calls of its
    function in `trees` (every deployed file; this one alone by default)."""
    source = path.read_text() if source is None else source
    module = module if module is not None else _module_of(path)
    tree = ast.parse(source)
    trees = trees if trees is not None else [(tree, module)]
    found: list[Query] = []

    def visit(node: ast.AST, enclosing: ast.FunctionDef | None, aliases: dict[str, str],
              lambdas: list[ast.Lambda]) -> None:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            enclosing, aliases = node, {**aliases, **_aliases(node)}
        if isinstance(node, ast.Lambda):
            lambdas = [*lambdas, node]
        if isinstance(node, ast.Call) and (method := _method(node, aliases)) is not None:
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            found.extend(_queries_of(node, method, where, enclosing, lambdas, module, trees))
        for child in ast.iter_child_nodes(node):
            visit(child, enclosing, aliases, lambdas)

    visit(tree, None, {}, [])
    return found


@functools.cache
def _deployed_trees() -> list[tuple[ast.AST, object]]:
    return [(ast.parse(path.read_text()), _module_of(path)) for path in DEPLOYED]


def deployed_queries() -> list[Query]:
    return [q for path in DEPLOYED for q in queries_in(path, trees=_deployed_trees())]


# --- what infra declares ----------------------------------------------------------------------------

PREFIX = "${var.collection_prefix}_"


def declared_composites(config) -> set[tuple[str, tuple[tuple[str, str], ...]]]:
    found = set()
    for name, index in config.of_type("google_firestore_index").items():
        assert index["collection"].startswith(PREFIX), f"google_firestore_index.{name}: {index['collection']}"
        assert index["query_scope"] == "COLLECTION", name
        found.add((index["collection"][len(PREFIX):],
                   tuple((f["field_path"], f["order"]) for f in index["fields"])))
    return found


def exempted_fields(config) -> set[tuple[str, str]]:
    """(kind, field) whose single-field indexes infra disables (an empty index_config)."""
    found = set()
    for name, body in config.of_type("google_firestore_field").items():
        if "index_config" not in body or body["index_config"] not in ({}, [{}]):
            continue
        listed = re.fullmatch(r"\$\{toset\(local\.(\w+)\)\}", body.get("for_each", ""))
        if listed:
            assert body["collection"] == PREFIX + "${each.value}", name
            kinds = config.locals[listed.group(1)]
        else:
            assert body["collection"].startswith(PREFIX) and "$" not in body["collection"][len(PREFIX):], name
            kinds = [body["collection"][len(PREFIX):]]
        found.update((kind, body["field"]) for kind in kinds)
    return found


def missing(queries: list[Query], composites: set, exempted: set[tuple[str, str]]) -> list[str]:
    problems = []
    for q in queries:
        if q.method == "find_before":
            equal, ranged = q.fields
            wanted = ((equal, "ASCENDING"), (ranged, "ASCENDING"))
            if not any(fields == wanted and (q.kind == kind or q.kind == ANY) for kind, fields in composites):
                problems.append(f"{q.where}: {q.kind}: {equal} == ? AND {ranged} range ORDER BY {ranged} "
                                f"needs google_firestore_index {q.kind} ({equal} ASC, {ranged} ASC)")
        for field in q.fields:
            if any(field == f and (q.kind == kind or q.kind == ANY) for kind, f in exempted):
                problems.append(f"{q.where}: {q.method} on {q.kind}.{field}, whose indexes infra disables")
    return problems


# --- the tests --------------------------------------------------------------------------------------


def test_the_scan_finds_the_known_queries() -> None:
    found = {(q.method, q.kind, q.fields) for q in deployed_queries()}
    assert ("find_before", "actions", ("state", "deadline_at")) in found, "the sweep's page by deadline"
    assert ("find_before", "intents", ("state", "noted_at")) in found, "the sweep's open intents, a pause's plans"
    assert ("find_between", "actions", ("applied_at",)) in found, "the sweep's own writes since an action"
    assert ("find_records", "intents", ("report_state",)) in found, "the kept reports"


def test_every_deployed_query_has_its_index() -> None:
    config = load_module()
    problems = missing(deployed_queries(), declared_composites(config), exempted_fields(config))
    assert problems == [], "\n".join(problems)


def test_no_composite_index_is_left_unused() -> None:
    # An index no query needs costs a write on every record (Firestore "Index types": each write
    # updates every index it belongs to); a query removed should take its index with it.
    used = {(q.kind, ((q.fields[0], "ASCENDING"), (q.fields[1], "ASCENDING")))
            for q in deployed_queries() if q.method == "find_before"}
    unused = declared_composites(load_module()) - used
    assert unused == set(), unused


class _Kinds:
    THINGS = "things"


@pytest.mark.parametrize("source, problem", [
    ('def f(s):\n    s.find_before(_Kinds.THINGS, "owner", 1, "seen_at", 2)\n',
     "things: owner == ? AND seen_at range ORDER BY seen_at needs google_firestore_index things "
     "(owner ASC, seen_at ASC)"),
    ('def f(s):\n    find = getattr(s, "find_before", None)\n    find("things", "owner", 1, "seen_at", 2)\n',
     "needs google_firestore_index things (owner ASC, seen_at ASC)"),
    ('def f(s):\n    s.find_records("things", "report", 1)\n',
     "find_records on things.report, whose indexes infra disables"),
    ('def f(s, kinds):\n    for k in kinds:\n        g(lambda c=k: s.find_between(c, "report", 1, 2))\n',
     "find_between on *.report, whose indexes infra disables"),
    ('def f(s, field):\n    s.find_records("things", field, 1)\n\ndef g(s):\n    f(s, "report")\n',
     "find_records on things.report, whose indexes infra disables"),
])
def test_the_derivation_reports_a_query_infra_does_not_serve(source: str, problem: str) -> None:
    import types

    module = types.SimpleNamespace(_Kinds=_Kinds)
    queries = queries_in(ROOT / "synthetic.py", source, module)
    problems = missing(queries, {("things", (("state", "ASCENDING"), ("seen_at", "ASCENDING")))},
                       {("things", "report")})
    assert any(problem in p for p in problems), problems


def test_the_derivation_accepts_what_infra_serves() -> None:
    source = ('def f(s):\n    s.find_before("things", "state", 1, "seen_at", 2)\n'
              '    s.find_between("things", "seen_at", 1, 2)\n    s.find_records("things", "owner", 1)\n')
    queries = queries_in(ROOT / "synthetic.py", source, object())
    assert len(queries) == 3
    assert missing(queries, {("things", (("state", "ASCENDING"), ("seen_at", "ASCENDING")))},
                   {("things", "report")}) == []


def test_a_query_whose_fields_cannot_be_read_fails() -> None:
    with pytest.raises(pytest.fail.Exception, match="cannot be read from the source"):
        queries_in(ROOT / "synthetic.py", "def f(s, x):\n    s.find_records('things', x(), 1)\n", object())
