"""Realistic shapes of a Monitoring notification, through the pipeline's own entry point on in-process
parts (tests/property/fast.py): what each is answered.

- An OPEN with `"ended_at": 0`: a relay writes an unset end as its integer's zero (proto3 JSON with
  defaults emitted, a Go int64). Before, it was rejected as "open but ended at 0 (1970)", and the
  failure it reported (a bad revision) was never diagnosed nor rolled back; now it is read as open
  with no end, and acted on as the same notification with `null` is.
- Other shapes a real policy sends (`SHAPES`), each answered as before: a CLOSED as Monitoring writes
  it, one of a deleted policy, a Cloud Run job, labels that name no one service, a log match without
  values, values with units, another project's console link, the policy's severity (which bounds
  nothing: docs/behaviour.md, "The policy's severity"), a long summary, a `conditions` array."""
from __future__ import annotations

import copy
import json

import pytest

from shared.outcomes import OutcomeStatus
from shared.pipeline import handle_alert
from tests.integration.world import event
from tests.property.fast import FastWorld, scenario_model, seeded_copy
from tests.property.harness import ANCHOR

SCENARIO = "bad_revision"


def notification(**incident) -> bytes:
    document = copy.deepcopy(scenario_model(SCENARIO).notification(ANCHOR))
    document["incident"].update(incident)
    return json.dumps(document).encode()


@pytest.mark.parametrize("ended_at", [None, 0, "0", "null"])
def test_an_open_with_an_unset_end_is_diagnosed_and_acted_on(ended_at):
    world = FastWorld(seeded_copy(SCENARIO, None), ANCHOR)

    answer = handle_alert(event(notification(ended_at=ended_at), "1"), world.config, world.adapters)

    assert answer.status is OutcomeStatus.APPLIED, answer.reason
    assert world.standins.run.count("UpdateService") == 1


def _log_match(incident: dict) -> None:
    """A log-match condition on the service's panics: no metric, no observed nor threshold value, the
    boilerplate summary (UNCONFIRMED: a third-party handler's payloads, hughbrien/frontend app.py)."""
    incident["condition"] = {"name": incident["condition"]["name"], "displayName": "panics",
                             "conditionMatchedLog": {"filter": 'resource.type="cloud_run_revision" AND '
                                                               'textPayload:"panic"'}}
    incident.update(condition_name="panics", metric={"type": "", "displayName": "", "labels": {}},
                    summary="Log match condition fired for Cloud Run Revision with {location=us-central1, "
                            "project_id=demo-project, service_name=backend}")
    incident.pop("observed_value")
    incident.pop("threshold_value")


def _summed_over_services(incident: dict) -> None:
    incident["condition"]["conditionThreshold"].update(
        filter='metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision"',
        aggregations=[{"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_RATE", "crossSeriesReducer": "REDUCE_SUM"}])


def _promql_by_offset(incident: dict) -> None:
    condition = incident["condition"]
    incident["condition"] = {"name": condition["name"], "displayName": condition["displayName"],
                             "conditionPrometheusQueryLanguage": {"query": (
                                 'sum by (offset) (rate(run_googleapis_com:request_count{service_name="backend",'
                                 'response_code_class="5xx"}[5m])) / sum by (offset) (rate(run_googleapis_com:'
                                 'request_count{service_name="backend"}[5m])) > 0.05')}}


def _grouped(*fields: str, query: str = ""):
    """backend's 5xx summed across every service's series, grouped by `fields` (or a PromQL `query` instead)."""
    def change(incident: dict) -> None:
        condition = incident["condition"]
        if query:
            incident["condition"] = {"name": condition["name"], "displayName": condition["displayName"],
                                     "conditionPrometheusQueryLanguage": {"query": query}}
            return
        condition["conditionThreshold"].update(
            filter='metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision"',
            aggregations=[{"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_RATE",
                           "crossSeriesReducer": "REDUCE_SUM", "groupByFields": list(fields)}])
    return change


def _conditions_array(incident: dict) -> None:
    incident["conditions"] = [incident.pop("condition")]


CANCELLED = ("Incident cancelled because the alert policy condition was deleted or modified while incident was "
             "active.")

