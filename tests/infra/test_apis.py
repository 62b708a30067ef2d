"""Every API the plan itself calls is on before the plan runs.

`apis.tf` enables Runwarden's APIs during the apply, but a data source is read during the plan,
before any of that: the API it calls must be one a new project has on by default, or one the
deploy guide's prerequisites enable by hand.
"""
from __future__ import annotations

import re

from tests.infra.terraform import ROOT, load_module

# The API each data source of the module calls (registry.terraform.io/providers/hashicorp/google:
# google_project reads the project from Cloud Resource Manager; archive_file is local).
DATA_SOURCE_APIS = {"google_project": "cloudresourcemanager.googleapis.com", "archive_file": None}
# Services a project created with the console or gcloud has enabled by default (Service Usage,
# "Enabled services", services enabled by default; the ones that matter here).
ENABLED_BY_DEFAULT = {"bigquery.googleapis.com", "datastore.googleapis.com", "logging.googleapis.com",
                      "monitoring.googleapis.com", "sql-component.googleapis.com", "storage.googleapis.com",
                      "storage-api.googleapis.com", "storage-component.googleapis.com", "cloudtrace.googleapis.com",
                      "cloudapis.googleapis.com", "servicemanagement.googleapis.com", "serviceusage.googleapis.com"}


def _enabled_by_the_guide() -> set[str]:
    text = (ROOT / "docs" / "deploy.md").read_text()
    prerequisites = text[text.index("## Prerequisites"):text.index("## `terraform apply`")]
    return {api for command in re.findall(r"gcloud services enable ([^`]+)`", prerequisites)
            for api in command.split() if api.endswith(".googleapis.com")}


def test_every_api_a_data_source_calls_is_on_before_the_plan() -> None:
    data_sources = {kind for kind, _ in load_module().resources("data")}
    unknown = data_sources - set(DATA_SOURCE_APIS)
    assert not unknown, f"data sources whose API this test does not know: {sorted(unknown)}"
    needed = {DATA_SOURCE_APIS[kind] for kind in data_sources} - {None}
    missing = needed - ENABLED_BY_DEFAULT - _enabled_by_the_guide()
    assert not missing, (f"the plan reads through {sorted(missing)}, which a new project does not have on and "
                         "docs/deploy.md's prerequisites do not enable: the first plan fails")


def test_the_check_reads_the_guide() -> None:
    assert "cloudresourcemanager.googleapis.com" in _enabled_by_the_guide()


# The API each permission prefix the functions' code declares is served by (the IAM permission's service:
# cloud.google.com/iam/docs/roles-permissions, one page per service; `datastore.*` are Firestore's).
PERMISSION_APIS = {"datastore": "firestore.googleapis.com", "iam": "iam.googleapis.com",
                   "logging": "logging.googleapis.com", "monitoring": "monitoring.googleapis.com",
                   "pubsub": "pubsub.googleapis.com", "run": "run.googleapis.com",
                   "secretmanager": "secretmanager.googleapis.com", "vpcaccess": "vpcaccess.googleapis.com"}


def _declared_permissions() -> set[str]:
    from functions.permissions import function_needs, required_permissions

    return {p for needs in function_needs().values() for p in required_permissions(needs)}


def _enabled_by_the_module() -> set[str]:
    return set(load_module().locals["apis"])


def test_every_api_the_functions_call_is_enabled_in_runwardens_project() -> None:
    """The functions call with their own service accounts, whose project is project_id. For a client-based API
    that project is the one the call is counted against ("If the principal for the API call is a service account
    ... the project associated with the service account is used as the quota project", Google Cloud "Quota
    project overview"), so the API must be on there even when the service read lives in a watched project; for a
    resource-based one, in the resource's project (which uses it already). Which kind each API is, Secret Manager
    among them, is UNCONFIRMED here: enabled in project_id, the call is served under both readings. Before,
    secretmanager.googleapis.com was missing: the rollback target's secret versions were read through an API a
    project that keeps no secret of its own has off, each read refused, and the check they make (a revision whose
    pinned secret version is disabled or destroyed is no rollback target) held nothing back."""
    declared = _declared_permissions()
    unknown = sorted(p for p in declared if p.split(".", 1)[0] not in PERMISSION_APIS)
    assert not unknown, f"permissions whose API this test does not know: {unknown}"
    needed = {PERMISSION_APIS[p.split(".", 1)[0]] for p in declared}
    missing = needed - _enabled_by_the_module()
    assert not missing, (f"the functions call {sorted(missing)}, which apis.tf does not enable in project_id: "
                         "each call fails with SERVICE_DISABLED where nobody enabled it by hand")


def test_the_api_check_reads_the_code() -> None:
    """It can fail: the code declares Secret Manager's permission, and an API list without it is found short."""
    declared = _declared_permissions()
    assert "secretmanager.versions.get" in declared and "datastore.entities.create" in declared
    assert PERMISSION_APIS["secretmanager"] in {PERMISSION_APIS[p.split(".", 1)[0]] for p in declared}


def test_the_guides_custom_role_check_covers_every_service_the_roles_hold() -> None:
    """docs/deploy.md's pre-apply check (`gcloud iam list-testable-permissions ... | grep -E '^(...)\\.'`) lists the
    permissions a custom role cannot hold: it must grep every service the custom roles hold, or one that cannot go
    into a role (failing the role's creation at apply) is never shown. Before, it left out secretmanager and iam."""
    text = (ROOT / "docs" / "deploy.md").read_text()
    found = re.search(r"list-testable-permissions [^`]*grep -E '\^\(([a-z|]+)\)\\\.'", text)
    assert found, "docs/deploy.md no longer carries the custom-role check"
    grepped = set(found.group(1).split("|"))
    held = {p.split(".", 1)[0] for p in _declared_permissions()}
    assert held <= grepped, f"the check leaves out {sorted(held - grepped)}"
