"""A notification field given under both its spellings (`started_at` and `startedAt`) with two values is refused by
name, neither value used: which one Monitoring sent is unknown (schema 1.2 is snake_case; a relay that adds or
rewrites one spelling and not the other made the second). One value in both spellings, as Google's own Pub/Sub
fixture carries `messageId` and `message_id`, is read as before. Pure parsing rows, and the pipeline on in-process
parts (tests/property/fast.py) for what the refusal keeps and writes."""
from __future__ import annotations

import base64
import copy
import json
from typing import Any, Callable

import pytest

from shared.alerts.incidents import IncidentParseError, parse_message_published, parse_notification
from shared.outcomes import OutcomeStatus
from shared.pipeline import handle_alert
from tests.integration.world import event
from tests.property.fast import FastWorld, scenario_model, seeded_copy
from tests.property.harness import ANCHOR

Change = Callable[[dict[str, Any]], None]


def alert() -> dict[str, Any]:
    return copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR))


def _threshold(incident: dict[str, Any]) -> dict[str, Any]:
    return incident["condition"]["conditionThreshold"]


# (a change to the bad_revision alert's incident, the field the refusal names, both values as it shows them)
TWICE: dict[str, tuple[Change, str, tuple[str, str]]] = {
    "an incident id of another incident": (
        lambda i: i.update(incidentId="0.another"), "incident.incident_id", ('"0.', '"0.another"')),
    "a start an hour earlier": (
        lambda i: i.update(startedAt=i["started_at"] - 3600), "incident.started_at", ("", "")),
    "an open's end beside its null": (
        lambda i: i.update(endedAt=i["started_at"] + 600), "incident.ended_at", ("null", "")),
    "the policy's labels: disabled under Monitoring's spelling, none under the other": (
        lambda i: i.update(policy_user_labels={"runwarden": "disabled"}, policyUserLabels={}),
        "incident.policy_user_labels", ('{"runwarden": "disabled"}', "{}")),
    "another observed value": (
        lambda i: i.update(observedValue="0.01"), "incident.observed_value", ('"0.60"', '"0.01"')),
    "another threshold value": (
        lambda i: i.update(thresholdValue="0.5"), "incident.threshold_value", ('"0.05"', '"0.5"')),
    "another condition name": (
        lambda i: i.update(conditionName="p99 latency above 2 s"), "incident.condition_name", ("", "")),
    "the condition's bar under both spellings": (
        lambda i: _threshold(i).update(threshold_value=0.5), "incident.condition.condition_threshold.threshold_value",
        ("0.5", "0.05")),
    "the condition's body under both spellings, its bar differing": (
        lambda i: i["condition"].update(condition_threshold={**_threshold(i), "thresholdValue": 0.5}),
        "incident.condition.condition_threshold", ("differ at thresholdValue", "")),
    "the condition's display name": (
        lambda i: i["condition"].update(display_name="p99 latency above 2 s"), "incident.condition.display_name",
        ("", "")),
    "the condition's denominator": (
        lambda i: _threshold(i).update(denominatorFilter='metric.type="run.googleapis.com/request_count"',
                                       denominator_filter='metric.type="run.googleapis.com/request_latencies"'),
        "incident.condition.condition_threshold.denominator_filter", ("request_latencies", "request_count")),
}


@pytest.mark.parametrize("change, field, shown", TWICE.values(), ids=TWICE.keys())
def test_a_field_given_twice_with_two_values_is_refused_naming_it_and_both(change, field, shown):
    document = alert()
    change(document["incident"])
    with pytest.raises(IncidentParseError) as refused:
        parse_notification(document)
    assert refused.value.field == field
    assert "given twice with different values" in refused.value.reason and "neither is used" in refused.value.reason
    for value in shown:
        assert value in refused.value.reason


# One value under both spellings: the same value, a number and its text alike.
ALIKE: dict[str, Change] = {
    "the same id": lambda i: i.update(incidentId=i["incident_id"]),
    "the start as a number and as its text": lambda i: i.update(startedAt=str(i["started_at"])),
    "an open's null end twice": lambda i: i.update(endedAt=None),
    "the observed value as text and as a number": lambda i: i.update(observedValue=0.60),
    "the threshold as a number": lambda i: i.update(thresholdValue=0.05),
    "the same labels": lambda i: i.update(policyUserLabels={"team": "a"}),
    "the condition's bar as text": lambda i: _threshold(i).update(threshold_value="0.05"),
}


@pytest.mark.parametrize("change", ALIKE.values(), ids=ALIKE.keys())
def test_one_value_under_both_spellings_is_read_as_it_was(change):
    document = alert()
    document["incident"]["policy_user_labels"] = {"team": "a"}
    as_sent = parse_notification(document)
    change(document["incident"])
    assert parse_notification(document) == as_sent


