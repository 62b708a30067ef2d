"""Notifications read right, with specific answers: an incident id with whitespace around it, a value
with a unit, a query condition on a resource Runwarden does not read that names a managed service."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from shared.alerts.incidents import IncidentParseError, TargetKind, parse_notification
from shared.alerts.reasons import closed_reason
from shared.config import parse_config
from shared.pipeline import query_named_services

SAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "samples"
DOCUMENTED = json.loads((SAMPLES / "monitoring_docs_example_closed_gce__via_goalert.json").read_text())


def documented(**incident) -> dict:
    doc = copy.deepcopy(DOCUMENTED)
    doc["incident"].update(incident)
    return doc


# --- incident_id ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("incident_id", [
    " 0.opqiw61fsv7p", "0.opqiw61fsv7p ", "  0.opqiw61fsv7p\t", "\n0.opqiw61fsv7p\r\n",
    "\u00a00.opqiw61fsv7p\u00a0",   # a no-break space, pasted from a chat or a document
    "\u20030.opqiw61fsv7p",         # an em space
])
def test_whitespace_around_an_incident_id_is_the_same_incident(incident_id):
    """Two deliveries of one incident, with and without the whitespace a relay or a hand added, are one
    incident: one claim, one action (claims and records are keyed by the id)."""
    assert parse_notification(documented(incident_id=incident_id)).incident_id == "0.opqiw61fsv7p"


@pytest.mark.parametrize("incident_id, said", [
    ("0.opq iw61", "a space at character 5"),
    ("0.opq\tiw61", "a tab at character 5"),
    ("0.opq\u200biw61", "U+200B at character 5"),           # a zero-width space: invisible, never stripped
    ("\ufeff0.opqiw61", "U+FEFF at character 0"),           # a byte-order mark a file's first line carries
    ("0.opq\x00iw61", "U+0000 at character 5"),
])
def test_whitespace_or_an_invisible_character_inside_an_incident_id_is_refused_by_name(incident_id, said):
    """Inside the id, nothing can be dropped without guessing which of two ids is meant: refused, naming
    the character and where it is."""
    with pytest.raises(IncidentParseError) as error:
        parse_notification(documented(incident_id=incident_id))
    assert error.value.field == "incident.incident_id"
    assert said in error.value.reason and "0.nrwotmyokd9n" in error.value.reason, error.value.reason


@pytest.mark.parametrize("incident_id", ["command:rb-1", "Command:rb-1", " command:rb-1"])
def test_an_incident_id_naming_an_operators_command_is_refused(incident_id):
    """`command:ID` is the incident an operator's command's writes carry: an alert so named (relayed or hand-made;
    Monitoring writes none) shared that command's claims and timeline, and was answered as its duplicate."""
    with pytest.raises(IncidentParseError) as error:
        parse_notification(documented(incident_id=incident_id))
    assert error.value.field == "incident.incident_id"
    assert "the incident Runwarden gives an operator's command's writes" in error.value.reason, error.value.reason


# --- values with units ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("observed, shown", [
    ("0.5 s", "'0.5 s'"), ("83.5%", "'83.5%'"), ("0.835 ratio", "'0.835 ratio'"), ("0,835", "'0,835'"),
])
def test_a_closed_value_with_a_unit_says_the_unit_is_not_read(observed, shown):
    """A closing whose value carries a unit (hand-typed, or a policy with units) shows no recovery, and says
    it was not read as a number rather than that it was not clear of the bar: no unit is guessed."""
    reason = closed_reason(parse_notification(documented(observed_value=observed)))
    assert "not taken as recovery" in reason
    assert f"observed_value {shown} is no plain number" in reason, reason
    assert "no value on the clear side" not in reason


@pytest.mark.parametrize("field, value, said", [
    ("threshold_value", True, "expected the value as a string (like \"0.9\") or a number, got boolean true"),
    ("observed_value", {"value": 0.9}, "expected the value as a string (like \"0.9\") or a number, got object"),
    ("threshold_value", [0.9], "expected the value as a string (like \"0.9\") or a number, got array"),
])
def test_a_value_of_the_wrong_kind_is_refused_naming_the_field_and_what_is_expected(field, value, said):
    with pytest.raises(IncidentParseError) as error:
        parse_notification(documented(**{field: value}))
    assert error.value.field == f"incident.{field}"
    assert said in error.value.reason, error.value.reason


@pytest.mark.parametrize("threshold, bar", [("5%", 0.9), ("0.9 ratio", 0.9), ("90 %", 0.9)])
def test_a_threshold_with_a_unit_leaves_the_conditions_own_bar(threshold, bar):
    assert parse_notification(documented(threshold_value=threshold)).threshold == bar


# --- a query condition on a resource Runwarden does not read -----------------------------------------------

