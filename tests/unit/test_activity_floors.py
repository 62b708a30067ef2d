"""A threshold compared downward on a metric of how much work a resource does (its instances, CPU, concurrency,
bytes: `present_failure._ACTIVITY`) is a floor on activity, as a `request_count` floor is: it fires when the callers
stop or a service scales to zero, and states no failure. Before, only request_count's floor was held:
a policy "backend has no instances" (`run.googleapis.com/container/instance_count` COMPARISON_LT 1) on a service whose
new revision failed rolled that revision back, its `started_at` (when the instances went) read as the failure's
start, and "connector CPU under 70 %" on a busy connector proposed to scale it up. Now each is diagnosed and escalated
with the change it would have made; the same metrics compared upward, and metrics whose fall is the failure
(`database/up`, an uptime check's `check_passed`, a success ratio), act as before.

The notifications are the scenarios' own (schema 1.2, shaped on reference/samples: `incident.metric.type`,
`incident.condition.conditionThreshold.comparison` and `thresholdValue`, google/monitoring/v3/alert.proto), with the
condition and metric changed; first pure rows (parse_notification, unstated_failure), then the pipeline's own entry
point on in-process parts (tests/property/fast.py)."""
from __future__ import annotations

import copy
import json

import pytest

from shared.alerts.incidents import parse_notification
from shared.alerts.present_failure import unstated_failure
from shared.outcomes import OutcomeStatus
from shared.pipeline import handle_alert
from tests.integration.world import event
from tests.property.fast import FastWorld, scenario_model, seeded_copy
from tests.property.harness import ANCHOR

RUN = 'resource.type="cloud_run_revision" AND resource.labels.service_name="backend"'
CONNECTOR = 'resource.type="vpc_access_connector" AND resource.labels.connector_name="backend-conn"'
SQL = 'resource.type="cloudsql_database" AND resource.labels.database_id="demo-project:main-db"'
CONNECTOR_RESOURCE = {"type": "vpc_access_connector", "labels": {
    "project_id": "demo-project", "location": "us-central1", "connector_name": "backend-conn"}}


def _on(metric: str, comparison: str | None, bar: float, observed: str, selects: str = RUN,
        aligner: str = "ALIGN_MAX", resource: dict | None = None, metric_in_notification: bool = True,
        denominator: str = ""):
    """The notification changed to a threshold on `metric` compared by `comparison` (None: the field left out, as
    ProtoJSON leaves out COMPARISON_UNSPECIFIED) against `bar`."""
    def change(incident: dict) -> None:
        body = {"filter": f'metric.type="{metric}" AND {selects}',
                "aggregations": [{"alignmentPeriod": "60s", "perSeriesAligner": aligner}],
                "comparison": comparison, "thresholdValue": bar, "duration": "60s", "trigger": {"count": 1}}
        if comparison is None:
            body.pop("comparison")
        if denominator:
            body["denominatorFilter"] = denominator
        incident["condition"] = {"name": incident["condition"]["name"], "displayName": f"{metric} vs {bar:g}",
                                 "conditionThreshold": body}
        incident["condition_name"] = incident["condition"]["displayName"]
        incident["metric"] = {"type": metric if metric_in_notification else "", "displayName": "", "labels": {}}
        incident.update(observed_value=observed, threshold_value=f"{bar:g}")
        if resource is not None:
            incident["resource"] = copy.deepcopy(resource)
    return change


INSTANCES = "run.googleapis.com/container/instance_count"
RUN_CPU = "run.googleapis.com/container/cpu/utilizations"
CONCURRENCY = "run.googleapis.com/container/max_request_concurrencies"
CONNECTOR_CPU = "vpcaccess.googleapis.com/connector/cpu/utilizations"

