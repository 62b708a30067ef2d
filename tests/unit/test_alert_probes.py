"""Realistic Cloud Run notifications on what the health check does not read, and parts of a notification
a person writes (user labels, the documentation's subject, the resource's display name): which service is
read, and whether clean 5xx and p99 may call it `healthy`. Each row was right before; kept as a row."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from shared.alerts.incidents import parse_notification
from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.health_bar import health_bar
from shared.diagnosis.scope import alert_context
from shared.diagnosis.signatures import Signature

from tests.property.fast import scenario_model
from tests.property.harness import ANCHOR
from tests.unit.builders import Evidence
from tests.unit.test_condition_units import _recovered

S = DiagnosisSettings()
RUN = 'resource.type="cloud_run_revision" AND resource.labels.service_name="backend"'
COUNT = "run.googleapis.com/request_count"
FIVE_XX = ' AND metric.labels.response_code_class="5xx"'


def _alert(metric: str, aligner: str, bar: float, shown: str, reducer: str = "", terms: str = "") -> dict[str, Any]:
    document = copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR))
    incident = document["incident"]
    aggregation = {"alignmentPeriod": "60s", "perSeriesAligner": aligner}
    if reducer:
        aggregation.update(crossSeriesReducer=reducer, groupByFields=["resource.label.service_name"])
    incident["condition"]["conditionThreshold"] = {
        "filter": f'metric.type="{metric}" AND {RUN}{terms}', "aggregations": [aggregation],
        "comparison": "COMPARISON_GT", "thresholdValue": bar, "duration": "300s", "trigger": {"percent": 50}}
    incident.update(metric={"type": metric, "labels": {}}, threshold_value=shown, observed_value="1.2e+02")
    return document


# name: (notification, judged)
NOT_READ = {
    "instance count above 50 (ALIGN_MAX)": (
        _alert("run.googleapis.com/container/instance_count", "ALIGN_MAX", 50, "50", "REDUCE_SUM"), False),
    "max concurrent requests p99 above 70": (
        _alert("run.googleapis.com/container/max_request_concurrencies", "ALIGN_PERCENTILE_99", 70, "70"), False),
    "CPU utilization p99 above 0.8": (
        _alert("run.googleapis.com/container/cpu/utilizations", "ALIGN_PERCENTILE_99", 0.8, "0.8"), False),
    # The console's "rate of change" condition: the 5xx count's percent change over the period, above 50 (%).
    # Read as a count of 50 5xx, 4 5xx a window becoming 10 (+150 %, the condition met) was `healthy`.
    "5xx rate of change above 50 % (ALIGN_PERCENT_CHANGE)": (
        _alert(COUNT, "ALIGN_PERCENT_CHANGE", 50, "50", terms=FIVE_XX), False),
    "5xx count above 5 (ALIGN_DELTA), the row above's counterpart": (
        _alert(COUNT, "ALIGN_DELTA", 5, "5", terms=FIVE_XX), True),
    "latency p99 above 2 (meant as seconds, read as the metric's ms)": (
        _alert("run.googleapis.com/request_latencies", "ALIGN_PERCENTILE_99", 2, "2"), True),
}


@pytest.mark.parametrize("name", NOT_READ)
def test_clean_requests_are_healthy_only_for_a_condition_the_check_reads(name):
    """Clean requests at a 0.2 s p99, since a burst of 500s (each notification states a value over its bar): only a count of 5xx is shown cleared by them (a latency bar of 2 is
    2 ms, the metric's unit, which a 0.2 s p99 exceeds)."""
    document, judged = NOT_READ[name]
    alert = alert_context(parse_notification(document))

    result = diagnose(_recovered(Evidence()).bundle().model_copy(update={"alert": alert}), S)

    assert health_bar(alert, S).judged is judged
    assert (result.signature is Signature.HEALTHY) is (judged and alert.metric_type == COUNT), result.summary


def test_the_service_read_is_the_resource_labels_whatever_a_person_wrote_elsewhere():
    """The policy's user labels, the documentation's subject and the resource's display name name
    frontend; the violating series' resource labels name backend: backend is read, and the labels naming
    frontend put the condition in doubt (shared/alerts/named_elsewhere.py): nothing of it is lent to backend."""
    document = copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR))
    incident = document["incident"]
    incident.update(resource_display_name="frontend", policy_user_labels={"service": "frontend"})
    incident["documentation"]["subject"] = "[ALERT] frontend 5xx ratio"
    incident["metadata"]["user_labels"] = {"service": "frontend"}

    parsed = parse_notification(document)

    assert parsed.target.name == "projects/demo-project/locations/us-central1/services/backend"
    assert "'frontend'" in parsed.condition_doubt and "'backend'" in parsed.condition_doubt, parsed.condition_doubt
