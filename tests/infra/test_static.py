"""Static checks of infra/ that need no Google Cloud: formatting, parsing, references,
documentation, and the example's call of the module."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.infra.terraform import (INFRA, MODULE, Config, all_module_dirs, load_file, load_module,
                                   require_tool, terraform_fmt_check, terraform_in, tf_files)

ALL_TF = sorted(INFRA.rglob("*.tf"))
# Names Terraform itself provides inside expressions.
_BUILTIN_ROOTS = {"each", "count", "path", "self", "terraform"}
_REFERENCE = re.compile(
    r"(?<![\w.])(?:(?P<kind>var|local|module)\.(?P<name>[A-Za-z_][\w-]*)"
    r"|data\.(?P<dtype>[a-z][a-z0-9_]*)\.(?P<dname>[A-Za-z_][\w-]*)"
    r"|(?P<rtype>(?:google|archive)_[a-z0-9_]+)\.(?P<rname>[A-Za-z_][\w-]*))")


def test_there_is_a_module_and_an_example() -> None:
    assert tf_files(MODULE), "infra/ holds no .tf files"
    assert len(all_module_dirs()) >= 2, "infra/examples/ holds no worked example"


def test_terraform_fmt() -> None:
    terraform = require_tool("terraform", "terraform is not on the PATH: `terraform fmt -check` skipped")
    result = terraform_fmt_check(terraform)
    assert result.returncode == 0, f"terraform fmt -check found unformatted files:\n{result.stdout}{result.stderr}"


@pytest.mark.parametrize("path", ALL_TF, ids=lambda p: str(p.relative_to(INFRA)))
def test_every_file_parses(path: Path) -> None:
    parsed = load_file(path)
    assert parsed, f"{path} parsed to nothing"


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)


def _unresolved(config: Config) -> list[str]:
    declared_resources = set(config.resources())
    declared_data = set(config.resources("data"))
    problems = []
    for path, parsed in config.files.items():
        # A `moved` block's `from` names an address that no longer exists, by design; its `to` must.
        for moved in parsed.get("moved", []):
            for end, exists in (("from", False), ("to", True)):
                match = _REFERENCE.search(str(moved.get(end, "")))
                if match is None or ((match.group("rtype"), match.group("rname")) in declared_resources) != exists:
                    problems.append(f"{path.name}: moved {end} {moved.get(end)!r} "
                                    f"({'no such resource' if exists else 'still declared'})")
        for text in _strings({block: body for block, body in parsed.items() if block != "moved"}):
            for match in _REFERENCE.finditer(text):
                where = f"{path.name}: {match.group(0)}"
                if match.group("kind") == "var" and match.group("name") not in config.variables:
                    problems.append(f"{where} (no such variable)")
                elif match.group("kind") == "local" and match.group("name") not in config.locals:
                    problems.append(f"{where} (no such local)")
                elif match.group("kind") == "module" and match.group("name") not in config.modules:
                    problems.append(f"{where} (no such module)")
                elif match.group("dtype") and (match.group("dtype"), match.group("dname")) not in declared_data:
                    problems.append(f"{where} (no such data source)")
                elif match.group("rtype") and (match.group("rtype"), match.group("rname")) not in declared_resources:
                    problems.append(f"{where} (no such resource)")
    return problems


@pytest.mark.parametrize("directory", all_module_dirs(), ids=lambda p: str(p.relative_to(INFRA)) or "module")
def test_every_reference_resolves(directory: Path) -> None:
    assert _unresolved(load_module(directory)) == []


def test_the_reference_check_can_fail(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'variable "a" {\n  description = "x"\n}\n'
        'resource "google_pubsub_topic" "t" {\n  name = "${var.a}-${var.b}-${local.c}"\n'
        '  labels = google_pubsub_topic.missing.labels\n}\n')
    problems = _unresolved(load_module(tmp_path))
    assert any("var.b" in p for p in problems) and any("local.c" in p for p in problems)
    assert any("google_pubsub_topic.missing" in p for p in problems)


def test_a_moved_block_must_leave_a_gone_address_for_a_declared_one(tmp_path: Path) -> None:
    (tmp_path / "main.tf").write_text(
        'resource "google_pubsub_topic" "t" {\n  name = "t"\n}\n'
        'moved {\n  from = google_pubsub_topic.t\n  to   = google_pubsub_topic.u\n}\n')
    problems = _unresolved(load_module(tmp_path))
    assert any("moved from" in p and "still declared" in p for p in problems), problems
    assert any("moved to" in p and "no such resource" in p for p in problems), problems


@pytest.mark.parametrize("directory", all_module_dirs(), ids=lambda p: str(p.relative_to(INFRA)) or "module")
def test_every_variable_and_output_is_documented(directory: Path) -> None:
    config = load_module(directory)
    bare = [f"variable {n}" for n, body in config.variables.items() if len(str(body.get("description", ""))) < 15]
    bare += [f"output {n}" for n, body in config.outputs.items() if len(str(body.get("description", ""))) < 15]
    assert bare == [], f"{directory}: without a description: {bare}"


def test_the_example_calls_the_module_with_its_own_variables() -> None:
    module = load_module(MODULE)
    required = {n for n, body in module.variables.items() if "default" not in body}
    for directory in all_module_dirs()[1:]:
        for name, call in load_module(directory).modules.items():
            arguments = set(call) - {"source", "providers", "depends_on", "count", "for_each"}
            assert arguments <= set(module.variables), f"{directory}/{name}: unknown {arguments - set(module.variables)}"
            assert required <= arguments, f"{directory}/{name}: missing required {required - arguments}"


def test_the_google_provider_is_pinned_to_a_range() -> None:
    for directory in all_module_dirs():
        blocks = load_module(directory).blocks("terraform")
        providers = [p for b in blocks for p in b.get("required_providers", [])]
        google = next(p["google"] for p in providers if "google" in p)
        version = google["version"]
        assert ">=" in version and "<" in version.replace("<=", ""), f"{directory}: google provider {version!r}"


def test_the_readme_lists_every_input_and_output() -> None:
    readme = (INFRA / "README.md").read_text()
    listed = set(re.findall(r"^\| `([a-z_0-9]+)` \|", readme, flags=re.M))
    module = load_module(MODULE)
    declared = set(module.variables) | set(module.outputs)
    assert listed == declared, f"infra/README.md lacks {sorted(declared - listed)}, lists unknown {sorted(listed - declared)}"


# A service account id: "6-30 characters ... lowercase letters, digits and hyphens", beginning with a
# letter (IAM API, projects.serviceAccounts.create, accountId); the google provider checks
# ^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$.
_ACCOUNT_ID = re.compile(r"^[a-z](?:[-a-z0-9]{4,28}[a-z0-9])$")


def _prefix_bounds() -> tuple[int, int]:
    """The shortest and longest name_prefix its validation allows: `^[a-z][a-z0-9-]{LOW,HIGH}$`."""
    condition = load_module(MODULE).variables["name_prefix"]["validation"][0]["condition"]
    low, high = map(int, re.search(r"\^\[a-z\]\[a-z0-9-\]\{(\d+),(\d+)\}\$", condition).groups())
    return 1 + low, 1 + high


def test_every_service_account_id_fits_for_every_prefix_the_validation_allows() -> None:
    templates = []      # each account_id with its for_each key filled in, the prefix left as ${var.name_prefix}
    for body in load_module(MODULE).of_type("google_service_account").values():
        for key in re.findall(r'"([a-z_]+)"', body.get("for_each", "")) or [""]:
            templates.append(body["account_id"].replace('${replace(each.key, "_", "-")}', key.replace("_", "-")))
    assert len(templates) >= 4, templates
    for prefix_length in _prefix_bounds():
        prefix = "a" * prefix_length
        for template in templates:
            account_id = template.replace("${var.name_prefix}", prefix)
            assert "${" not in account_id, account_id
            assert _ACCOUNT_ID.match(account_id), (
                f"name_prefix of {prefix_length} characters passes the validation but gives the service "
                f"account id {account_id!r} ({len(account_id)} characters): IAM allows 6-30")


def test_every_local_module_call_passes_exactly_its_variables() -> None:
    """`terraform validate` cannot run here (no provider download): the calls of the module's own
    provider-less submodules (config_check/, account_projects/) are checked against their variables."""
    calls = 0
    for directory in [MODULE, *sorted(p.parent for p in INFRA.glob("*/main.tf"))]:
        for name, call in load_module(directory).modules.items():
            source = call["source"]
            if not source.startswith("./"):
                continue
            child = load_module((directory / source).resolve())
            arguments = set(call) - {"source", "providers", "depends_on", "count", "for_each"}
            required = {n for n, body in child.variables.items() if "default" not in body}
            assert arguments <= set(child.variables), f"{name}: unknown {sorted(arguments - set(child.variables))}"
            assert required <= arguments, f"{name}: missing required {sorted(required - arguments)}"
            calls += 1
    assert calls >= 2, "no local module call found: the check proves nothing"


def test_every_function_is_built_as_the_build_service_account_given() -> None:
    """docs/deploy.md's prerequisites let an SRE choose the account Cloud Build runs the builds as
    (needed where the default one is disabled or has no roles): the module passes it to all three
    functions, and leaves the platform's default when none is given."""
    module = load_module(MODULE)
    assert module.variables["build_service_account"]["default"] is None
    for name in ("pubsub", "timeline"):
        build = module.resource("google_cloudfunctions2_function", name)["build_config"]
        build = build[0] if isinstance(build, list) else build
        assert build.get("service_account") == "${local.build_service_account}", name


