"""A ratio condition is the share of the service's requests only when its denominator is too.

MetricThreshold.denominator_aggregations (google/monitoring/v3/alert.proto): the numerator's and the
denominator's aggregations "must use the same alignment period and produce time series that have the same
periodicity and labels"; "After aggregation, the labels in the denominator time series must be the same as,
or a subset of, the labels in the numerator time series" (Cloud Monitoring, "Ratios of metrics"). So a 5xx
series is divided by the denominator's series of its labels. Before, the denominator's aggregations were not
read at all:
- a ratio whose denominator combines no series (no denominatorAggregations, or no cross-series reducer) or
  keeps response_code_class: each 5xx series may be divided by its own class's series, 1 while it has a
  point; 0.5 % of 5xx was `healthy` under its 2 % bar while, read so, the condition still held;
- a denominator reduced by REDUCE_MEAN, or aligned otherwise than the numerator: 5xx summed over the mean
  of five classes' series is five times the share; 0.5 % of 5xx was `healthy` at a 2 % bar it met at 2.5 %;
- such a ratio's threshold lowered the 504 rule's bar as a share of requests would.
Now the first is judged only with no 5xx nor 429 left (under both readings), the second is not judged (the
reason names denominatorAggregations), and neither lends its threshold to a rule."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shared.alerts.incidents import parse_notification
from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.facts import Facts
from shared.diagnosis.health_bar import health_bar
from shared.diagnosis.rules.request_timeout import share_bar
from shared.diagnosis.scope import alert_context
from shared.diagnosis.signatures import Signature

from tests.unit.builders import Evidence
from tests.unit.test_condition_units import ALL, FIVE_XX, _recovered, _serving, notification
from tests.unit.test_honest_verdicts import _timeouts

S = DiagnosisSettings()
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "conditions"
SERVICE = ["resource.label.project_id", "resource.label.location", "resource.label.service_name"]
BY_CLASS = [*SERVICE, "metric.label.response_code_class"]


def _step(aligner: str = "ALIGN_RATE", reducer: str = "", fields: list[str] | None = None) -> dict[str, Any]:
    step: dict[str, Any] = {"alignmentPeriod": "60s", "perSeriesAligner": aligner}
    if reducer:
        step.update(crossSeriesReducer=reducer, groupByFields=fields if fields is not None else SERVICE)
    return step


def _ratio(numerator: dict[str, Any], denominator: dict[str, Any] | None, filter_: str = FIVE_XX) -> dict[str, Any]:
    body: dict[str, Any] = {"filter": filter_, "denominatorFilter": ALL, "comparison": "COMPARISON_GT",
                            "thresholdValue": 0.02, "duration": "120s", "aggregations": [numerator]}
    if denominator is not None:
        body["denominatorAggregations"] = [denominator]
    return {"conditionThreshold": body}


# name: (condition, the labels of the series that fired, its verdict on 0.5 % of 5xx under its 2 % bar:
#        "healthy", "no 5xx left" (judged, none may remain) or "not judged")
RATIOS = {
    "summed by service on both sides": (_ratio(_step(reducer="REDUCE_SUM"), _step(reducer="REDUCE_SUM")),
                                        {}, "healthy"),
    "numerator per series, denominator summed by service (each series' share of the service)": (
        _ratio(_step(), _step(reducer="REDUCE_SUM")), {"response_code_class": "5xx"}, "healthy"),
    "no cross-series reducer on either side": (_ratio(_step(), _step()), {"response_code_class": "5xx"},
                                               "no 5xx left"),
    "no denominatorAggregations at all": (_ratio(_step(), None), {"response_code_class": "5xx"}, "no 5xx left"),
    "both summed by service and response class": (
        _ratio(_step(reducer="REDUCE_SUM", fields=BY_CLASS), _step(reducer="REDUCE_SUM", fields=BY_CLASS)),
        {"response_code_class": "5xx"}, "no 5xx left"),
    "both summed by service and response code": (
        _ratio(_step(reducer="REDUCE_SUM", fields=[*SERVICE, "metric.labels.response_code"]),
               _step(reducer="REDUCE_SUM", fields=[*SERVICE, "metric.labels.response_code"])),
        {"response_code_class": "5xx", "response_code": "500"}, "no 5xx left"),
    "denominator averaged (REDUCE_MEAN), numerator summed": (
        _ratio(_step(reducer="REDUCE_SUM"), _step(reducer="REDUCE_MEAN")), {}, "not judged"),
    "numerator counted a minute (ALIGN_DELTA), denominator a second (ALIGN_RATE)": (
        _ratio(_step("ALIGN_DELTA", "REDUCE_SUM"), _step("ALIGN_RATE", "REDUCE_SUM")), {}, "not judged"),
}


def _alert(name: str):
    condition, labels, _ = RATIOS[name]
    document = notification(condition)
    document["incident"]["metric"]["labels"] = labels
    return alert_context(parse_notification(document))


@pytest.mark.parametrize("name", RATIOS)
def test_a_ratio_is_judged_as_a_share_only_when_its_denominator_is_the_services_requests(name):
    """15 500s a minute of 3,000 requests (0.5 %) in the last minutes, under the 2 % bar, after the burst the
    notification measured (its 4 % over 2 %)."""
    verdict = RATIOS[name][2]
    alert = _alert(name)
    bar = health_bar(alert, S)

    result = diagnose(_recovered(Evidence(), 15).bundle().model_copy(update={"alert": alert}), S)

    assert bar.judged is (verdict != "not judged"), bar
    assert (bar.error_count == 0) is (verdict == "no 5xx left"), bar
    assert (result.signature is Signature.HEALTHY) is (verdict == "healthy"), result.summary
    if verdict == "not judged":
        assert "denominatorAggregations" in bar.why_not and "denominatorAggregations" in result.summary
    if verdict == "no 5xx left":
        assert "denominatorAggregations" in bar.source, bar.source
        # The person hears what kept the service from `healthy`: the 5xx left, and the bar that needs them gone.
        assert "5xx or 429 remain, over the 0 allowed by the alert's ratio, whose " \
               "denominatorAggregations" in result.summary, result.summary


@pytest.mark.parametrize("name", [n for n, (_, _, v) in RATIOS.items() if v != "healthy"])
def test_a_ratio_of_no_known_share_is_judged_healthy_once_no_5xx_remain_or_not_at_all(name):
    verdict = RATIOS[name][2]
    alert = _alert(name)

    result = diagnose(_recovered(Evidence()).bundle().model_copy(update={"alert": alert}), S)

    assert (result.signature is Signature.HEALTHY) is (verdict == "no 5xx left"), result.summary


@pytest.mark.parametrize("name", RATIOS)
def test_only_a_share_of_the_services_requests_lowers_the_504_bar(name):
    """A 504 ratio at 2 %: 4 % of requests 504 at the 30 s timeout is a request timeout on its bar only when the
    ratio is a share of the service's requests (the settings' 10 % otherwise)."""
    verdict = RATIOS[name][2]
    condition = RATIOS[name][0]
    condition["conditionThreshold"]["filter"] = ALL + ' AND metric.labels.response_code="504"'
    document = notification(condition)
    document["incident"]["metric"]["labels"] = {"response_code": "504"}
    alert = alert_context(parse_notification(document))
    bundle = _timeouts(Evidence(), 500, 0.04, onset=-20, timeout=30).bundle().model_copy(update={"alert": alert})

    assert share_bar(Facts(bundle, S))[0] == (0.02 if verdict == "healthy" else S.status_ratio)
    assert (diagnose(bundle, S).signature is Signature.REQUEST_TIMEOUT) is (verdict == "healthy")


# file: its denominator's series may each be one response class's
FIXTURE_FORMS = ["run_5xx_ratio_unreduced_open.json", "run_5xx_ratio_by_class_open.json"]


@pytest.mark.parametrize("name", FIXTURE_FORMS)
def test_realistic_notifications_of_ratios_per_response_class_need_every_5xx_gone(name):
    incident = parse_notification(json.loads((FIXTURES / name).read_text()))
    alert = alert_context(incident)
    bar = health_bar(alert, S)

    assert incident.is_ratio and incident.target.name == "projects/shop-prod/locations/europe-west1/services/checkout"
    assert bar.judged and bar.error_count == 0 and "denominatorAggregations" in bar.source, bar


def test_the_reduce_mean_fixture_names_its_denominator_too():
    """The quotient of means (numerator and denominator REDUCE_MEAN) is not judged, as before."""
    alert = alert_context(parse_notification(json.loads((FIXTURES / "run_5xx_ratio_reduce_mean_open.json").read_text())))

    assert not health_bar(alert, S).judged


TWO_XX = ALL + ' AND metric.labels.response_code_class="2xx"'


@pytest.mark.parametrize("bar, failing", [(0.99, "1.00%"), (0.995, "0.50%")])
def test_a_success_ratio_falling_below_its_bar_names_the_share_it_fails_at(bar, failing):
    """2xx over all below 0.99 (an SLO's success ratio): more than 1 % of requests answered otherwise, 4xx among
    them, which clean 5xx do not bound. Not judged (as before), the reason naming the failing share and why."""
    condition = _ratio(_step(reducer="REDUCE_SUM"), _step(reducer="REDUCE_SUM"), filter_=TWO_XX)
    condition["conditionThreshold"].update(comparison="COMPARISON_LT", thresholdValue=bar)
    document = notification(condition, threshold=str(bar))
    document["incident"].update(observed_value="0.97")
    alert = alert_context(parse_notification(document))
    bar_ = health_bar(alert, S)

    result = diagnose(_serving(Evidence(), 0).bundle().model_copy(update={"alert": alert}), S)

    assert not bar_.judged and result.signature is not Signature.HEALTHY
    assert f"more than {failing} of requests are answered otherwise, 3xx and 4xx among them" in bar_.why_not, bar_
    assert "the share of 2xx responses falls below" in result.summary, result.summary


def test_a_realistic_availability_slo_notification_names_the_share_it_fails_at():
    alert = alert_context(parse_notification(json.loads((FIXTURES / "run_2xx_share_below_open.json").read_text())))
    bar = health_bar(alert, S)

    assert alert.ratio and not bar.judged
    assert "more than 1.00% of requests are answered otherwise" in bar.why_not, bar.why_not


def test_a_realistic_notification_of_a_service_its_one_of_does_not_select_is_doubted():
    incident = parse_notification(json.loads((FIXTURES / "run_5xx_ratio_one_of_services_open.json").read_text()))

    assert "service_name 'payments', not the 'cart' or 'checkout'" in incident.condition_doubt, incident.condition_doubt
    assert not health_bar(alert_context(incident), S).judged