CONFIG = parse_config({"project": "p", "outcomes_topic": "projects/p/topics/outcomes", "services": [
    {"name": "projects/p/locations/us-central1/services/backend"},
    {"name": "projects/p/locations/europe-west1/services/backend"},
    {"name": "projects/p/locations/europe-west1/services/checkout"},
]})

PROMETHEUS_TARGET = {"type": "prometheus_target", "labels": {
    "project_id": "p", "location": "us-central1", "cluster": "__run__", "namespace": "", "job": "", "instance": ""}}


def promql(query: str, resource=PROMETHEUS_TARGET) -> dict:
    return {"version": "1.2", "incident": {
        "incident_id": "0.prom", "state": "open", "started_at": 1764158400, "policy_name": "backend 5xx (PromQL)",
        "resource": resource, "metric": {"type": "prometheus.googleapis.com/ALERTS/gauge", "labels": {}},
        "condition": {"name": "projects/p/alertPolicies/1/conditions/2", "displayName": "5xx",
                      "conditionPrometheusQueryLanguage": {"query": query, "duration": "60s"}}}}


@pytest.mark.parametrize("query, named, managed", [
    ('sum(rate(run_googleapis_com:request_count{service_name="backend",response_code_class="5xx"}[5m])) > 1',
     "'backend'", ["projects/p/locations/europe-west1/services/backend",
                   "projects/p/locations/us-central1/services/backend"]),
    # The location in the query narrows it to one.
    ('histogram_quantile(0.99, sum by (le) (rate(run_googleapis_com:request_latencies_bucket{service_name = '
     '"backend", location="us-central1"}[5m]))) > 2000',
     "'backend'", ["projects/p/locations/us-central1/services/backend"]),
    # The metric by its type (the UTF-8 spelling).
    ('sum(rate({"__name__"="run.googleapis.com/request_count", "service_name"="checkout"}[5m])) > 3',
     "'checkout'", ["projects/p/locations/europe-west1/services/checkout"]),
    ('sum(rate({__name__="run.googleapis.com/container/cpu/utilizations", service_name="checkout"}[5m])) > 3',
     "'checkout'", ["projects/p/locations/europe-west1/services/checkout"]),
    # A service no one manages: said so.
    ('sum(rate(run_googleapis_com:request_count{service_name="orders"}[5m])) > 1', "'orders'", []),
    # Monitoring Query Language.
    ("fetch cloud_run_revision | metric 'run.googleapis.com/request_count' | filter resource.service_name == "
     "'backend' && metric.response_code_class == '5xx' | align rate(1m) | every 1m | condition val() > 1",
     "'backend'", ["projects/p/locations/europe-west1/services/backend",
                   "projects/p/locations/us-central1/services/backend"]),
])
def test_a_query_naming_a_cloud_run_service_says_so_and_acts_on_nothing(query, named, managed):
    """A PromQL or MQL condition whose result is a prometheus_target (or no resource) may well be about a
    managed service: a person is told which, nothing is read or done on that guess."""
    incident = parse_notification(promql(query))
    target = incident.target
    assert target.kind is TargetKind.UNROUTABLE and not target.name and incident.cloud_run_service is None
    assert f"its query selects Cloud Run service_name {named}" in target.reason, target.reason
    said = query_named_services(incident, CONFIG)
    for service in managed:
        assert service in said, said
    if not managed:
        assert f"no managed service is named {named}" in said, said
    assert "nothing was read or done" in target.reason + said


@pytest.mark.parametrize("query", [
    # (An application metric's service_name, namespace or job is told as its writer's label, never read as
    # Cloud Run's: tests/unit/test_alert_payloads_red_team.py.)
    # Not an equality: a pattern, a negation.
    'sum(rate(run_googleapis_com:request_count{service_name=~"back.*"}[5m])) > 1',
    'sum(rate(run_googleapis_com:request_count{service_name!="backend"}[5m])) > 1',
    # No service selected.
    'sum(rate(run_googleapis_com:request_count{response_code_class="5xx"}[5m])) > 1',
])
def test_a_query_naming_no_cloud_run_service_by_equality_names_none(query):
    incident = parse_notification(promql(query))
    assert "its query selects Cloud Run service_name" not in incident.target.reason
    assert query_named_services(incident, CONFIG) == ""


def test_a_query_with_no_resource_at_all_names_its_service_too():
    incident = parse_notification(promql('sum(rate(run_googleapis_com:request_count{service_name="backend"}[5m])) > 1',
                                         resource={"type": "", "labels": {}}))
    assert incident.target.fix_policy
    assert "its query selects Cloud Run service_name 'backend'" in incident.target.reason
    assert "projects/p/locations/us-central1/services/backend" in query_named_services(incident, CONFIG)


