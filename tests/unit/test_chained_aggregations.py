"""A threshold condition's `aggregations` are "applied in the order specified" (MetricThreshold.aggregations,
google-cloud-monitoring types/alert.py): a policy written with its aligner in one aggregation and its
cross-series reducer in the next (two `aggregations` blocks in Terraform) compares what the chain makes,
not what the first step does. Read from the first alone, a sum of per-series p99s (ALIGN_PERCENTILE_99, then
REDUCE_SUM) was judged as a p99, and cleared by a p99 under its threshold while the sum the policy compares
stayed over it (shared/alerts/incidents.py `_chained`, shared/diagnosis/health_bar.py)."""
from __future__ import annotations

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
LATENCIES, COUNT = "run.googleapis.com/request_latencies", "run.googleapis.com/request_count"
BY_SERVICE = ["resource.label.project_id", "resource.label.location", "resource.label.service_name"]
RUN = {"type": "cloud_run_revision", "labels": {"project_id": "p", "location": "europe-west1",
                                                "service_name": "backend", "configuration_name": "backend"}}


def _step(aligner: str = "", reducer: str = "") -> dict:
    step: dict = {"alignmentPeriod": "60s"}
    if aligner:
        step["perSeriesAligner"] = aligner
    if reducer:
        step.update(crossSeriesReducer=reducer, groupByFields=BY_SERVICE)
    return step


def _notification(metric: str, steps: list[dict], threshold: float, extra_filter: str = "") -> dict:
    return {"version": "1.2", "incident": {
        "incident_id": "0.nchainedagg1", "state": "open", "started_at": 1764700000, "ended_at": None,
        "policy_name": "policy", "condition_name": "condition",
        "condition": {"name": "projects/p/alertPolicies/21/conditions/22", "displayName": "condition",
                      "conditionThreshold": {
                          "filter": f'resource.type = "cloud_run_revision" AND metric.type = "{metric}"{extra_filter}',
                          "comparison": "COMPARISON_GT", "thresholdValue": threshold, "duration": "0s",
                          "aggregations": steps}},
        "metric": {"type": metric, "labels": {}}, "resource": RUN,
        "observed_value": str(threshold * 2), "threshold_value": f"{threshold:g}", "summary": "condition fired"}}


# The aggregation the chain makes, and whether the p99 read (the worst series' p99) bounds it.
LATENCY_CHAINS = {
    "p99 per series, then summed": ([_step("ALIGN_PERCENTILE_99"), _step(reducer="REDUCE_SUM")], False),
    "p99 per series, then averaged and summed": (
        [_step("ALIGN_PERCENTILE_99", "REDUCE_MEAN"), _step(reducer="REDUCE_SUM")], False),
    "p99 per series, then the worst": ([_step("ALIGN_PERCENTILE_99"), _step(reducer="REDUCE_MAX")], True),
    "delta, then the 99th percentile of the merged": ([_step("ALIGN_DELTA"), _step(reducer="REDUCE_PERCENTILE_99")],
                                                      True),
    "p99, then a mean of each p99 over time": ([_step("ALIGN_PERCENTILE_99"), _step("ALIGN_MEAN")], False),
    "one aggregation, as before": ([_step("ALIGN_PERCENTILE_99", "REDUCE_MAX")], True),
}


@pytest.mark.parametrize("name", LATENCY_CHAINS)
def test_a_latency_condition_is_judged_on_what_its_chain_of_aggregations_compares(name):
    steps, judged = LATENCY_CHAINS[name]
    bar = health_bar(alert_context(parse_notification(_notification(LATENCIES, steps, 2000))), S)
    assert bar.judged is judged, bar.why_not


def test_clean_p99s_do_not_clear_a_policy_on_their_sum():
    """Every series' p99 is 1.2 s, under the policy's 2 s; the policy sums them (a p99 per revision and
    response code, then REDUCE_SUM by service): its condition holds. Never `healthy`."""
    e = Evidence()
    e.now = 3
    e.revision(OLD, -300).traffic(**{OLD: 100}).requests(OLD, -90, 3, 40).latency(OLD, -90, 3, 1.2)
    alert = alert_context(parse_notification(_notification(
        LATENCIES, [_step("ALIGN_PERCENTILE_99"), _step(reducer="REDUCE_SUM")], 2000)))
    result = diagnose(e.bundle().model_copy(update={"alert": alert}), S)
    assert result.signature is not Signature.HEALTHY, result.summary


def test_a_5xx_count_whose_second_aggregation_turns_it_into_a_change_is_not_judged():
    """ALIGN_DELTA per minute, then ALIGN_PERCENT_CHANGE of those counts: a rise, not a count of 5xx."""
    document = _notification(COUNT, [_step("ALIGN_DELTA", "REDUCE_SUM"), _step("ALIGN_PERCENT_CHANGE")], 50,
                             ' AND metric.labels.response_code_class = "5xx"')
    bar = health_bar(alert_context(parse_notification(document)), S)
    assert not bar.judged


def test_the_usual_split_of_a_5xx_rate_is_read_as_one_aggregation():
    """ALIGN_RATE in one step, REDUCE_SUM by service in the next: a rate of 5xx a second, judged as one."""
    incident = parse_notification(_notification(
        COUNT, [_step("ALIGN_RATE"), _step(reducer="REDUCE_SUM")], 0.5, ' AND metric.labels.response_code_class = "5xx"'))
    assert (incident.aligner, incident.reducer) == ("ALIGN_RATE", "REDUCE_SUM")
    assert health_bar(alert_context(incident), S).judged


def _period(steps: list[dict]) -> float | None:
    return parse_notification(_notification(COUNT, steps, 50)).alignment_seconds


@pytest.mark.parametrize("steps, seconds", [
    ([{"alignmentPeriod": "3600s", "perSeriesAligner": "ALIGN_SUM"}], 3600.0),
    ([{"alignmentPeriod": "300s", "perSeriesAligner": "ALIGN_DELTA"}, _step(reducer="REDUCE_SUM")], 300.0),
    ([{"alignmentPeriod": "90.500s", "perSeriesAligner": "ALIGN_DELTA"}], 90.5),
    ([{"perSeriesAligner": "ALIGN_DELTA"}], None),
    ([{"alignmentPeriod": "5m", "perSeriesAligner": "ALIGN_DELTA"}], None),
    ([], None),
])
def test_the_period_a_count_is_over_is_the_first_steps_alignment_period(steps, seconds):
    """The aligner's own step sets the period its count is over (a later step's reducer combines series already
    aligned; its own period is not read); a Duration in ProtoJSON's form only ("300s";
    google/protobuf/duration.proto), anything else is not stated."""
    assert _period(steps) == seconds
