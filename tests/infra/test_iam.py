"""Least privilege, derived: Terraform grants each function exactly what its code declares.

The declarations: every adapter's `iam_permissions` (per method) and every action's
`iam_permissions`; functions/permissions.py joins them per function. Here Terraform's custom
roles and resource-level grants are held to that, in both directions, and every permission
name to the list of real ones in infra/iam/permissions.txt.
"""
from __future__ import annotations

import ast
import inspect
import re
import textwrap
from typing import Any

import pytest

from functions.permissions import (ON_OUTCOMES_TOPIC, ON_RUNTIME_SERVICE_ACCOUNTS, READ_METHODS,
                                   _adapter_classes, function_needs, project_role, required_permissions, resource_grants,
                                   service_project_role, service_writes, state_role, watched_project_role)
from shared.remediation.actions import all_actions
from tests.infra.terraform import INFRA, ROOT, load_module, single

KNOWN = INFRA / "iam" / "permissions.txt"


def _known() -> tuple[set[str], dict[str, set[str]]]:
    permissions, roles = set(), {}
    for line in KNOWN.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("role "):
            role, _, members = line[len("role "):].partition(":")
            roles[role.strip()] = set(members.split())
            permissions.update(members.split())
        else:
            permissions.add(line)
    return permissions, roles


KNOWN_PERMISSIONS, PREDEFINED_ROLES = _known()


# --- the declarations themselves ----------------------------------------------------------------


@pytest.mark.parametrize("port", sorted(_adapter_classes()))
def test_every_adapter_method_declares_its_permissions(port: str) -> None:
    cls = _adapter_classes()[port]
    # close() and warm() (builds the client ahead of the first event) make no API call.
    public = {name for name, member in inspect.getmembers(cls, inspect.isfunction)
              if not name.startswith("_") and name not in ("close", "warm")}
    declared = set(cls.iam_permissions)
    assert public == declared, f"{cls.__name__}: undeclared {public - declared}, stale {declared - public}"
    for method, permissions in cls.iam_permissions.items():
        assert permissions, f"{cls.__name__}.{method} declares no permission"