# name: (change, the words of the reason)
FLOORS = {
    "no instances (scaled to zero)": (_on(INSTANCES, "COMPARISON_LT", 1, "0"), "instance count"),
    "instances at or under 1": (_on(INSTANCES, "COMPARISON_LE", 1, "1"), "instance count"),
    "the service's CPU under 5 %": (_on(RUN_CPU, "COMPARISON_LT", 0.05, "0.01", aligner="ALIGN_PERCENTILE_99"),
                                    "CPU utilization"),
    "the service's memory under 10 %": (_on("run.googleapis.com/container/memory/utilizations", "COMPARISON_LT", 0.1,
                                            "0.04", aligner="ALIGN_PERCENTILE_99"), "memory utilization"),
    "the service's concurrency under 1": (_on(CONCURRENCY, "COMPARISON_LT", 1, "0", aligner="ALIGN_PERCENTILE_99"),
                                          "request concurrency"),
    "the service's billable time under 1 s": (_on("run.googleapis.com/container/billable_instance_time",
                                                  "COMPARISON_LT", 1, "0", aligner="ALIGN_RATE"),
                                              "billable instance time"),
    "the service's bytes sent under a floor": (_on("run.googleapis.com/container/network/sent_bytes_count",
                                                   "COMPARISON_LT", 1000, "12", aligner="ALIGN_RATE"),
                                               "sent byte count"),
    # A relay that dropped `metric.type`: the condition's filter names the one metric it compares.
    "no instances, the notification's metric blank": (_on(INSTANCES, "COMPARISON_LT", 1, "0",
                                                          metric_in_notification=False), "instance count"),
    # A comparison dropped or rewritten on the way: a floor is not ruled out.
    "instances with no comparison": (_on(INSTANCES, None, 1, "0"), "does not say whether it fires on a rise or a fall"),
    "instances compared equal": (_on(INSTANCES, "COMPARISON_EQ", 0, "0"), "comparison (COMPARISON_EQ)"),
    "the connector's CPU under 70 %": (_on(CONNECTOR_CPU, "COMPARISON_LT", 0.7, "0.2", selects=CONNECTOR,
                                           aligner="ALIGN_PERCENTILE_99", resource=CONNECTOR_RESOURCE),
                                       "connector's CPU utilization"),
    "the connector's instances under 3": (_on("vpcaccess.googleapis.com/connector/instances", "COMPARISON_LT", 3, "2",
                                              selects=CONNECTOR, resource=CONNECTOR_RESOURCE),
                                          "connector's instance count"),
    "the database's connections under 5": (_on("cloudsql.googleapis.com/database/network/connections",
                                               "COMPARISON_LT", 5, "1", selects=SQL, resource={
                                                   "type": "cloudsql_database", "labels": {
                                                       "project_id": "demo-project", "region": "us-central1",
                                                       "database_id": "demo-project:main-db"}}),
                                           "database's connection count"),
}

# The same metrics compared upward, and metrics whose fall is the failure: a present crossing, as before.
STATED = {
    "the threshold itself (a 5xx count above its bar)": lambda incident: None,
    "instances above 8": _on(INSTANCES, "COMPARISON_GT", 8, "10"),
    "the service's CPU above 80 %": _on(RUN_CPU, "COMPARISON_GT", 0.8, "0.93", aligner="ALIGN_PERCENTILE_99"),
    "the service's concurrency at or above 70": _on(CONCURRENCY, "COMPARISON_GE", 70, "80",
                                                   aligner="ALIGN_PERCENTILE_99"),
    "a success ratio under its bar": _on("run.googleapis.com/request_count", "COMPARISON_LT", 0.95, "0.4",
                                         selects=f'{RUN} AND metric.labels.response_code_class="2xx"',
                                         aligner="ALIGN_RATE", denominator=f'metric.type="run.googleapis.com/'
                                                                           f'request_count" AND {RUN}'),
    "an uptime check's passes under 1": _on("monitoring.googleapis.com/uptime_check/check_passed", "COMPARISON_LT", 1,
                                           "0", selects='resource.type="uptime_url"', aligner="ALIGN_FRACTION_TRUE",
                                           resource={"type": "uptime_url", "labels": {
                                               "project_id": "demo-project", "host": "backend.example.com"}}),
    "a log-based metric under its bar (not read as activity)": _on("logging.googleapis.com/user/orders_placed",
                                                                   "COMPARISON_LT", 1, "0", aligner="ALIGN_RATE"),
}


