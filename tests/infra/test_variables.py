"""Every input of the module refuses, at plan and with a message naming it, a value that would deploy a
Runwarden that fails later (at apply, at its first alert, or silently never).

The module's own `variable` blocks (infra/variables.tf, copied whole) are planned by terraform in a root
of their own: a variable's validation needs no provider, so this runs where the google provider cannot
be downloaded. Where the code already decides what a value may be (the config's patterns for the state
database, the collection prefix, project ids and e-mails), the samples are judged by the code's own
pattern, so the two cannot drift apart.
"""
from __future__ import annotations

import json
import re
import subprocess
from typing import Iterator

import pytest

from shared import config as runwarden_config
from shared.gcp import identifiers
from tests.infra.terraform import EXAMPLES, MODULE, require_tool, terraform_in

REQUIRED = {"project_id": "my-project", "region": "us-central1", "source_dir": "/src",
            "firestore_location": "nam5",
            "human_notification_channels": ["projects/my-project/notificationChannels/123"]}


@pytest.fixture(scope="module")
def plan_with(tmp_path_factory) -> Iterator:
    terraform = require_tool("terraform", "terraform is not on the PATH: the variables' validations are not run")
    root = tmp_path_factory.mktemp("variables")
    (root / "variables.tf").write_text((MODULE / "variables.tf").read_text())
    run = terraform_in(terraform, root)

    def plan(**values) -> subprocess.CompletedProcess[str]:
        given = {**REQUIRED, **values}
        (root / "terraform.tfvars.json").write_text(json.dumps(given))
        return run("plan", "-input=false", "-lock=false", "-no-color")

    yield plan


def _said(result: subprocess.CompletedProcess[str]) -> str:
    return re.sub(r"\s+", " ", result.stdout + result.stderr)


def _accepted(plan, name: str, value) -> bool:
    result = plan(**{name: value})
    if result.returncode == 0:
        return True
    said = _said(result)
    assert "Invalid value for variable" in said and f"var.{name}" in said, said
    return False


def test_the_defaults_and_the_required_values_plan(plan_with) -> None:
    result = plan_with()
    assert result.returncode == 0, _said(result)


# The state's names: the config loader's own patterns (shared/config.py, StateSettings) decide. A name the
# module accepted and the loader refuses deployed functions that refuse their config on every delivery.
_DATABASE = runwarden_config.StateSettings.model_fields["database"].metadata
_PREFIX = runwarden_config.StateSettings.model_fields["collection_prefix"].metadata


def _pattern(metadata) -> re.Pattern[str]:
    found = [m.pattern for m in metadata if getattr(m, "pattern", None)]
    assert len(found) == 1, metadata
    return re.compile(found[0])


@pytest.mark.parametrize("value", ["runwarden", "(default)", "rw-state-2", "abcd", "Runwarden", "rw", "2state",
                                   "state-", "run_warden", "default", "a" * 63, "a" * 64])
def test_the_firestore_database_is_a_name_the_config_may_carry(plan_with, value: str) -> None:
    assert _accepted(plan_with, "firestore_database", value) is bool(_pattern(_DATABASE).match(value)), value


@pytest.mark.parametrize("value", ["runwarden", "rw_prod", "r", "Runwarden", "run-warden", "1rw", "a" * 41, "a" * 42])
def test_the_collection_prefix_is_one_the_config_may_carry(plan_with, value: str) -> None:
    assert _accepted(plan_with, "collection_prefix", value) is bool(_pattern(_PREFIX).match(value)), value


# Projects: alerts and the config name a project by its id (shared/config.py, _PROJECT_ID).
@pytest.mark.parametrize("value", ["shop-prod", "example.com:shop-db", "123456789012", "Shop-Prod",
                                   "projects/shop-prod", " shop-prod"])
def test_a_watched_project_is_a_project_id(plan_with, value: str) -> None:
    expected = bool(runwarden_config._PROJECT_ID.match(value))
    assert _accepted(plan_with, "watched_projects", [value]) is expected, value


@pytest.mark.parametrize("value, expected", [
    ("my-project", True), ("shop-ops-1", True),
    ("123456789012", False),            # the number: every name built from it is wrong
    ("My Project", False), ("my-project-", False), ("proj", False),
    ("example.com:shop-ops", False),    # its source bucket, named after it, could not be created
    ("goog-tools", False),              # the bucket would begin with "goog" (Cloud Storage, "Bucket names")
    ("my-goog-1", True),
])
def test_the_project_is_a_project_id_a_bucket_can_be_named_after(plan_with, value: str, expected: bool) -> None:
    assert _accepted(plan_with, "project_id", value) is expected, value