# --- the schema version --------------------------------------------------------------------------------------


@pytest.mark.parametrize("version, read", [(" 1.2 ", "1.2"), ("1.2\n", "1.2"), (1.2, "1.2"), ("1.1", "1.1"),
                                           ("1.3", "1.3"), (" 1.3", "1.3"), ("test ", "test")])
def test_the_version_is_read_without_the_whitespace_around_it(version, read):
    """" 1.2 " is 1.2: escalated as another schema, its person was told of a version "' 1.2 ', not 1.2"."""
    incident = parse_notification({**documented(), "version": version})
    assert incident.version == read
    assert incident.schema_known is (read in ("1.2", "test"))


RUN_FRONTEND = {"type": "cloud_run_revision", "labels": {
    "project_id": "p", "location": "us-central1", "service_name": "frontend", "revision_name": "frontend-00002"}}


@pytest.mark.parametrize("query, doubt", [
    ('sum by (project_id, location, service_name) (rate(run_googleapis_com:request_count{service_name="backend",'
     'response_code_class="5xx"}[5m])) > 1', "service_name 'frontend', not the 'backend' its condition"),
    ('sum by (project_id, location, service_name) (rate(run_googleapis_com:request_count{location="europe-west1",'
     'response_code_class="5xx"}[5m])) > 1', "location 'us-central1', not the 'europe-west1' its condition"),
    ("fetch cloud_run_revision | metric 'run.googleapis.com/request_count' | filter resource.service_name == "
     "'backend' | every 1m | condition val() > 1", "service_name 'frontend', not the 'backend'"),
    # The resource's own service: no doubt.
    ('sum by (project_id, location, service_name) (rate(run_googleapis_com:request_count{service_name="frontend"}'
     '[5m])) > 1', ""),
    ('sum by (project_id, location, service_name) (rate(run_googleapis_com:request_count{service_name=~"front.*"}'
     '[5m])) > 1', ""),
])
def test_a_query_selecting_another_service_than_the_notifications_resource_is_a_doubt(query, doubt):
    """The query's selection and the resource disagree (a policy of several conditions, a relay that rewrote the
    labels): nothing of the condition is used, as for a filter's `resource.labels.service_name`."""
    incident = parse_notification(promql(query, resource=RUN_FRONTEND))
    assert incident.cloud_run_service == "projects/p/locations/us-central1/services/frontend"
    if doubt:
        assert doubt in incident.condition_doubt, incident.condition_doubt
    else:
        assert incident.condition_doubt == ""


@pytest.mark.parametrize("sent, incident_id, said", [
    (" 0.opqiw61fsv7p\n", "0.opqiw61fsv7p", "(incident 0.opqiw61fsv7p, policy"),
    ("\u00a00.k2m9xq\t", "0.k2m9xq", "(incident 0.k2m9xq, policy"),
    ("0.K2M9XQ", "0.k2m9xq", "(incident 0.k2m9xq, policy"),     # lower-cased as the alerts path keys it
    # Whitespace or an invisible character inside: which incident is meant cannot be told, so none is named
    # and the answer says why, as the alerts path refuses it (shared/gcp/identifiers.stripped_incident_id).
    ("0.opqiw\u200b61fsv7p", None, "holds U+200B at character 7"),
    ("0.abc\ufeff", None, "holds U+FEFF at character 5"),
    (" 0.ab c ", None, "holds a space at character 4"),
    ("0.ab\ncd", None, "holds a line break at character 4"),
])
def test_a_notification_on_the_commands_topic_is_answered_under_its_id_as_the_alerts_path_reads_it(
        sent, incident_id, said):
    """The misrouted alert's answer carries its incident id as the alerts path reads it (one rule): one
    incident; an id the alerts path refuses names no incident, and the answer says what is inside it."""
    from shared.alerts.commands import MisroutedAlert, parse_command
    with pytest.raises(MisroutedAlert) as error:
        parse_command(json.dumps(documented(incident_id=sent)))
    assert error.value.incident_id == incident_id
    assert said in error.value.reason, error.value.reason
    assert "arrived on the commands topic" in error.value.reason


def test_a_prometheus_target_alert_whose_result_labels_name_a_service_says_what_it_carried():
    """`sum by (service_name) (...)` selects no service by name but keeps it in its result's labels (the
    notification's metric labels): shown, never read as the resource."""
    doc = promql('sum by (service_name) (rate(run_googleapis_com:request_count{response_code_class="5xx"}[5m])) > 1')
    doc["incident"]["metric"]["labels"] = {"service_name": "backend", "alertname": "5xx"}
    target = parse_notification(doc).target
    assert target.kind is TargetKind.UNROUTABLE and not target.name
    assert "its result carries service_name='backend' among its labels, not read as a resource" in target.reason, \
        target.reason