def _adapter_calls(code: Any, seen: frozenset[Any] = frozenset()) -> set[tuple[str, str]]:
    """(port, method) of every `adapters.PORT.METHOD(...)` call in the action's source, and in the functions it
    hands `adapters` to by name (`write_split(adapters, ...)`, shared by the traffic actions), followed through
    the module that defines the action."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(code)))
    module = vars(inspect.getmodule(code))
    calls = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        if (isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Attribute)
                and isinstance(node.func.value.value, ast.Name) and node.func.value.value.id == "adapters"):
            calls.add((node.func.value.attr, node.func.attr))
        elif (isinstance(node.func, ast.Name) and node.args and isinstance(node.args[0], ast.Name)
                and node.args[0].id == "adapters" and inspect.isfunction(module.get(node.func.id))
                and module[node.func.id] not in seen):
            calls |= _adapter_calls(module[node.func.id], seen | {code})
    return calls


@pytest.mark.parametrize("name", sorted(all_actions()))
def test_every_action_declares_what_its_writes_need(name: str) -> None:
    action = all_actions()[name]
    calls = _adapter_calls(type(action))
    assert calls, f"{name} calls no adapter: the declaration cannot be checked"
    adapters = _adapter_classes()
    needed = {p for port, method in calls for p in adapters[port].iam_permissions[method]}
    assert needed <= set(action.iam_permissions), f"{name} writes need {needed - set(action.iam_permissions)}"


_PORT_CALL = re.compile(r"\b(?:readers|adapters)\.(run|monitoring|logging|vpcaccess|state|publisher)\.([a-z_]+)\(")
# The deployed code: what main.py's entry points import. shared/live serves the CLI only; shared/gcp
# holds the adapters themselves.
_DEPLOYED = [ROOT / "main.py", *sorted((ROOT / "functions").glob("*.py")),
             *(p for p in sorted((ROOT / "shared").rglob("*.py"))
               if not p.is_relative_to(ROOT / "shared" / "live") and not p.is_relative_to(ROOT / "shared" / "gcp"))]
_ACTIONS_DIR = ROOT / "shared" / "remediation" / "actions"


def _port_calls() -> set[tuple[str, str, bool]]:
    """(port, method, inside an action) for every `readers.PORT.METHOD(` / `adapters.PORT.METHOD(`."""
    return {(m.group(1), m.group(2), path.is_relative_to(_ACTIONS_DIR))
            for path in _DEPLOYED for m in _PORT_CALL.finditer(path.read_text())}


def test_every_adapter_call_in_the_deployed_code_is_derived() -> None:
    # A method the functions call must be in READ_METHODS (granted to every Pub/Sub function), be
    # the state store's or the publisher's (granted whole), or be a write made only by an action
    # (granted through the actions' own declarations).
    calls = _port_calls()
    assert ("run", "get_service", False) in calls, "the scan found nothing: the pattern is wrong"
    for port, method, in_action in sorted(calls):
        if port in ("state", "publisher"):
            continue
        assert in_action or method in READ_METHODS.get(port, ()), (
            f"{port}.{method} is called outside an action but is not in READ_METHODS: no role would grant it")


# Google API ports whose methods are granted one by one (READ_METHODS, the actions' declarations, the
# timeline's own list), unlike the state store and the publisher, granted whole.
_PER_METHOD_PORTS = ("run", "monitoring", "logging", "vpcaccess", "log_pages", "run_references")
_TIMELINE_DIR = ROOT / "shared" / "timeline"


def _method_calls(path) -> set[tuple[str, int]]:
    """(method, line) of every `<anything>.METHOD(` call in the file, however the adapter is named there
    (`readers.run.get_service(`, `logging.list_entries(`, `run.references(`)."""
    return {(node.func.attr, node.lineno) for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)}


def test_every_google_api_method_called_under_any_name_is_granted() -> None:
    # The regex scan above sees `readers.PORT.METHOD(` and `adapters.PORT.METHOD(` only; an adapter held
    # in a local (`logging.list_entries(` in shared/diagnosis/collection.py) escapes it. Here every call of
    # a Google API adapter's method name, whatever it is called on, must be one a role grants where it is
    # made: a reader's anywhere, a write inside an action only, the timeline's in shared/timeline only.
    adapters = _adapter_classes()
    timeline = {method for cls, method in function_needs()["incident_timeline"].methods}
    reads = {m for methods in READ_METHODS.values() for m in methods}
    per_method = {m for port in _PER_METHOD_PORTS for m in adapters[port].iam_permissions}
    other = {m for port, cls in adapters.items() if port not in _PER_METHOD_PORTS for m in cls.iam_permissions}
    ungranted = []
    for path in _DEPLOYED:
        for method, line in sorted(_method_calls(path)):
            if method not in per_method or method in reads or method in other:
                continue      # not a Google API method, or one granted to every function
            if path.is_relative_to(_ACTIONS_DIR) or (method in timeline and path.is_relative_to(_TIMELINE_DIR)):
                continue
            ungranted.append(f"{path.relative_to(ROOT)}:{line}: {method}")
    assert ungranted == [], f"called where no role grants it: {ungranted}"
    assert any(m == "list_entries" for m, _ in _method_calls(ROOT / "shared" / "diagnosis" / "collection.py")), \
        "the scan found nothing: the walk is wrong"


def test_the_readers_are_real_adapter_methods() -> None:
    adapters = _adapter_classes()
    for port, methods in READ_METHODS.items():
        assert set(methods) <= set(adapters[port].iam_permissions), port


# --- Terraform against the derivation -------------------------------------------------------------


def test_every_permission_is_a_real_one() -> None:
    declared = set().union(*(required_permissions(n) for n in function_needs().values()))
    config = load_module()
    in_terraform = {p for perms in config.locals["role_permissions"].values() for p in perms}
    in_terraform |= {p for perms in config.locals["watched_role_permissions"].values() for p in perms}
    in_terraform |= {p for perms in config.locals["state_role_permissions"].values() for p in perms}
    in_terraform |= set(config.locals["act_as_permissions"]) | set(config.locals["publish_permissions"])
    in_terraform |= set(config.locals["service_write_permissions"])
    unknown = sorted((declared | in_terraform) - KNOWN_PERMISSIONS)
    assert unknown == [], f"not in {KNOWN.name}: {unknown}"


def test_the_list_of_real_permissions_catches_a_typo() -> None:
    assert "run.services.update" in KNOWN_PERMISSIONS
    assert "run.service.update" not in KNOWN_PERMISSIONS
    assert "run.services.updateTraffic" not in KNOWN_PERMISSIONS


@pytest.mark.parametrize("function", ["on_alert", "on_command", "incident_timeline"])
def test_each_project_role_is_exactly_the_derived_set(function: str) -> None:
    terraform = set(load_module().locals["role_permissions"][function])
    derived = set(project_role(function_needs()[function]))
    assert terraform == derived, (f"{function}: Terraform grants {sorted(terraform - derived)} more and "
                                  f"{sorted(derived - terraform)} fewer than the code declares")


def test_each_state_role_is_exactly_the_derived_set() -> None:
    terraform = {k: set(v) for k, v in load_module().locals["state_role_permissions"].items()}
    derived = {name: set(state_role(needs)) for name, needs in function_needs().items() if state_role(needs)}
    assert terraform == derived
    assert derived, "no function declares a Firestore permission: the derivation is wrong"


# --- Firestore on Runwarden's database only ---------------------------------------------------------

_CEL_TOKENS = re.compile(r'\s*(resource\.name\.startsWith\(|resource\.name|"[^"\\]*"|==|!=|\|\||&&|!|\(|\))')
_CEL_AS_PYTHON = {"resource.name.startsWith(": "name.startswith(", "resource.name": "name", "==": "==",
                  "!=": "!=", "||": " or ", "&&": " and ", "!": " not ", "(": "(", ")": ")"}


def cel_allows(expression: str, name: str) -> bool:
    """Evaluates the small part of CEL an IAM condition on `resource.name` is written in (==, !=,
    startsWith, !, &&, ||, parentheses, string literals); anything else is refused, not guessed."""
    python, position = [], 0
    while position < len(expression.rstrip()):
        token = _CEL_TOKENS.match(expression, position)
        assert token, f"not understood at {expression[position:]!r}"
        text = token.group(1)
        python.append(text if text.startswith('"') else _CEL_AS_PYTHON[text])
        position = token.end()
    return bool(eval("".join(python), {"__builtins__": {}}, {"name": name}))  # noqa: S307 (tokens checked above)


def _state_condition(project: str, database: str) -> str:
    config = load_module()
    database_name = config.locals["state_database"].replace("${var.project_id}", project).replace(
        "${google_firestore_database.runwarden.name}", database)
    rendered = (config.locals["state_condition"].replace("${local.state_database}", database_name)
                .replace("${var.project_id}", project))
    assert "${" not in rendered, rendered
    return rendered


@pytest.mark.parametrize("name, allowed", [
    ("projects/shop-ops/databases/runwarden", True),   # the documented form, and what reads are checked on
    ("projects/shop-ops/databases/runwarden/documents/runwarden_claims/x", True),
    ("projects/shop-ops/databases/(default)", False),
    ("projects/shop-ops/databases/payments", False),
    ("projects/shop-ops/databases/runwarden2", False),                     # a name that starts as ours
    ("projects/shop-ops/databases/runwarden2/documents/orders/1", False),
    ("projects/shop-ops/databases/payments/documents/runwarden/x", False),
    ("projects/shop-ops", True),               # an undocumented project-level check keeps the old grant
])
def test_the_state_grant_admits_runwardens_database_and_no_other(name: str, allowed: bool) -> None:
    assert cel_allows(_state_condition("shop-ops", "runwarden"), name) is allowed


def test_the_condition_evaluator_can_refuse() -> None:
    assert cel_allows('resource.name == "a" || !resource.name.startsWith("b/")', "c")
    assert not cel_allows('resource.name == "a" || !resource.name.startsWith("b/")', "b/c")
    with pytest.raises(AssertionError):
        cel_allows('resource.type == "x"', "a")


def test_firestore_is_granted_on_runwardens_database_only() -> None:
    """A project binding of Firestore's permissions, unconditioned, let each function read, change and
    delete every document of every database in the project. Every role binding that holds a `datastore.`
    permission must carry the condition on Runwarden's database (Firestore "Manage databases", "Configure
    per-database access permissions"), and no unconditioned role may hold one."""
    config = load_module()
    unconditioned = {"role_permissions", "watched_role_permissions"}
    for local in unconditioned:
        for function, permissions in config.locals[local].items():
            firestore = [p for p in permissions if p.startswith("datastore.")]
            assert not firestore, f"{local}[{function}] grants {firestore} without the database's condition"
    for local in ("act_as_permissions", "publish_permissions", "service_write_permissions",
                  "operator_project_permissions", "operator_outcomes_topic_permissions"):
        assert not [p for p in config.locals[local] if p.startswith("datastore.")], local
    role = config.resource("google_project_iam_custom_role", "state")
    assert role["for_each"] == "${local.state_role_permissions}" and role["permissions"] == "${each.value}"
    assert role["project"] == "${var.project_id}"
    binding = config.resource("google_project_iam_member", "state")
    assert binding["for_each"] == "${local.state_role_permissions}" and binding["project"] == "${var.project_id}"
    assert binding["role"] == "${google_project_iam_custom_role.state[each.key].id}"
    assert binding["member"] == "serviceAccount:${google_service_account.functions[each.key].email}"
    assert "condition" in binding, "the Firestore grant is project-wide: every database of the project"
    assert single(binding["condition"])["expression"] == "${local.state_condition}"
    assert config.locals["state_database"] == (
        "projects/${var.project_id}/databases/${google_firestore_database.runwarden.name}")
    # An upgrade narrows the old project role only after the new grant exists.
    assert "${google_project_iam_member.state}" in config.resource("google_project_iam_custom_role", "functions").get(
        "depends_on", []), "the apply may take Firestore from the project role before granting it on the database"
    # Any other project binding of a custom role holding Firestore's permissions would widen it again.
    for name, body in config.of_type("google_project_iam_member").items():
        if name != "state":
            assert "custom_role.state" not in body["role"], name