# Names built from the prefix: topics and subscriptions "<prefix>-..." (Pub/Sub: an id "must not start with goog"),
# the source bucket "<project_id>-<prefix>-source" (Cloud Storage: no "google" nor "g00gle" in a bucket name).
@pytest.mark.parametrize("value, expected", [
    ("runwarden", True), ("rw", False), ("rw-prod", True), ("dog-goog", True),
    ("goog", False), ("googwatch", False), ("rw-google", False), ("rwg00gle", False), ("go0gle-rw", False),
])
def test_the_name_prefix_makes_names_pubsub_and_storage_take(plan_with, value: str, expected: bool) -> None:
    assert _accepted(plan_with, "name_prefix", value) is expected, value


@pytest.mark.parametrize("value, expected", [("us-central1", True), ("europe-west4", True),
                                             ("northamerica-northeast2", True), ("us-central1-a", False),
                                             ("nam5", False), ("US-CENTRAL1", False), ("", False)])
def test_the_region_is_a_region(plan_with, value: str, expected: bool) -> None:
    assert _accepted(plan_with, "region", value) is expected, value


@pytest.mark.parametrize("value", ["sre@example.com", "", "group:sre@example.com", "sre", "sre@example"])
def test_the_operators_group_is_an_email_without_its_iam_prefix(plan_with, value: str) -> None:
    expected = value == "" or bool(runwarden_config._EMAIL.match(value))
    assert _accepted(plan_with, "operators_group", value) is expected, value


@pytest.mark.parametrize("value, expected", [
    (["projects/my-project/notificationChannels/123"], True),
    (["sre-oncall@example.com"], False),     # an address, not the channel made for it
    (["123"], False),
    ([], False),
])
def test_the_human_channels_are_channel_names(plan_with, value: list[str], expected: bool) -> None:
    assert _accepted(plan_with, "human_notification_channels", value) is expected, value


# The request timeout: a Cloud Run revision's is 1 s to 60 min (RevisionTemplate.timeout, Cloud Run Admin
# API v2), the same range service_request_timeouts takes. 0 put the latency bar at 0 ms (every request
# paged); 7200 put it above any p99 (never paged).
@pytest.mark.parametrize("value, expected", [(300, True), (1, True), (3600, True), (0, False), (-5, False),
                                             (7200, False), (299.5, False)])
def test_the_request_timeout_is_one_cloud_run_allows(plan_with, value, expected: bool) -> None:
    assert _accepted(plan_with, "request_timeout_seconds", value) is expected, value


@pytest.mark.parametrize("value", ["backend", "api-2", "projects/my-project/locations/us-central1/services/backend",
                                   "Backend", "backend-", "backend api"])
def test_a_watched_service_is_a_short_name(plan_with, value: str) -> None:
    # The alert policies match resource.label.service_name, the service's id (shared/gcp/identifiers.py, _ID):
    # a full name never matches, and the service it meant was never alerted on.
    expected = bool(identifiers._ID.match(value))
    assert _accepted(plan_with, "watched_services", [value]) is expected, value
    assert _accepted(plan_with, "service_request_timeouts", {value: 60}) is expected, value


@pytest.mark.parametrize("name, value", [("min_instances", 1.5), ("max_instances", 2.5)])
def test_instance_counts_are_whole(plan_with, name: str, value: float) -> None:
    assert not _accepted(plan_with, name, value)


@pytest.mark.parametrize("low, high, expected", [(0, 1, True), (2, 2, True), (3, 2, False), (3, 1, False)])
def test_on_alerts_warm_instances_fit_under_its_max(plan_with, low: int, high: int, expected: bool) -> None:
    """min_instances above max_instances planned, and failed only at apply, half the module created."""
    result = plan_with(min_instances=low, max_instances=high)
    said = _said(result)
    assert (result.returncode == 0) is expected, said
    if not expected:
        assert "var.max_instances" in said and "at least min_instances" in said, said


@pytest.mark.parametrize("value, expected", [("512Mi", True), ("1Gi", True), ("2G", True), ("512MB", False),
                                             ("512", False), ("0.5Gi", False), ("512 Mi", False)])
def test_the_function_memory_is_written_as_the_functions_api_takes_it(plan_with, value: str, expected: bool) -> None:
    assert _accepted(plan_with, "function_memory", value) is expected, value


