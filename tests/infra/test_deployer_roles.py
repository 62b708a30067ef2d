"""Whoever applies the module needs, in every project other than project_id that it writes in (the watched
projects, the projects of the managed runtime accounts), a role that may make each kind of resource it makes
there; docs/deploy.md ("Watching services in other projects") names those roles. A kind made there that the
guide's paragraph names no role for is an apply that stops half-way with PERMISSION_DENIED in someone else's
project, after Runwarden's own resources were made.

The module is read as data (tests/infra/terraform.py): a resource is made elsewhere when its project is not
`var.project_id`, when it is an IAM grant on a service account that is not one of the module's own, or when it
adds a project to the metrics scope.
"""
from __future__ import annotations

import re
from pathlib import Path

from tests.infra.terraform import ROOT, load_module

GUIDE = ROOT / "docs" / "deploy.md"
SECTION = "### Watching services in other projects"

# What making each kind checks in the other project, and the predefined role that holds it.
#   - a custom role: iam.roles.create (Role Administrator, roles/iam.roleAdmin; IAM "Create and manage custom roles");
#   - a project role binding: resourcemanager.projects.setIamPolicy (Project IAM Admin,
#     roles/resourcemanager.projectIamAdmin; IAM "Manage access to projects, folders, and organizations");
#   - a role binding on a service account (google_service_account_iam_member: getIamPolicy, then setIamPolicy on
#     the account, REST projects.serviceAccounts.setIamPolicy): iam.serviceAccounts.setIamPolicy, which Project IAM
#     Admin does not hold; Service Account Admin (roles/iam.serviceAccountAdmin) does, "on the service account or
#     the project that owns the service account" (IAM "Manage access to service accounts", required roles);
#   - a project added to the metrics scope: monitoring.metricsScopes.link on it (Monitoring Admin;
#     locations.global.metricsScopes.projects.create, "IAM Permissions").
ROLE_FOR = {
    "google_project_iam_custom_role": "Role Administrator",
    "google_project_iam_member": "Project IAM Admin",
    "google_service_account_iam_member": "Service Account Admin",
    "google_monitoring_monitored_project": "Monitoring Admin",
}


def _made_elsewhere(rtype: str, body: dict) -> bool:
    if rtype == "google_monitoring_monitored_project":
        return True                                       # adds another project (`name`) to project_id's scope
    if rtype == "google_service_account_iam_member":
        return "google_service_account." not in str(body["service_account_id"])   # not one of the module's own
    return "project" in body and body["project"] != "${var.project_id}"


def _elsewhere() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for (rtype, name), body in load_module().resources().items():
        if _made_elsewhere(rtype, body):
            found.setdefault(rtype, set()).add(name)
    return found


def _section(text: str) -> str:
    start = text.index(SECTION)
    end = text.index("\n## ", start)
    return re.sub(r"\s+", " ", text[start:end])


def test_the_module_makes_resources_in_other_projects() -> None:
    # The reading above must find what iam.tf and alerts.tf make there, or the test below proves nothing.
    elsewhere = _elsewhere()
    assert {"watched", "service_writes", "act_as"} <= elsewhere.get("google_project_iam_custom_role", set()), elsewhere
    assert "act_as" in elsewhere.get("google_service_account_iam_member", set()), elsewhere
    assert "push_token_creator" not in elsewhere.get("google_service_account_iam_member", set()), elsewhere


def test_the_guide_names_a_role_for_every_kind_made_in_another_project() -> None:
    elsewhere = _elsewhere()
    unknown = sorted(set(elsewhere) - set(ROLE_FOR))
    assert not unknown, (f"the module makes {unknown} outside project_id: say here which role may make each, and "
                         f"name it in docs/deploy.md, {SECTION!r}")
    section = _section(Path(GUIDE).read_text(encoding="utf-8"))
    missing = {rtype: ROLE_FOR[rtype] for rtype in elsewhere if ROLE_FOR[rtype] not in section}
    assert not missing, f"docs/deploy.md, {SECTION!r}, names no role that may make {missing} there"
