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
