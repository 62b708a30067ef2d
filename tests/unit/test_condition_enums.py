"""A condition's enums (comparison, aligner, reducer, evaluationMissingData) by their numbers, as
Google's Python clients write them (proto-plus: `use_integers_for_enums` defaults to True), are read as
their names (shared/alerts/incidents.py `_enum_named`); and a threshold condition whose comparison says
no side of its threshold, or whose aligner is no known one, is not judged (shared/diagnosis/health_bar.py).
Read as text, `"comparison": 3` (COMPARISON_LT) was an upper bar and `"perSeriesAligner": 23`
(ALIGN_PERCENT_CHANGE) a count: clean requests cleared a connector whose traffic had stopped, and a +50 %
rise of 5xx as "at most 50 5xx"."""
from __future__ import annotations

import copy

import pytest

from shared.alerts.incidents import parse_notification
from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.health_bar import health_bar
from shared.diagnosis.scope import alert_context
from shared.diagnosis.signatures import Signature

from tests.unit.builders import Evidence
from tests.unit.test_diagnosis import OLD

S = DiagnosisSettings()
RUN = {"type": "cloud_run_revision", "labels": {"project_id": "p", "location": "europe-west1",
                                                "service_name": "backend", "configuration_name": "backend"}}
CONNECTOR = {"type": "vpc_access_connector", "labels": {"project_id": "p", "location": "europe-west1",
                                                        "connector_name": "shared-egress"}}
COUNT, LATENCIES = "run.googleapis.com/request_count", "run.googleapis.com/request_latencies"
RECEIVED = "vpcaccess.googleapis.com/connector/received_bytes_count"
FIVE_XX = f'resource.type = "cloud_run_revision" AND metric.type = "{COUNT}" AND metric.labels.response_code_class = "5xx"'
ALL = f'resource.type = "cloud_run_revision" AND metric.type = "{COUNT}"'
BY_SERVICE = ["resource.label.project_id", "resource.label.location", "resource.label.service_name"]


def _notification(metric: str, resource: dict, body: dict, threshold: str, state: str = "open",
                  observed: str = "0") -> dict:
    return {"version": "1.2", "incident": {
        "incident_id": "0.ncondenums1", "state": state, "started_at": 1764700000,
        "ended_at": None if state == "open" else 1764700900, "policy_name": "policy", "condition_name": "condition",
        "condition": {"name": "projects/p/alertPolicies/11/conditions/12", "displayName": "condition",
                      "conditionThreshold": {"duration": "0s", "trigger": {"count": 1}, **body}},
        "metric": {"type": metric, "labels": {}}, "resource": resource,
        "observed_value": observed, "threshold_value": threshold, "summary": "condition fired"}}


# Realistic policies, their enums by number (as a proto-plus relay forwards them).
CONNECTOR_TRAFFIC_STOPPED = _notification(RECEIVED, CONNECTOR, {
    "filter": f'resource.type = "vpc_access_connector" AND metric.type = "{RECEIVED}"', "comparison": 3,
    "thresholdValue": 1000, "aggregations": [{"alignmentPeriod": "300s", "perSeriesAligner": 2}]}, "1000")
FIVE_XX_JUMP = _notification(COUNT, RUN, {
    "filter": FIVE_XX, "comparison": 1, "thresholdValue": 50,
    "aggregations": [{"alignmentPeriod": "600s", "perSeriesAligner": 23, "crossSeriesReducer": 4,
                      "groupByFields": BY_SERVICE}]}, "50", observed="150")
FIVE_XX_SHARE = _notification(COUNT, RUN, {
    "filter": FIVE_XX, "denominatorFilter": ALL, "comparison": 1, "thresholdValue": 0.005,
    "aggregations": [{"alignmentPeriod": "60s", "perSeriesAligner": 2, "crossSeriesReducer": 4,
                      "groupByFields": BY_SERVICE}],
    "denominatorAggregations": [{"alignmentPeriod": "60s", "perSeriesAligner": 2, "crossSeriesReducer": 4,
                                 "groupByFields": BY_SERVICE}]}, "0.005", observed="0.02")
P99 = _notification(LATENCIES, RUN, {
    "filter": f'resource.type = "cloud_run_revision" AND metric.type = "{LATENCIES}"', "comparison": 1,
    "thresholdValue": 1500, "aggregations": [{"alignmentPeriod": "60s", "perSeriesAligner": 18,
                                              "crossSeriesReducer": 3, "groupByFields": BY_SERVICE}]}, "1500")