def test_each_watched_project_role_is_exactly_the_derived_set() -> None:
    terraform = {k: set(v) for k, v in load_module().locals["watched_role_permissions"].items()}
    derived = {name: set(watched_project_role(needs)) for name, needs in function_needs().items()
               if watched_project_role(needs)}
    assert terraform == derived


def test_cloud_runs_writes_are_granted_only_where_a_managed_service_lives() -> None:
    """UpdateService and the wait on its operation are granted in the projects holding a service the
    config manages, and in no project-wide role elsewhere: a watched project holding only a connector or
    a Cloud SQL instance, or Runwarden's own project watching others (its own functions are Cloud Run
    services there), gave the functions the right to change every service in it, which no call needed."""
    config = load_module()
    writes = service_writes()
    assert writes == {"run.services.update", "run.operations.get"}, writes
    assert set(config.locals["service_write_permissions"]) == writes
    for function, needs in function_needs().items():
        role = set(service_project_role(needs))
        assert role in (set(), set(writes)), (function, role)
        granted = set(config.locals["role_permissions"][function]) | set(
            config.locals["watched_role_permissions"].get(function, ()))
        assert not granted & writes, f"{function}: a project-wide role grants {sorted(granted & writes)} everywhere"
    expression = config.locals["service_write_pairs"]
    listed = expression[expression.index("setproduct([") + len("setproduct(["):]
    granted_to = {item.strip().strip('"') for item in listed[:listed.index("]")].split(",")}
    assert granted_to == {name for name, needs in function_needs().items() if service_project_role(needs)}
    assert "local.service_projects" in expression
    assert config.locals["service_projects"] == (
        "${setintersection(toset(module.config_check.service_projects), local.role_projects)}")
    role = config.resource("google_project_iam_custom_role", "service_writes")
    assert role["for_each"] == "${local.service_projects}" and role["project"] == "${each.value}"
    assert role["permissions"] == "${local.service_write_permissions}"
    binding = config.resource("google_project_iam_member", "service_writes")
    assert binding["for_each"] == "${local.service_write_pairs}" and binding["project"] == "${each.value.project}"
    assert binding["role"] == "${google_project_iam_custom_role.service_writes[each.value.project].id}"
    assert binding["member"] == "serviceAccount:${google_service_account.functions[each.value.function].email}"