@pytest.mark.parametrize("value, expected", [("sre-oncall@example.com", True), ("sre-oncall", False),
                                             ("a@example.com, b@example.com", False), ("", False)])
def test_the_examples_oncall_address_is_one_address(tmp_path, value: str, expected: bool) -> None:
    terraform = require_tool("terraform", "terraform is not on the PATH: the example's validation is not run")
    (tmp_path / "variables.tf").write_text((EXAMPLES / "basic" / "variables.tf").read_text())
    (tmp_path / "terraform.tfvars.json").write_text(json.dumps({"project_id": "my-project", "oncall_email": value}))
    result = terraform_in(terraform, tmp_path)("plan", "-input=false", "-lock=false", "-no-color")
    assert (result.returncode == 0) is expected, _said(result)
    if not expected:
        assert "var.oncall_email" in _said(result)


# Firestore's locations: the multi-regions and regions on Firestore's "Locations" page (Standard and
# Enterprise editions list the same). An App Engine location name (us-central, europe-west), a zone,
# a multi-region of another product (US, EU) or a capital passed plan and failed at apply, when
# CreateDatabase refused it, after the topics, accounts and roles were made.
@pytest.mark.parametrize("value, expected", [
    ("nam5", True), ("nam7", True), ("eur3", True),
    ("us-central1", True), ("europe-west4", True), ("asia-northeast1", True), ("africa-south1", True),
    ("europe-west12", True), ("northamerica-south1", True), ("me-central2", True),
    ("us-central", False), ("europe-west", False),      # App Engine's location ids, not Firestore's
    ("nam6", False), ("eur4", False), ("US", False), ("EU", False), ("NAM5", False),
    ("us-central1-a", False), ("us-central2", False),   # a zone; a private region, only inside nam5
    ("europe-west7", False), ("", False), (" nam5", False),
])
def test_the_firestore_location_is_one_firestore_offers(plan_with, value: str, expected: bool) -> None:
    assert _accepted(plan_with, "firestore_location", value) is expected, value


# Labels: keys 1-63 characters, lowercase letters (international ones too), digits, _ and -, starting
# with a lowercase letter; values 0-63 of the same; at most 64 on a resource (Resource Manager,
# "Creating and managing labels", Requirements for labels). The module adds its own (managed-by, app)
# and the google provider its attribution label, so 61 more keys at most. A bad label passed plan and
# failed at apply on the first labelled resource.
#
# Bytes: each key and value "is limited to 63 Unicode characters or 128 bytes, whichever is smaller"
# (google/monitoring/v3/alert.proto, AlertPolicy.user_labels, as the google-cloud-monitoring client's
# docstring quotes it; every alert policy carries these labels). 63 characters pass 128 bytes of UTF-8
# only with international ones of 3 or 4 bytes: CJK (値, ひ: 3), Devanagari digits (३: 3), a
# supplementary-plane ideograph (𠀀: 4). Two-byte ones (é, д, ٣) reach 126 bytes at 63 characters.
_CJK, _HIRA, _DEVA_3, _SUPP = "\u5024", "\u3072", "\u0969", "\U00020000"
_BYTES = [
    ({"team": _CJK * 42}, True), ({"team": _CJK * 42 + "ab"}, True), ({"team": _CJK * 42 + "abc"}, False),
    ({"team": _HIRA * 43}, False), ({"team": "v" + _DEVA_3 * 42 + "a"}, True),
    ({"team": "v" + _DEVA_3 * 43}, False), ({"team": _SUPP * 32}, True), ({"team": _SUPP * 33}, False),
    ({_CJK * 42 + "ab": "sre"}, True), ({_HIRA * 42 + "abc": "sre"}, False), ({"k" + _SUPP * 32: "sre"}, False),
    ({"\u00e9quipe": "\u00e9" * 63}, True), ({"\u0434" * 63: "\u0663" * 63}, True), ({"team": "\u00e9" * 64}, False),
]
@pytest.mark.parametrize("value, expected", [
    ({}, True), ({"team": "sre"}, True), ({"cost_center": "cc-123"}, True), ({"env": ""}, True),
    ({"équipe": "sre"}, True), ({"k" * 63: "v" * 63}, True),
    ({"app": "shop"}, True),                                  # overrides the module's own, adds none
    ({"Team": "sre"}, False), ({"team": "SRE"}, False), ({"1team": "sre"}, False),
    ({"_team": "sre"}, False), ({"": "sre"}, False), ({"team": "s r e"}, False),
    ({"team.name": "sre"}, False), ({"team": "sre/ops"}, False),
    ({"k" * 64: "v"}, False), ({"team": "v" * 64}, False),
    ({f"k{i}": "v" for i in range(61)}, True), ({f"k{i}": "v" for i in range(62)}, False),
    *_BYTES,
])
def test_the_labels_are_labels_google_cloud_accepts(plan_with, value: dict, expected: bool) -> None:
    assert _accepted(plan_with, "labels", value) is expected, value