def _with(document: dict, **body) -> dict:
    changed = copy.deepcopy(document)
    threshold = changed["incident"]["condition"]["conditionThreshold"]
    for key, value in body.items():
        if value is None:
            threshold.pop(key, None)
        else:
            threshold[key] = value
    return changed


READ = {
    "comparison 3": (CONNECTOR_TRAFFIC_STOPPED, "comparison", "COMPARISON_LT"),
    "comparison '1' as a string": (_with(FIVE_XX_JUMP, comparison="1"), "comparison", "COMPARISON_GT"),
    "comparison of no ComparisonType": (_with(FIVE_XX_JUMP, comparison=9), "comparison", "9"),
    "aligner 23": (FIVE_XX_JUMP, "aligner", "ALIGN_PERCENT_CHANGE"),
    "reducer 4": (FIVE_XX_JUMP, "reducer", "REDUCE_SUM"),
    "aligner 18": (P99, "aligner", "ALIGN_PERCENTILE_99"),
    "names as ProtoJSON writes them": (_with(FIVE_XX_JUMP, comparison="COMPARISON_GE"), "comparison",
                                       "COMPARISON_GE"),
    "evaluationMissingData 1": (_with(P99, evaluationMissingData=1), "evaluation_missing_data",
                                "EVALUATION_MISSING_DATA_INACTIVE"),
}


@pytest.mark.parametrize("name", READ)
def test_a_conditions_enum_by_its_number_is_read_as_its_name(name):
    document, field, expected = READ[name]
    assert getattr(parse_notification(document), field) == expected


JUDGED = {
    # The connector's traffic fell under its floor: its users' clean requests do not show it back.
    "connector traffic below its floor, comparison 3": (CONNECTOR_TRAFFIC_STOPPED, False),
    # +50 % of 5xx over ten minutes is no count of 50 5xx.
    "5xx percent change, aligner 23": (FIVE_XX_JUMP, False),
    # Which side of 0.005 the share holds on is not said.
    "5xx share with no comparison": (_with(FIVE_XX_SHARE, comparison=None), False),
    "5xx share at COMPARISON_EQ": (_with(FIVE_XX_SHARE, comparison="COMPARISON_EQ"), False),
    "5xx share with a comparison of no ComparisonType": (_with(FIVE_XX_SHARE, comparison=7), False),
    "5xx count with an aligner of no Aligner": (_with(FIVE_XX_JUMP, aggregations=[
        {"alignmentPeriod": "60s", "perSeriesAligner": 22, "crossSeriesReducer": 4, "groupByFields": BY_SERVICE}]),
        False),
    # Read by their numbers, the plain policies are judged as by their names.
    "5xx share, comparison 1": (FIVE_XX_SHARE, True),
    "p99 over 1.5 s, aligner 18 and reducer 3": (P99, True),
}


@pytest.mark.parametrize("name", JUDGED)
def test_only_a_condition_whose_side_and_aggregation_are_known_is_judged(name):
    document, judged = JUDGED[name]
    bar = health_bar(alert_context(parse_notification(document)), S)
    assert bar.judged is judged, bar.why_not


def test_a_5xx_rise_by_its_aligners_number_is_not_cleared_by_fewer_5xx_than_its_percent():
    """2,000 requests a minute, 3 of them 500 (0.15 %, under the 1 % share called clean) since -8 minutes,
    none before: 24 5xx, under "50" read as a count, and the policy's rise (+50 % or more over ten minutes)
    is not over. Never `healthy`."""
    e = Evidence()
    e.now = 3
    e.revision(OLD, -300).traffic(**{OLD: 100}).requests(OLD, -90, 3, 2000).latency(OLD, -90, 3, 0.2)
    e.requests(OLD, -8, 3, 3, code="500")
    alert = alert_context(parse_notification(FIVE_XX_JUMP))
    result = diagnose(e.bundle().model_copy(update={"alert": alert}), S)
    assert result.signature is not Signature.HEALTHY, result.summary


def test_a_closed_notification_with_its_comparison_by_number_shows_the_recovery_it_measured():
    closed = parse_notification(_notification(LATENCIES, RUN, P99["incident"]["condition"]["conditionThreshold"],
                                              "1500", state="closed", observed="420"))
    assert "below the condition's bar of 1500" in closed.recovery_shown
