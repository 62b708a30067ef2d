"""Realistic Cloud Monitoring notifications (schema 1.2) not covered elsewhere, each read right or answered
with a specific reason, and none acted on for a service it does not name. Pure: no I/O.

- An incident id in capitals. Whether Monitoring's `incident_id` is case-sensitive is UNCONFIRMED (the
  "Notification content" page's schema 1.2 example and every sample write lowercase letters, digits and
  '.': "0.nrwotmyokd9n"). Read as it came, "0.NRWOTMYOKD9N" from a relay that upper-cased it keyed a second
  claim (shared/remediation/records.claim_key): the same incident could be acted on twice. Read folded,
  two incidents whose ids differ only in case would be one: that is said on every outcome of the id that
  was folded.
- A PromQL condition on an application metric scraped by Managed Service for Prometheus's sidecar for Cloud
  Run (its `prometheus_target` has `cluster` "__run__" and `namespace` the service's name:
  GoogleCloudPlatform/run-gmp-sidecar `confgenerator/agentmetrics.go`), or exported by an OpenTelemetry
  collector (`job`, `service_name`): the service it names is told to a person, never acted on.
- A policy's documentation holding a credential in another shape than a bearer or an OAuth token: an API
  key, HTTP Basic, a password in a database URL, a header written in lower case."""
from __future__ import annotations

import base64
import copy
import json
from pathlib import Path

import pytest

from shared.alerts.incidents import TargetKind, parse_notification
from shared.alerts.received import received
from shared.config import parse_config
from shared.outcomes import OutcomeStatus
from shared.pipeline import handle_alert, query_named_services
from shared.remediation.records import claim_key
from tests.integration.world import event
from tests.unit import test_notification_readings as readings
from tests.property.fast import FastWorld, scenario_model, seeded_copy
from tests.property.harness import ANCHOR

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
SAMPLE = json.loads((SAMPLES / "monitoring_pubsub_threshold_open_gce__flanksource.json").read_text())
BACKEND = {"type": "cloud_run_revision", "labels": {
    "project_id": "p", "location": "us-central1", "service_name": "backend", "revision_name": "backend-00002"}}
CONFIG = parse_config({"project": "p", "outcomes_topic": "projects/p/topics/outcomes", "services": [
    {"name": "projects/p/locations/us-central1/services/backend"},
    {"name": "projects/p/locations/europe-west1/services/checkout"},
]})


def notification(**incident) -> dict:
    doc = copy.deepcopy(SAMPLE)
    doc["incident"].update(resource=BACKEND, **incident)
    return doc


# --- the incident id's case ----------------------------------------------------------------------------------


@pytest.mark.parametrize("sent", ["0.NRWOTMYOKD9N", "0.NrWoTmYoKd9N", "0.nrwotmyokD9n"])
def test_an_incident_id_differing_only_in_case_keys_the_same_claim_and_says_it_was_folded(sent):
    folded = parse_notification(notification(incident_id=sent))
    as_sent = parse_notification(notification(incident_id="0.nrwotmyokd9n"))
    assert folded.incident_id == as_sent.incident_id == "0.nrwotmyokd9n"
    target = "projects/p/locations/us-central1/services/backend"
    assert claim_key(folded.incident_id, target, "rollback_traffic") == claim_key(
        as_sent.incident_id, target, "rollback_traffic")
    assert sent in folded.id_note and "0.nrwotmyokd9n" in folded.id_note and "UNCONFIRMED" not in folded.id_note
    assert as_sent.id_note == ""


@pytest.mark.parametrize("first, second", [("0.abc123", "0.ABC123"), ("0.ABC123", "0.abc123"),
                                           ("0.AbC123", "0.aBc123")])
def test_one_incident_under_ids_differing_only_in_case_is_acted_on_once_and_said(first, second):
    """The pipeline on in-process parts (tests/property/fast.py): a failing revision's alert, then the same
    alert with its id in another case (a relay's), is rolled back once; the second is a duplicate."""
    world = FastWorld(seeded_copy("bad_revision", None), ANCHOR)
    sent = []
    for n, incident_id in enumerate((first, second)):
        document = copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR))
        document["incident"]["incident_id"] = incident_id
        sent.append(handle_alert(event(json.dumps(document).encode(), str(n)), world.config, world.adapters))

    assert sent[0].status is OutcomeStatus.APPLIED, sent[0].reason
    assert sent[1].status is OutcomeStatus.SKIPPED, sent[1].reason
    assert world.standins.run.count("UpdateService") == 1
    assert sent[0].incident_id == sent[1].incident_id == first.lower()
    for outcome, incident_id in zip(sent, (first, second)):
        folded = [note for note in outcome.notes if "was read as" in note]
        assert bool(folded) is (incident_id != incident_id.lower()), outcome.notes
        assert not folded or repr(incident_id) in folded[0]


# --- a PromQL condition on a sidecar's or a collector's metric ------------------------------------------------


def promql(query: str, labels: dict[str, str] | None = None) -> dict:
    """A PromQL condition's notification on a Cloud Run sidecar's prometheus_target (cluster "__run__")."""
    return readings.promql(query, resource={"type": "prometheus_target",
                                            "labels": {**readings.PROMETHEUS_TARGET["labels"], **(labels or {})}})