# The managed services' runtime accounts are e-mails of one of the three forms of service account
# (infra/account_projects): an IAM member ("serviceAccount:..."), a user's address or a name passed
# plan and failed at apply, after the functions were deployed.
@pytest.mark.parametrize("value, expected", [
    ("backend-sa@shop-prod.iam.gserviceaccount.com", True),
    ("123456789012-compute@developer.gserviceaccount.com", True),
    ("shop-prod@appspot.gserviceaccount.com", True),
    ("serviceAccount:backend-sa@shop-prod.iam.gserviceaccount.com", False),
    ("alice@example.com", False), ("backend-sa", False), ("Backend-SA@shop-prod.iam.gserviceaccount.com", False),
    ("projects/shop-prod/serviceAccounts/backend-sa@shop-prod.iam.gserviceaccount.com", False),
])
def test_a_managed_runtime_account_is_a_service_account_email(plan_with, value: str, expected: bool) -> None:
    assert _accepted(plan_with, "managed_runtime_service_accounts", [value]) is expected, value


# Whole numbers where the API takes one: DeadLetterPolicy.max_delivery_attempts is an int32
# (google/pubsub/v1/pubsub.proto) and RevisionTemplate.timeout whole seconds, as request_timeout_seconds
# already checks. 7.5 passed plan and failed at apply; 59.5 put a latency bar at a timeout no service has.
@pytest.mark.parametrize("name, value, expected", [
    ("max_delivery_attempts", 7, True), ("max_delivery_attempts", 7.5, False),
    ("service_request_timeouts", {"backend": 60}, True), ("service_request_timeouts", {"backend": 59.5}, False),
])
def test_counts_and_timeouts_are_whole(plan_with, name: str, value, expected: bool) -> None:
    assert _accepted(plan_with, name, value) is expected, value


# A connector's own max instances: VPC Access takes 3 to 10 ("--max-instances ... 3-10", gcloud reference,
# `compute networks vpc-access connectors create` / `update`), the range the config's max_instances_ceiling
# already keeps to (shared/config.py, ConnectorPolicy: its `ge` and `le` decide here, so the two cannot drift).
# 11 or 20 passed plan and put the "at its max instances" alert's bar at 10.5 or 19.5, which connector/instances
# never reaches: the connector's ceiling was never alerted on.
def _connector_bounds() -> tuple[int, int]:
    import annotated_types

    metadata = runwarden_config.ConnectorPolicy.model_fields["max_instances_ceiling"].metadata
    low = next(m.ge for m in metadata if isinstance(m, annotated_types.Ge))
    high = next(m.le for m in metadata if isinstance(m, annotated_types.Le))
    return low, high


_CONNECTOR = "projects/my-project/locations/us-central1/connectors/backend-conn"


@pytest.mark.parametrize("value", [3, 4, 10, 2, 11, 20, 100, 4.5])
def test_a_connectors_max_instances_is_one_vpc_access_allows(plan_with, value) -> None:
    low, high = _connector_bounds()
    assert (low, high) == (3, 10)
    expected = low <= value <= high and value == int(value)
    assert _accepted(plan_with, "connector_max_instances", {_CONNECTOR: value}) is expected, value


@pytest.mark.parametrize("name, expected", [
    (_CONNECTOR, True),
    ("backend-conn", False),                                            # its short name
    ("projects/my-project/locations/us-central1/connectors/", False),
    ("https://vpcaccess.googleapis.com/v1/" + _CONNECTOR, False),
])
def test_a_connector_is_named_by_its_full_name(plan_with, name: str, expected: bool) -> None:
    assert _accepted(plan_with, "connector_max_instances", {name: 4}) is expected, name