def test_the_pubsub_envelope_with_one_value_per_field_in_both_spellings_is_read():
    """Google's fixture (MessagePublishedData-duplicatedFields.json) carries messageId and message_id alike."""
    data = base64.b64encode(json.dumps(alert()).encode()).decode()
    message, _ = parse_message_published({"message": {"data": data, "messageId": "7", "message_id": "7"}})
    assert message.message_id == "7"


def test_the_pubsub_envelope_with_two_message_ids_is_refused_by_name():
    data = base64.b64encode(json.dumps(alert()).encode()).decode()
    with pytest.raises(IncidentParseError) as refused:
        parse_message_published({"message": {"data": data, "messageId": "7", "message_id": "8"}})
    assert refused.value.field == "message.message_id"


@pytest.mark.parametrize("change", [
    lambda i: i.update(policy_user_labels={"runwarden": "disabled"}, policyUserLabels={}),
    lambda i: i.update(incidentId="0.another"),
    lambda i: i.update(startedAt=i["started_at"] - 7200),
], ids=["labels disabling it under Monitoring's spelling", "another incident's id", "another start"])
def test_a_failing_revisions_alert_with_a_field_given_twice_writes_nothing_and_keeps_what_it_said(change):
    """The bad_revision alert, rolled back as sent (tests/unit/test_alert_payloads_red_team.py), is refused once a
    field of it carries two values: nothing written, and the message travels whole with its rejection."""
    world = FastWorld(seeded_copy("bad_revision", None), ANCHOR)
    document = alert()
    change(document["incident"])
    body = json.dumps(document).encode()

    outcome = handle_alert(event(body, "1"), world.config, world.adapters)

    assert outcome.status is OutcomeStatus.REJECTED, outcome.reason
    assert "given twice with different values" in outcome.reason
    assert world.standins.run.count("UpdateService") == 0
    assert outcome.received is not None and json.loads(outcome.received.data) == document


# --- a resource label keyed in another spelling -------------------------------------------------------------

from shared.alerts.incidents import TargetKind  # noqa: E402

RESOURCES = {
    "every label camelCase": ("cloud_run_revision", {"projectId": "demo-project", "location": "us-central1",
                                                     "serviceName": "backend"}, ["'projectId'", "'serviceName'"]),
    "the service's name alone": ("cloud_run_revision", {"project_id": "demo-project", "location": "us-central1",
                                                        "serviceName": "backend"}, ["'serviceName'"]),
    "PascalCase": ("cloud_run_revision", {"project_id": "demo-project", "Location": "us-central1",
                                          "service_name": "backend"}, ["'Location'"]),
    "kebab-case": ("cloud_run_revision", {"project_id": "demo-project", "location": "us-central1",
                                          "service-name": "backend"}, ["'service-name'"]),
    "a copy naming another service": ("cloud_run_revision", {"project_id": "demo-project", "location": "us-central1",
                                                             "service_name": "backend", "serviceName": "frontend"},
                                      ["'serviceName' 'frontend'", "also carries, 'backend'"]),
    "a connector": ("vpc_access_connector", {"projectId": "demo-project", "location": "us-central1",
                                             "connectorName": "backend-conn"}, ["'connectorName'", "'projectId'"]),
    "a Cloud SQL instance": ("cloudsql_database", {"project_id": "demo-project", "databaseId": "demo-project:main-db",
                                                   "region": "us-central1"}, ["'databaseId'"]),
    "an uptime check's host": ("uptime_url", {"project_id": "demo-project", "Host": "backend.example.com"},
                               ["'Host'"]),
    # Every label of the type, not only those a target's name is built of: a revision the alert names is read (no
    # rollback toward it), and which keys a relay rewrote beside it is unknown.
    "the revision's name": ("cloud_run_revision", {"project_id": "demo-project", "location": "us-central1",
                                                   "service_name": "backend", "revisionName": "backend-00001-abc"},
                            ["resource label 'revisionName' 'backend-00001-abc' for 'revision_name'"]),
    "the configuration's name": ("cloud_run_revision", {"project_id": "demo-project", "location": "us-central1",
                                                        "service_name": "backend", "configuration-name": "backend"},
                                 ["'configuration-name'"]),
    "a Cloud SQL instance's project": ("cloudsql_database", {"projectId": "demo-project", "region": "us-central1",
                                                             "database_id": "demo-project:main-db"}, ["'projectId'"]),
}


@pytest.mark.parametrize("kind, labels, named", RESOURCES.values(), ids=RESOURCES.keys())
def test_resource_labels_keyed_in_another_spelling_are_a_relay_to_fix_not_a_policy_to_regroup(kind, labels, named):
    document = alert()
    document["incident"]["resource"] = {"type": kind, "labels": labels}
    target = parse_notification(document).target
    assert target.kind is TargetKind.UNROUTABLE and target.fix_policy
    assert "another spelling" in target.reason and "relay" in target.reason
    assert "aggregat" not in target.reason
    for said in named:
        assert said in target.reason