@pytest.mark.parametrize("query, labels, said, managed", [
    # The Prometheus sidecar for Cloud Run: namespace is the service.
    ('sum(rate(http_server_requests_seconds_count{namespace="backend", status=~"5.."}[5m])) > 1', None,
     "namespace 'backend'", "projects/p/locations/us-central1/services/backend"),
    # The notification's own prometheus_target says it, the query selecting by another label.
    ('sum by (namespace) (rate(http_requests_total{code=~"5.."}[5m])) > 1', {"namespace": "backend"},
     "namespace 'backend'", "projects/p/locations/us-central1/services/backend"),
    # An OpenTelemetry collector's job (service.name) and service_name.
    ('sum(rate(http_server_duration_count{job="checkout", http_status_code=~"5.."}[5m])) > 1', None,
     "job 'checkout'", "projects/p/locations/europe-west1/services/checkout"),
    ('sum(rate(rpc_server_duration_count{service_name="checkout"}[5m])) > 3', None,
     "service_name 'checkout'", "projects/p/locations/europe-west1/services/checkout"),
    # A service nobody manages: said so.
    ('sum(rate(http_requests_total{namespace="orders"}[5m])) > 1', None, "namespace 'orders'", ""),
])
def test_a_sidecar_or_collector_metric_naming_a_service_says_so_and_acts_on_nothing(query, labels, said, managed):
    incident = parse_notification(promql(query, labels))
    target = incident.target
    assert target.kind is TargetKind.UNROUTABLE and not target.name and incident.cloud_run_service is None
    assert said in target.reason and "nothing was read or done" in target.reason, target.reason
    named = query_named_services(incident, CONFIG)
    if managed:
        assert managed in named and "nothing was read or done on any of them" in named, named
    else:
        assert "no managed service is named 'orders'" in named, named


@pytest.mark.parametrize("query, labels", [
    ('sum(rate(http_requests_total{namespace=~"back.*"}[5m])) > 1', None),     # a pattern names none
    ('sum(rate(http_requests_total{namespace!="backend"}[5m])) > 1', None),    # nor a negation
    # A GKE cluster's namespace is no Cloud Run service.
    ('sum(rate(http_requests_total{code="500"}[5m])) > 1', {"cluster": "prod-gke", "namespace": "backend"}),
])
def test_a_metric_naming_no_service_by_equality_names_none(query, labels):
    incident = parse_notification(promql(query, labels))
    assert "'backend'" not in incident.target.reason
    assert query_named_services(incident, CONFIG) == ""


# --- what a notification carries that is never read as its target ---------------------------------------------


@pytest.mark.parametrize("incident", [
    # A policy's user labels name another service, or ask Runwarden to ignore it: not read.
    {"policy_user_labels": {"runwarden": "ignore", "service": "frontend"}},
    # A log-match condition whose entry names the revision: the service is the resource's.
    {"condition": {"name": "projects/p/alertPolicies/9/conditions/1", "displayName": "panics",
                   "conditionMatchedLog": {"filter": 'resource.type="cloud_run_revision" AND textPayload:"panic"'}},
     "metric": {"type": "", "displayName": "", "labels": {}}, "observed_value": None, "threshold_value": None},
])
def test_only_the_resource_names_the_service(incident):
    read = parse_notification(notification(**incident))
    assert read.cloud_run_service == "projects/p/locations/us-central1/services/backend"


@pytest.mark.parametrize("observed", ["NaN", "nan", "-Infinity"])
def test_an_observed_value_that_is_no_number_is_never_a_reading(observed):
    assert parse_notification(notification(observed_value=observed)).observed_unread


# --- credentials in a policy's documentation -------------------------------------------------------------------


@pytest.mark.parametrize("secret, kept", [
    ("key=AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY", "key=[redacted credential]"),
    ("curl -H 'Authorization: Basic YWRtaW46aHVudGVyMg=='", "curl -H 'Authorization: Basic [redacted credential]'"),
    ("authorization: bearer c2VjcmV0LXdlYmhvb2s", "authorization: bearer [redacted credential]"),
    ("psql postgresql://app:S3cr3t-pw@10.40.0.3:5432/orders", "psql postgresql://app:[redacted credential]@10.40.0.3:5432/orders"),
    ("mysql://root:hunter2@127.0.0.1/db", "mysql://root:[redacted credential]@127.0.0.1/db"),
    # No credential: kept as it is.
    ("see https://console.cloud.google.com/run?project=p and user@example.com", None),
    ("basic checks first; the bearer of bad news", None),
])
def test_a_credential_in_a_documentation_is_never_kept(secret, kept):
    doc = notification(documentation={"content": f"## Runbook\n{secret}\n", "mime_type": "text/markdown"})
    data = base64.b64encode(json.dumps(doc).encode()).decode()
    content = received({"message": {"data": data, "messageId": "1"}})
    expected = json.dumps(f"## Runbook\n{kept if kept is not None else secret}\n")[1:-1]
    assert expected in content.data, content.data