# The alert built from each name matches the connector's monitored-resource labels (project_id, location,
# connector_name: infra/alerts.tf, connector_ceiling), and the config check compares the names with the config's
# bounds.connectors: so a name is one the config loader accepts for a connector (shared/config.py, _name_problem),
# whose pattern decides. A revision may name its connector by its project's number (VpcAccess.connector, "where
# {project} can be project id or number"); copied here, it planned a policy no series ever matched.
@pytest.mark.parametrize("name", [
    _CONNECTOR,
    "projects/example.com:shop-net/locations/europe-west1/connectors/c1",      # a domain-scoped project
    "projects/123456789012/locations/us-central1/connectors/backend-conn",     # its project's number
    "projects/my-project/locations/us-central1-a/connectors/backend-conn",     # a zone
    "projects/my-project/locations/global/connectors/backend-conn",            # no region at all
    "projects/my-project/locations/us/connectors/backend-conn",                # a multi-region
    "projects/my-project/locations/eu/connectors/backend-conn",
    "projects/my-project/locations/europe-west12/connectors/backend-conn",     # a region of two digits
    "projects/My-Project/locations/us-central1/connectors/backend-conn",
    "projects/my-project/locations/us-central1/connectors/Backend-Conn",
    "projects/my-project/locations/us-central1/connectors/backend-",
    " " + _CONNECTOR,
])
def test_a_connectors_name_is_one_the_config_writes(plan_with, name: str) -> None:
    expected = runwarden_config._name_problem(name, "connectors", "CONNECTOR") is None
    assert _accepted(plan_with, "connector_max_instances", {name: 4}) is expected, name


# The config travels inside the source (functions.tf: fileset(source_dir, config_file) names its zip entry, and
# RUNWARDEN_CONFIG is /workspace/<config_file>). A path out of source_dir passed plan: "../runwarden.yaml" was
# zipped as an entry named "../runwarden.yaml", outside the directory the source is unpacked in, and the functions
# were told to read /workspace/../runwarden.yaml; an absolute path named no file of the source at all.
@pytest.mark.parametrize("value, expected", [
    ("runwarden.yaml", True), ("config/prod.yaml", True), ("runwarden.prod.yml", True),
    ("../runwarden.yaml", False), ("config/../../runwarden.yaml", False), ("/etc/runwarden.yaml", False),
    ("", False), ("config/", False),
])
def test_the_config_file_is_a_path_inside_the_source(plan_with, value: str, expected: bool) -> None:
    assert _accepted(plan_with, "config_file", value) is expected, value


# A list whose entries key a map of grants (infra/locals.tf, watched_pairs and act_as_pairs): an entry listed twice
# stopped the plan at Terraform's own "Duplicate object key", which names neither the variable nor the entry.
@pytest.mark.parametrize("name, entries, twice", [
    ("watched_projects", ["shop-prod", "shop-db", "shop-prod", "net-host", "net-host"], ["shop-prod", "net-host"]),
    ("managed_runtime_service_accounts",
     ["backend-sa@shop-prod.iam.gserviceaccount.com", "123456789012-compute@developer.gserviceaccount.com",
      "backend-sa@shop-prod.iam.gserviceaccount.com"], ["backend-sa@shop-prod.iam.gserviceaccount.com"]),
    # Not keys of a map, but a repeat is most often another entry mistyped as one already there (a service never
    # alerted on, a person never paged), and a repeated channel is sent to Monitoring twice in one policy.
    ("watched_services", ["backend", "checkout", "backend"], ["backend"]),
    ("human_notification_channels",
     ["projects/my-project/notificationChannels/123", "projects/my-project/notificationChannels/456",
      "projects/my-project/notificationChannels/123"], ["projects/my-project/notificationChannels/123"]),
])
def test_an_entry_listed_twice_is_named_at_plan(plan_with, name: str, entries: list[str], twice: list[str]) -> None:
    said = _said(plan_with(**{name: entries}))
    assert f"{name} lists {', '.join(twice)} more than once" in said, said
    assert _accepted(plan_with, name, sorted(set(entries)))     # each once: planned



# Every alert's documentation appends "#runbook-<section>" to runbook_url (alerts.tf, watchdog.tf): a fragment already
# in it, or a space, broke every alert's runbook link, unsaid.
@pytest.mark.parametrize("value, expected", [
    ("docs/deploy.md", True), ("https://github.com/acme/runwarden/blob/v0.2.0/docs/deploy.md", True),
    ("https://wiki.example.com/runwarden?page=deploy", True),
    ("https://github.com/acme/runwarden/blob/main/docs/deploy.md#runbook", False),
    ("https://wiki.example.com/runwarden#L12", False), ("https://wiki.example.com/run warden", False),
    ("https://wiki.example.com/runwarden ", False), ("", False),
])
def test_the_runbook_url_takes_the_sections_fragment(plan_with, value: str, expected: bool) -> None:
    assert _accepted(plan_with, "runbook_url", value) is expected, value
