"""Which project each managed runtime service account lives in (infra/account_projects), run for real.

The act-as custom role is granted on each managed service's runtime account, and must be defined in
that account's project. Cloud Run services that name no identity run as the Compute Engine default
service account, NUMBER-compute@developer.gserviceaccount.com, whose e-mail carries the project's
number, not its id: read as NAME@PROJECT.iam.gserviceaccount.com it gave the project "developer",
and the plan refused the most common runtime account there is. The module needs no provider, so the
test applies a root that calls it (outputs only) and reads its output.
"""
from __future__ import annotations

import json
from typing import Iterator

import pytest

from tests.infra.terraform import INFRA, load_module, require_tool, terraform_in

MODULE_DIR = INFRA / "account_projects"
NUMBERS = {"123456789012": "shop-prod", "210987654321": "network-host"}
CASES = {
    # e-mail: the project id it must map to ("" = cannot be told: the plan refuses it)
    "backend@shop-prod.iam.gserviceaccount.com": "shop-prod",
    "123456789012-compute@developer.gserviceaccount.com": "shop-prod",
    "210987654321-compute@developer.gserviceaccount.com": "network-host",
    "999999999999-compute@developer.gserviceaccount.com": "",        # a project not among the given ones
    "shop-prod@appspot.gserviceaccount.com": "shop-prod",
    "someone@example.com": "",                                        # not a service account
    "not-an-email": "",
}


@pytest.fixture(scope="module")
def mapped(tmp_path_factory) -> Iterator[dict[str, str]]:
    terraform = require_tool("terraform", "terraform is not on the PATH: the account mapping is not run")
    root = tmp_path_factory.mktemp("account_projects_root")
    (root / "main.tf").write_text(f"""
module "m" {{
  source          = "{MODULE_DIR}"
  accounts        = {json.dumps(list(CASES))}
  project_numbers = {json.dumps(NUMBERS)}
}}
output "projects" {{
  value = module.m.projects
}}
""")
    terraform_run = terraform_in(terraform, root)

    def run(*args: str) -> str:
        done = terraform_run(*args)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    run("apply", "-input=false", "-auto-approve", "-lock=false", "-no-color")
    yield json.loads(run("output", "-json", "projects"))


@pytest.mark.parametrize("account", sorted(CASES))
def test_each_account_maps_to_its_project(mapped, account: str) -> None:
    assert mapped[account] == CASES[account]


def test_iam_tf_grants_act_as_in_the_project_the_module_finds() -> None:
    config = load_module()
    call = config.modules["account_projects"]
    assert call["source"] == "./account_projects"
    assert call["accounts"] == "${var.managed_runtime_service_accounts}"
    # The numbers of exactly the projects that get an act-as role.
    data = config.resources("data")[("google_project", "role_projects")]
    assert data["for_each"] == "${local.role_projects}" and data["project_id"] == "${each.value}"
    assert "data.google_project.role_projects" in call["project_numbers"] and "project.number => id" in call["project_numbers"]
    act_as = config.resource("google_service_account_iam_member", "act_as")
    found = "module.account_projects.projects[each.value.account]"
    assert act_as["service_account_id"] == "projects/${" + found + "}/serviceAccounts/${each.value.account}"
    assert act_as["role"] == "${google_project_iam_custom_role.act_as[" + found + "].id}"
    precondition = act_as["lifecycle"][0]["precondition"][0]["condition"]
    assert precondition == "${contains(tolist(local.role_projects), " + found + ")}"