# name: (what is changed in the bad_revision OPEN, the answer, writes, words of the reason)
SHAPES = {
    "a CLOSED, lowercase as Monitoring writes it": (
        lambda i: i.update(state="closed", ended_at=i["started_at"] + 60, observed_value="0.001"),
        OutcomeStatus.ESCALATED, 0, "no OPEN of incident"),   # alone: its OPEN never reached Runwarden
    "a CLOSED of a deleted policy": (
        lambda i: i.update(state="closed", ended_at=i["started_at"] + 60, observed_value=CANCELLED),
        OutcomeStatus.ESCALATED, 0, "nothing was diagnosed or done"),
    "a Cloud Run job": (
        lambda i: i.update(resource={"type": "cloud_run_job", "labels": {
            "project_id": "demo-project", "location": "us-central1", "job_name": "backend"}}, metric={
            "type": "run.googleapis.com/job/completed_task_attempt_count", "labels": {"result": "failed"}}),
        OutcomeStatus.ESCALATED, 0, "not Runwarden's: resource type 'cloud_run_job'"),
    "no location label": (lambda i: i["resource"]["labels"].pop("location"), OutcomeStatus.REJECTED, 0,
                          "has no location label"),
    "a revision_name only": (
        lambda i: i.update(resource={"type": "cloud_run_revision", "labels": {"revision_name": "backend-00002-xyz"}}),
        OutcomeStatus.REJECTED, 0, "no project_id or service_name or location label"),
    "a log match without values": (_log_match, OutcomeStatus.APPLIED, 1, "rollback_traffic applied"),
    "values with units": (lambda i: i.update(threshold_value="5 %", observed_value="60 %"), OutcomeStatus.APPLIED, 1,
                          "rollback_traffic applied"),
    "a console url of another project": (
        lambda i: i.update(url="https://console.cloud.google.com/monitoring/alerting/alerts/0.x?project=other"),
        OutcomeStatus.APPLIED, 1, "rollback_traffic applied"),
    "severity CRITICAL": (lambda i: i.update(severity="CRITICAL"), OutcomeStatus.APPLIED, 1, "rollback_traffic applied"),
    "severity WARNING": (lambda i: i.update(severity="WARNING"), OutcomeStatus.APPLIED, 1, "rollback_traffic applied"),
    "a 200 KB summary": (lambda i: i.update(summary="x" * 200_000), OutcomeStatus.APPLIED, 1,
                         "rollback_traffic applied"),
    "`conditions`, an array (not schema 1.2)": (_conditions_array, OutcomeStatus.APPLIED, 1,
                                                "rollback_traffic applied"),
    # A condition summing every service's 5xx (REDUCE_SUM grouped by nothing, its filter naming no service): its value
    # is no one service's, whichever one the notification names (before, backend was rolled back on it).
    "a sum over every service": (_summed_over_services, OutcomeStatus.ESCALATED, 0,
                                 "aggregates cloud_run_revision series across services"),
    # Grouped by the service's name, with or without its region and project: read as backend's own (a known limit:
    # the diagnosis reads backend's own evidence in its region and project; applied, before and now). A query that
    # writes service_name names what it wrote (before, backend was rolled back on it).
    "a sum grouped by service_name alone": (
        _grouped("resource.label.service_name"), OutcomeStatus.APPLIED, 1, "rollback_traffic applied"),
    "a sum grouped by service_name and location": (
        _grouped("resource.label.service_name", "resource.label.location"), OutcomeStatus.APPLIED, 1,
        "rollback_traffic applied"),
    "a PromQL label_replace writing service_name": (
        _grouped(query='label_replace(rate(run_googleapis_com:request_count{response_code_class="5xx"}[5m]), '
                       '"service_name", "backend", "", "") > 1'), OutcomeStatus.ESCALATED, 0,
        "label_replace writes service_name"),
    "a sum grouped by project, location and service": (
        _grouped("resource.label.project_id", "resource.label.location", "resource.label.service_name"),
        OutcomeStatus.APPLIED, 1, "rollback_traffic applied"),
    # `offset` as a PromQL label's name is no offset (before, held as an offset not read).
    "a PromQL query grouping by a label named offset": (_promql_by_offset, OutcomeStatus.APPLIED, 1,
                                                        "rollback_traffic applied"),
}


@pytest.mark.parametrize("name", SHAPES)
def test_each_shape_is_answered_as_an_sre_expects(name):
    change, status, writes, words = SHAPES[name]
    document = copy.deepcopy(scenario_model(SCENARIO).notification(ANCHOR))
    change(document["incident"])
    world = FastWorld(seeded_copy(SCENARIO, None), ANCHOR)

    answer = handle_alert(event(json.dumps(document).encode(), "1"), world.config, world.adapters)

    assert answer.status is status, answer.reason
    assert world.standins.run.count("UpdateService") == writes
    assert words in answer.reason, answer.reason