def _notification(scenario: str, change) -> dict:
    document = copy.deepcopy(scenario_model(scenario).notification(ANCHOR))
    change(document["incident"])
    return document


@pytest.mark.parametrize("name", FLOORS)
def test_a_floor_on_activity_states_no_present_failure(name):
    change, words = FLOORS[name]

    reason = unstated_failure(parse_notification(_notification("bad_revision", change)))

    assert words in reason and "nothing was written" in reason, reason
    assert "no failure of the work that comes" in reason, reason


@pytest.mark.parametrize("name", STATED)
def test_the_same_metrics_upward_and_a_fall_that_is_the_failure_state_one(name):
    assert unstated_failure(parse_notification(_notification("bad_revision", STATED[name]))) == ""


def _answer(scenario: str, change):
    world = FastWorld(seeded_copy(scenario, None), ANCHOR)
    document = _notification(scenario, change)
    return handle_alert(event(json.dumps(document).encode(), "1"), world.config, world.adapters), world


@pytest.mark.parametrize("name", ["no instances (scaled to zero)", "the service's CPU under 5 %",
                                  "the service's concurrency under 1", "instances with no comparison",
                                  "no instances, the notification's metric blank"])
def test_a_failing_revision_under_a_floor_on_activity_is_diagnosed_and_not_rolled_back(name):
    change, words = FLOORS[name]

    answer, world = _answer("bad_revision", change)

    assert answer.status is OutcomeStatus.ESCALATED, answer.reason
    assert words in answer.reason and "nothing was written" in answer.reason, answer.reason
    assert answer.diagnosis is not None and answer.diagnosis.signature == "bad_revision"
    assert answer.action is not None and answer.action.name == "rollback_traffic" and answer.action.after is None
    assert world.standins.run.count("UpdateService") == 0


@pytest.mark.parametrize("name", ["instances above 8", "the service's CPU above 80 %",
                                  "the service's concurrency at or above 70"])
def test_a_failing_revision_under_the_same_metric_upward_is_rolled_back(name):
    answer, world = _answer("bad_revision", STATED[name])

    assert answer.status is OutcomeStatus.APPLIED, answer.reason
    assert world.standins.run.count("UpdateService") == 1


CONNECTOR_CPU_ABOVE = _on(CONNECTOR_CPU, "COMPARISON_GT", 0.7, "0.97", selects=CONNECTOR,
                          aligner="ALIGN_PERCENTILE_99", resource=CONNECTOR_RESOURCE)


def test_a_saturated_connector_under_a_floor_on_its_cpu_is_not_proposed():
    change, words = FLOORS["the connector's CPU under 70 %"]

    answer, world = _answer("connector_saturation", change)

    assert answer.status is OutcomeStatus.ESCALATED, answer.reason
    assert words in answer.reason and "nothing was written" in answer.reason, answer.reason
    assert answer.action is not None and answer.action.name == "scale_connector" and answer.action.proposal_id is None
    assert world.standins.vpcaccess.count("UpdateConnector") == 0


def test_a_saturated_connector_under_its_cpu_above_the_bar_is_proposed_as_before():
    answer, world = _answer("connector_saturation", CONNECTOR_CPU_ABOVE)

    assert answer.status is OutcomeStatus.PROPOSED, answer.reason
    assert answer.action is not None and answer.action.name == "scale_connector" and answer.action.proposal_id


def test_a_request_floor_whose_notification_blanked_its_metric_is_held_as_before_with_it():
    """The floor on the requests, read from the condition's filter when a relay blanked `metric.type` (before, read
    from `metric.type` alone, it acted)."""
    change = _on("run.googleapis.com/request_count", "COMPARISON_LT", 5, "0", aligner="ALIGN_RATE",
                 metric_in_notification=False)

    reason = unstated_failure(parse_notification(_notification("bad_revision", change)))

    assert "fires when the service's requests fall below a floor (COMPARISON_LT 5)" in reason, reason