def test_the_custom_roles_use_those_lists() -> None:
    config = load_module()
    roles = config.of_type("google_project_iam_custom_role")
    assert roles["functions"]["for_each"] == "${local.role_permissions}"
    assert roles["functions"]["permissions"] == "${each.value}"
    assert roles["watched"]["permissions"] == "${local.watched_role_permissions[each.value.function]}"
    assert roles["act_as"]["permissions"] == "${local.act_as_permissions}"
    # Each function's service account is bound to its own role, in its own project only.
    binding = config.resource("google_project_iam_member", "functions")
    assert binding["role"] == "${google_project_iam_custom_role.functions[each.key].id}"
    assert binding["member"] == "serviceAccount:${google_service_account.functions[each.key].email}"


def test_no_function_holds_a_predefined_role_on_a_project() -> None:
    for name, body in load_module().of_type("google_project_iam_member").items():
        assert "google_project_iam_custom_role" in body["role"], f"google_project_iam_member.{name}: {body['role']}"


def test_resource_level_grants_are_exactly_the_derived_ones() -> None:
    config = load_module()
    functions_with_topic = set(config.locals["functions"])
    act_as_functions = _act_as_functions(config)
    for name, needs in function_needs().items():
        grants = resource_grants(needs)
        assert (name in functions_with_topic) == ("outcomes_topic" in grants), name
        assert (name in act_as_functions) == ("runtime_service_accounts" in grants), name
    publish = config.resource("google_pubsub_topic_iam_member", "outcomes_publisher")
    assert publish["topic"] == '${google_pubsub_topic.topics["outcomes"].name}'
    assert PREDEFINED_ROLES[publish["role"]] == set(ON_OUTCOMES_TOPIC) == set(config.locals["publish_permissions"])
    assert set(config.locals["act_as_permissions"]) == set(ON_RUNTIME_SERVICE_ACCOUNTS)
    act_as = config.resource("google_service_account_iam_member", "act_as")
    assert act_as["role"].startswith("${google_project_iam_custom_role.act_as[")
    assert "each.value.account" in act_as["service_account_id"]