def test_a_copy_of_a_label_with_its_own_value_names_the_resource_as_before():
    document = alert()
    as_sent = parse_notification(document).target
    document["incident"]["resource"]["labels"]["serviceName"] = "backend"
    assert parse_notification(document).target == as_sent
    assert as_sent.kind is TargetKind.SERVICE


@pytest.mark.parametrize("labels, said", [
    ({"projectId": "demo-project", "location": "us-central1", "serviceName": "backend"}, "'serviceName'"),
    ({"project_id": "demo-project", "location": "us-central1", "service_name": "backend", "serviceName": "frontend"},
     "'serviceName' 'frontend'"),
], ids=["every key camelCase", "a copy naming another service"])
def test_a_failing_revisions_alert_with_respelled_labels_writes_nothing_and_says_so(labels, said):
    world = FastWorld(seeded_copy("bad_revision", None), ANCHOR)
    document = alert()
    document["incident"]["resource"]["labels"] = labels

    outcome = handle_alert(event(json.dumps(document).encode(), "1"), world.config, world.adapters)

    assert outcome.status is OutcomeStatus.REJECTED, outcome.reason
    assert said in outcome.reason and "aggregat" not in outcome.reason
    assert world.standins.run.count("UpdateService") == 0


# --- a metric label keyed in another spelling ----------------------------------------------------------------------


def _grouped_by(*fields: str) -> Change:
    return lambda i: _threshold(i)["aggregations"][0].update(crossSeriesReducer="REDUCE_SUM",
                                                             groupByFields=list(fields))


METRICS: dict[str, tuple[Change, dict[str, str], str]] = {
    # Cloud Run's request_count defines response_code_class (read by the health check: a 4xx count is never judged
    # on 5xx); read as missing, a 4xx alert was told a "volume alert".
    "the response class of a Cloud Run metric": (lambda i: None, {"responseCodeClass": "4xx"},
                                                 "metric label 'responseCodeClass' '4xx' for 'response_code_class'"),
    "the response code, kebab-case": (lambda i: None, {"response-code": "503"}, "'response-code' '503'"),
    # A label the condition groups by, whatever the metric: its spelling there is the writer's.
    "a log-based metric's label the condition groups by": (
        lambda i: (i["metric"].update(type="logging.googleapis.com/user/db_errors"),
                   _grouped_by("metric.label.error_kind", "resource.label.service_name")(i)),
        {"errorKind": "timeout"}, "metric label 'errorKind' 'timeout' for 'error_kind'"),
    "a copy naming another class": (lambda i: None, {"response_code_class": "5xx", "ResponseCodeClass": "4xx"},
                                    "also carries, '5xx'"),
}


@pytest.mark.parametrize("change, labels, said", METRICS.values(), ids=METRICS.keys())
def test_metric_labels_keyed_in_another_spelling_are_refused_naming_each(change, labels, said):
    document = alert()
    change(document["incident"])
    document["incident"]["metric"]["labels"] = labels
    target = parse_notification(document).target
    assert target.kind is TargetKind.UNROUTABLE and target.fix_policy, target
    assert "another spelling" in target.reason and said in target.reason, target.reason


KEPT: dict[str, tuple[Change, dict[str, str]]] = {
    "as Monitoring sends them": (lambda i: None, {"response_code_class": "5xx", "response_code": "503"}),
    "a copy with the label's own value": (lambda i: None, {"response_code_class": "5xx", "responseCodeClass": "5xx"}),
    # A user metric's labels are its writer's: camelCase there is how they were written, unless the condition
    # names the label in another spelling.
    "a user metric's own camelCase label": (
        lambda i: i["metric"].update(type="custom.googleapis.com/checkout/errors"), {"errorKind": "timeout"}),
    "a Cloud Run metric's label no decision reads": (lambda i: None, {"someLabel": "x"}),
}


@pytest.mark.parametrize("change, labels", KEPT.values(), ids=KEPT.keys())
def test_metric_labels_spelled_as_their_writer_spells_them_are_read_as_before(change, labels):
    document = alert()
    change(document["incident"])
    document["incident"]["metric"]["labels"] = labels
    target = parse_notification(document).target
    assert target.kind is TargetKind.SERVICE, target


def test_a_failing_revisions_alert_whose_revision_label_was_respelled_rolls_nothing_back():
    """`revisionName` naming the revision that served cleanly: read as missing, the rollback went toward the revision
    the condition held on (resource.labels.revision_name, spelled so, holds it back)."""
    world = FastWorld(seeded_copy("bad_revision", None), ANCHOR)
    document = alert()
    document["incident"]["resource"]["labels"]["revisionName"] = "backend-00001-abc"

    outcome = handle_alert(event(json.dumps(document).encode(), "1"), world.config, world.adapters)

    assert outcome.status is OutcomeStatus.REJECTED, outcome.reason
    assert "'revisionName'" in outcome.reason
    assert world.standins.run.count("UpdateService") == 0