@pytest.fixture(scope="module")
def build_account_planner(tmp_path_factory):
    """The module's own variable block and local, planned by terraform (no provider needed)."""
    terraform = require_tool("terraform", "terraform is not on the PATH: the build account's name is not checked")
    variables = (MODULE / "variables.tf").read_text()
    block = re.search(r'^variable "build_service_account" \{.*?^\}\n', variables, flags=re.M | re.S).group(0)
    functions = (MODULE / "functions.tf").read_text()
    local = re.search(r"^  build_service_account = \(.*?\)\n", functions, flags=re.M | re.S).group(0)
    root = tmp_path_factory.mktemp("build_account")
    (root / "main.tf").write_text(f'{block}\nlocals {{\n{local}}}\noutput "name" {{\n  value = local.build_service_account\n}}\n')
    terraform_run = terraform_in(terraform, root)

    def plan(*args: str) -> subprocess.CompletedProcess[str]:
        return terraform_run("plan", "-input=false", "-lock=false", "-no-color", *args)
    return plan


def test_the_build_account_is_named_as_the_functions_api_wants_it(build_account_planner) -> None:
    # BuildConfig.service_account: "projects/{projectId}/serviceAccounts/{serviceAccountEmail}".
    done = build_account_planner("-var=build_service_account=rw-builder@shop-ci-1.iam.gserviceaccount.com")
    assert done.returncode == 0, done.stdout + done.stderr
    assert 'name = "projects/shop-ci-1/serviceAccounts/rw-builder@shop-ci-1.iam.gserviceaccount.com"' in done.stdout
    default = build_account_planner()
    assert default.returncode == 0 and "name =" not in default.stdout, default.stdout + default.stderr
    for wrong in ("rw-builder", "123456789-compute@developer.gserviceaccount.com"):
        refused = build_account_planner(f"-var=build_service_account={wrong}")
        assert refused.returncode != 0 and "NAME@PROJECT.iam.gserviceaccount.com" in refused.stdout + refused.stderr