def _act_as_functions(config) -> set[str]:
    expression = config.locals["act_as_pairs"]
    start = expression.index("setproduct([") + len("setproduct([")
    listed = expression[start:expression.index("]", start)]
    return {item.strip().strip('"') for item in listed.split(",")}


def test_invokers() -> None:
    config = load_module()
    push = config.resource("google_cloud_run_service_iam_member", "push_invoker")
    assert push["role"] == "roles/run.invoker" and push["member"] == "serviceAccount:${google_service_account.push.email}"
    assert PREDEFINED_ROLES["roles/run.invoker"] == {"run.routes.invoke"}
    timeline = config.resource("google_cloud_run_service_iam_member", "timeline_invoker")
    assert timeline["member"] == "group:${var.operators_group}"
    # Nobody is allowed in without an identity.
    for path, parsed in config.files.items():
        assert "allUsers" not in path.read_text() and "allAuthenticatedUsers" not in path.read_text(), path


def test_timeline_function_only_reads() -> None:
    needs = function_needs()["incident_timeline"]
    assert required_permissions(needs) == {"logging.logEntries.list", "monitoring.timeSeries.list",
                                           "run.revisions.list"}
    assert needs.actions == ()


# --- the operators' CLI ---------------------------------------------------------------------------

# Every Pub/Sub call the `runwarden` CLI makes for an operator, and where Pub/Sub checks which
# permission (Pub/Sub "Access control", required permissions; "Create pull subscriptions", required
# permissions: create needs pubsub.subscriptions.create on the project and
# pubsub.topics.attachSubscription on the topic). "subscription" is the CLI's own subscription: it
# does not exist before the CLI creates it, so what it needs there is granted on the project.
CLI_CALL_PERMISSIONS: dict[tuple[str, str], dict[str, set[str]]] = {
    ("publisher", "publish"): {"commands_topic": {"pubsub.topics.publish"}},
    ("subscriber", "create_subscription"): {"project": {"pubsub.subscriptions.create"},
                                            "outcomes_topic": {"pubsub.topics.attachSubscription"}},
    ("subscriber", "pull"): {"subscription": {"pubsub.subscriptions.consume"}},
    ("subscriber", "acknowledge"): {"subscription": {"pubsub.subscriptions.consume"}},
    ("subscriber", "delete_subscription"): {"subscription": {"pubsub.subscriptions.delete"}},
    ("subscriber", "close"): {},     # closes the client's channel: no call to Pub/Sub
}
_CLI_CALL = re.compile(r"\b(publisher|subscriber)\.([a-z_]+)\(")


def _operator_needs() -> dict[str, set[str]]:
    calls = {m.groups() for path in sorted((ROOT / "cli").glob("*.py")) for m in _CLI_CALL.finditer(path.read_text())}
    assert ("subscriber", "create_subscription") in calls, "the scan found nothing: the pattern is wrong"
    unknown = calls - set(CLI_CALL_PERMISSIONS)
    assert not unknown, f"the CLI makes Pub/Sub calls this test does not know the permissions of: {sorted(unknown)}"
    needs: dict[str, set[str]] = {}
    for call in calls:
        for where, permissions in CLI_CALL_PERMISSIONS[call].items():
            needs.setdefault(where, set()).update(permissions)
    return needs


def test_operators_may_make_every_call_the_cli_makes() -> None:
    """`runwarden pause` and every other waiting command create, pull from and delete a filtered
    subscription on the outcomes topic: publishing alone is not enough, the wait must be granted too."""
    needs = _operator_needs()
    config = load_module()
    group = "group:${var.operators_group}"
    assert set(needs) == {"commands_topic", "project", "outcomes_topic", "subscription"}, needs
    assert set(config.locals["operator_project_permissions"]) == needs["project"] | needs["subscription"]
    assert set(config.locals["operator_outcomes_topic_permissions"]) == needs["outcomes_topic"]
    assert (needs["project"] | needs["subscription"] | needs["outcomes_topic"]) <= KNOWN_PERMISSIONS

    roles = config.of_type("google_project_iam_custom_role")
    assert roles["operator_waits"]["permissions"] == "${local.operator_project_permissions}"
    assert roles["operator_attach"]["permissions"] == "${local.operator_outcomes_topic_permissions}"
    waits = config.resource("google_project_iam_member", "operator_waits")
    assert waits["role"] == "${google_project_iam_custom_role.operator_waits[0].id}" and waits["member"] == group
    attach = config.resource("google_pubsub_topic_iam_member", "operators_outcomes")
    assert attach["topic"] == '${google_pubsub_topic.topics["outcomes"].name}' and attach["member"] == group
    assert attach["role"] == "${google_project_iam_custom_role.operator_attach[0].id}"
    publish = config.resource("google_pubsub_topic_iam_member", "operators_publisher")
    assert publish["topic"] == '${google_pubsub_topic.topics["commands"].name}' and publish["member"] == group
    assert needs["commands_topic"] <= PREDEFINED_ROLES[publish["role"]]
    # All of it exists only with an operators group, like the publisher grant.
    for body in (roles["operator_waits"], roles["operator_attach"], waits, attach):
        assert body["count"] == publish["count"] == '${var.operators_group == "" ? 0 : 1}'


def test_the_cli_names_the_permissions_a_refused_call_needs() -> None:
    """When Pub/Sub refuses one of the CLI's calls, its message names what that call needs: the same
    permissions the grant above is derived from."""
    from cli._commands import NEEDS

    for (_, call), where in CLI_CALL_PERMISSIONS.items():
        if call == "acknowledge":
            call = "pull"      # said as the pull's: one consume permission for both
        for permission in set().union(*where.values()) if where else ():
            assert permission in NEEDS[call], (call, permission)


# --- the deploy guide's table of calls and permissions -------------------------------------------


def _guide_rows(text: str) -> dict[tuple[str, str], set[str]]:
    """docs/deploy.md, "Each call and the permission Google checks": {(class, method): permissions}.
    A method written `.name` belongs to the class named last in its cell."""
    section = text[text.index("### Each call and the permission Google checks"):]
    section = section[:section.index("\n\n", section.index("| adapter methods |"))]
    rows: dict[tuple[str, str], set[str]] = {}
    for line in section.splitlines()[2:]:
        if not line.startswith("| `"):
            continue
        methods, _calls, permissions, _source = [c.strip() for c in line.strip("|").split("|")][:4]
        owner = ""
        for cls, name in re.findall(r"`(\w*)\.(\w+)`", methods):
            owner = cls or owner
            assert (owner, name) not in rows, f"{owner}.{name} is listed twice"
            rows[(owner, name)] = set(re.findall(r"`([a-z]+\.[A-Za-z]+\.[A-Za-z]+)`", permissions))
    return rows


def test_the_deploy_guide_cites_every_adapter_methods_permissions_as_declared() -> None:
    """A method the code adds or a permission it changes without the guide's row (and its source)
    fails here: the table is where an SRE checks the role against Google's references."""
    rows = _guide_rows((ROOT / "docs" / "deploy.md").read_text())
    declared = {(cls.__name__, method): set(permissions)
                for cls in _adapter_classes().values() for method, permissions in cls.iam_permissions.items()}
    assert set(rows) == set(declared), (sorted(set(declared) - set(rows)), sorted(set(rows) - set(declared)))
    for key, permissions in declared.items():
        assert rows[key] == permissions, f"{key}: the guide says {sorted(rows[key])}, the code {sorted(permissions)}"


def test_the_guides_table_check_can_fail() -> None:
    text = (ROOT / "docs" / "deploy.md").read_text()
    row = "| `CloudMonitoringAdapter.query`, `CloudMonitoringAdapter.histograms` | Monitoring v3 `ListTimeSeries` |"
    changed = text.replace(f"{row} `monitoring.timeSeries.list` |", f"{row} `monitoring.timeSeries.get` |")
    assert changed != text
    assert _guide_rows(changed)[("CloudMonitoringAdapter", "query")] == {"monitoring.timeSeries.get"}


# --- what Google's own agents need for delivery ------------------------------------------------------


def test_each_delivery_path_holds_what_its_agent_needs() -> None:
    """Every hop a message takes is granted to the principal Google makes it as: Monitoring's
    notification agent publishes on the alerts topic (Cloud Monitoring, "Create and manage notification
    channels", Pub/Sub: the publisher role for service-PROJECT_NUMBER@gcp-sa-monitoring-notification);
    Pub/Sub's agent dead-letters, publishing on the dead-letter topic and acknowledging on each push
    subscription (Pub/Sub "Dead-letter topics": the publisher role on the topic, the subscriber role on
    the subscription); each push carries the push account's OIDC token, for its own endpoint, and that
    account may invoke exactly the functions pushed to; Cloud Scheduler's agent publishes the sweep on
    the commands topic. One grant missing loses every message of its path, and no emulator test sees it."""
    config = load_module()
    project_number = "${data.google_project.this.number}"
    assert config.locals["pubsub_agent"] == f"serviceAccount:service-{project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"
    assert config.locals["monitoring_agent"] == (
        f"serviceAccount:service-{project_number}@gcp-sa-monitoring-notification.iam.gserviceaccount.com")
    assert config.locals["scheduler_agent"] == (
        f"serviceAccount:service-{project_number}@gcp-sa-cloudscheduler.iam.gserviceaccount.com")
    topic_grants = config.of_type("google_pubsub_topic_iam_member")

    def topic_grant(name: str, topic: str, member: str) -> None:
        grant = topic_grants[name]
        assert grant["topic"] == f'${{google_pubsub_topic.topics["{topic}"].name}}', name
        assert grant["member"] == member and PREDEFINED_ROLES[grant["role"]] == {"pubsub.topics.publish"}, name

    channel = config.resource("google_monitoring_notification_channel", "runwarden")
    assert channel["type"] == "pubsub" and channel["labels"]["topic"] == '${google_pubsub_topic.topics["alerts"].id}'
    topic_grant("monitoring_publisher", "alerts", "${local.monitoring_agent}")
    topic_grant("dead_letter_publisher", "dead-letter", "${local.pubsub_agent}")
    topic_grant("scheduler_publisher", "commands", "${local.scheduler_agent}")
    subscriber = config.resource("google_pubsub_subscription_iam_member", "dead_letter_subscriber")
    assert subscriber["for_each"] == "${google_pubsub_subscription.push}"
    assert subscriber["subscription"] == "${each.value.name}" and subscriber["member"] == "${local.pubsub_agent}"
    assert subscriber["role"] == "roles/pubsub.subscriber"

    push = config.resource("google_pubsub_subscription", "push")
    push_config = single(push["push_config"])
    endpoint = "${google_cloudfunctions2_function.pubsub[each.key].service_config[0].uri}"
    oidc = single(push_config["oidc_token"])
    assert push_config["push_endpoint"] == endpoint and oidc["audience"] == endpoint
    assert oidc["service_account_email"] == "${google_service_account.push.email}"
    invoker = config.resource("google_cloud_run_service_iam_member", "push_invoker")
    assert invoker["for_each"] == push["for_each"] == "${local.functions}"
    assert invoker["service"] == "${google_cloudfunctions2_function.pubsub[each.key].name}"
    assert invoker["member"] == "serviceAccount:${google_service_account.push.email}"
    sweep = single(config.resource("google_cloud_scheduler_job", "sweep")["pubsub_target"])
    assert sweep["topic_name"] == '${google_pubsub_topic.topics["commands"].id}'
