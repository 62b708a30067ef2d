"""A condition's threshold is a share of requests only when its condition is a ratio.

MetricThreshold's threshold "is applied to the ratio of the numerator to the denominator" only with a
`denominator_filter` (google/monitoring/v3/alert.proto); an MQL `ratio` or a PromQL quotient of two
request counts is one too. A fractional threshold alone is no share: a policy on 5xx a second
(ALIGN_RATE) at 0.02 pages at about one 5xx a minute. Before, `request_timeout.share_bar` read any
fractional request_count threshold as a share (a 0.02 rate lowered the 504 bar from 10 % to 2 %),
and any PromQL quotient of request counts (4xx over all, one service's 5xx over another's requests)
was read as a 5xx share and lowered it too,
and the health check read one without aggregation as a share (a 0.5-a-second policy was cleared at
the settings' 1 %). Now the 504 bar comes from a ratio condition only, and a fractional threshold
whose unit is not stated is not judged healthy."""
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
from tests.unit.test_honest_verdicts import _timeouts

S = DiagnosisSettings()
COUNT = "run.googleapis.com/request_count"
FIVE_XX = ('metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision" AND '
           'metric.labels.response_code_class="5xx"')
ALL = 'metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision"'
MQL_RATIO = ("fetch cloud_run_revision::run.googleapis.com/request_count | {filter metric.response_code_class == "
             "'5xx' ; ident} | group_by [resource.project_id, resource.location, resource.service_name], "
             "sum(val()) | ratio | every 1m | condition val() > 0.02 '1'")
MQL_RATE = ("fetch cloud_run_revision::run.googleapis.com/request_count | filter metric.response_code_class == "
            "'5xx' | align rate(1m) | every 1m | condition val() > 0.02")
MQL_PERCENT = ("fetch cloud_run_revision::run.googleapis.com/request_count | {filter metric.response_code_class "
               "== '5xx' ; ident} | ratio | every 1m | condition val() > 2 '%'")
PROMQL_RATIO = ('sum by (project_id, location, service_name) (rate(run_googleapis_com:request_count'
                '{response_code_class="5xx"}[5m])) / sum by (project_id, location, service_name) '
                '(rate(run_googleapis_com:request_count[5m])) > 0.02')
PROMQL_RATE = ('sum by (project_id, location, service_name) (rate(run_googleapis_com:request_count'
               '{response_code_class="5xx"}[5m])) > 0.02')
PROMQL_OTHER_SERVICE = ('sum(rate(run_googleapis_com:request_count{service_name="backend",response_code_class="5xx"}'
                        '[5m])) / sum(rate(run_googleapis_com:request_count{service_name="frontend"}[5m])) > 0.02')
MQL_FILTER_RATIO = ("fetch cloud_run_revision::run.googleapis.com/request_count | filter_ratio_by "
                    "[resource.project_id, resource.location, resource.service_name], metric.response_code_class "
                    "== '5xx' | every 1m | condition val() > 0.02 '1'")


def notification(condition: dict[str, Any], threshold: str = "0.02") -> dict[str, Any]:
    document = copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR))
    incident = document["incident"]
    incident["condition"] = {"name": incident["condition"]["name"], "displayName": incident["condition_name"],
                             **condition}
    incident.update(threshold_value=threshold, observed_value="0.04")
    return document


BY_SERVICE = ["resource.label.project_id", "resource.label.location", "resource.label.service_name"]


def threshold(aligner: str | None = "ALIGN_RATE", denominator: str = "", bar: float = 0.02) -> dict[str, Any]:
    """A 5xx condition; with a `denominator`, its share of the service's requests: both summed by service, as a
    share of requests is (each series divided by the denominator's of the same labels, health_bar.py)."""
    body: dict[str, Any] = {"filter": FIVE_XX, "comparison": "COMPARISON_GT", "thresholdValue": bar,
                            "duration": "60s"}
    if aligner:
        body["aggregations"] = [{"alignmentPeriod": "60s", "perSeriesAligner": aligner}]
        if denominator:
            body["aggregations"][0].update(crossSeriesReducer="REDUCE_SUM", groupByFields=BY_SERVICE)
    if denominator:
        body["denominatorFilter"] = denominator
        body["denominatorAggregations"] = body.get("aggregations", [])
    return {"conditionThreshold": body}


# name: (condition, is it a ratio of requests)
CONDITIONS = {
    "5xx a second (ALIGN_RATE), no denominator": (threshold("ALIGN_RATE"), False),
    "5xx a minute (ALIGN_DELTA), no denominator": (threshold("ALIGN_DELTA"), False),
    "fractional, no aggregation, no denominator": (threshold(None), False),
    "5xx over all requests (denominatorFilter)": (threshold("ALIGN_RATE", ALL), True),
    "MQL ratio": ({"conditionMonitoringQueryLanguage": {"query": MQL_RATIO, "duration": "60s"}}, True),
    "MQL rate": ({"conditionMonitoringQueryLanguage": {"query": MQL_RATE, "duration": "60s"}}, False),
    "MQL ratio with a bar in percent": ({"conditionMonitoringQueryLanguage": {"query": MQL_PERCENT}}, False),
    "PromQL quotient of request counts": ({"conditionPrometheusQueryLanguage": {"query": PROMQL_RATIO}}, True),
    "PromQL rate": ({"conditionPrometheusQueryLanguage": {"query": PROMQL_RATE}}, False),
    "PromQL 5xx over all, ignoring the class": (
        {"conditionPrometheusQueryLanguage": {"query": PROMQL_RATIO.replace(" / ", " / ignoring(response_code_class) ")}},
        True),
    "PromQL quotient of 4xx over all": (
        {"conditionPrometheusQueryLanguage": {"query": PROMQL_RATIO.replace('"5xx"', '"4xx"')}}, False),
    "PromQL one service's 5xx over another's requests": (
        {"conditionPrometheusQueryLanguage": {"query": PROMQL_OTHER_SERVICE}}, False),
    "MQL filter_ratio_by": ({"conditionMonitoringQueryLanguage": {"query": MQL_FILTER_RATIO}}, True),
}


@pytest.mark.parametrize("name", CONDITIONS)
def test_a_share_of_requests_only_from_a_ratio_condition(name):
    condition, ratio = CONDITIONS[name]
    incident = parse_notification(notification(condition))

    assert incident.is_ratio is ratio
    assert alert_context(incident).ratio is ratio


@pytest.mark.parametrize("name", CONDITIONS)
def test_the_504_bar_is_the_alerts_threshold_only_for_a_ratio(name):
    """4 % of requests 504 at the 30 s timeout: a request timeout at a 2 % ratio policy's bar, under the
    settings' 10 % for any other condition at 0.02 (a rate of 0.02 5xx a second is about one a minute)."""
    condition, ratio = CONDITIONS[name]
    alert = alert_context(parse_notification(notification(condition)))
    bundle = _timeouts(Evidence(), 500, 0.04, onset=-20, timeout=30).bundle()

    result = diagnose(bundle.model_copy(update={"alert": alert}), S)

    assert (result.signature is Signature.REQUEST_TIMEOUT) is ratio, result.summary


FOUR_XX = FIVE_XX.replace('"5xx"', '"4xx"')
ONE_5XX_CODE = FIVE_XX.replace('metric.labels.response_code_class="5xx"', 'metric.labels.response_code="504"')


def share_of(numerator: str) -> dict[str, Any]:
    condition = threshold("ALIGN_RATE", ALL)
    condition["conditionThreshold"]["filter"] = numerator
    return condition


# name: (a denominatorFilter condition, the labels its notification's metric carries, is its threshold the 504 bar)
SHARES = {
    "5xx over all": (share_of(FIVE_XX), {"response_code_class": "5xx"}, True),
    "504s over all": (share_of(ONE_5XX_CODE), {"response_code": "504"}, True),
    "4xx over all": (share_of(FOUR_XX), {"response_code_class": "4xx"}, False),
    "all over all, no response class named": (share_of(ALL), {}, False),
}


@pytest.mark.parametrize("name", SHARES)
def test_the_504_bar_is_a_ratio_conditions_threshold_only_when_it_counts_5xx(name):
    """A denominatorFilter makes any numerator a share: a 4xx-over-all policy at 2 % lowered the 504 bar
    from the settings' 10 % to 2 %, and 4 % of requests 504ing read as a request timeout on its bar."""
    condition, labels, bar = SHARES[name]
    document = notification(condition)
    document["incident"]["metric"]["labels"] = labels
    alert = alert_context(parse_notification(document))
    bundle = _timeouts(Evidence(), 500, 0.04, onset=-20, timeout=30).bundle()

    result = diagnose(bundle.model_copy(update={"alert": alert}), S)

    assert alert.ratio
    assert (result.signature is Signature.REQUEST_TIMEOUT) is bar, result.summary


def _serving(e: Evidence, errors_per_minute: float) -> Evidence:
    e.now = 3
    e.revision("backend-00001-abc", -300).traffic(**{"backend-00001-abc": 100})
    e.requests("backend-00001-abc", -90, 3, 3000).latency("backend-00001-abc", -90, 3, 0.2)
    return e.requests("backend-00001-abc", -15, 3, errors_per_minute, code="500")


def _recovered(e: Evidence, errors_per_minute: float = 0) -> Evidence:
    """`_serving`, after a burst of 500s (10 % of requests, 300 a minute) from -10 to -2 that opened the incident:
    the minutes read show the failure the notification states (its `observed_value` over its threshold) and its
    end. Over a service that never failed, such an alert and the evidence disagree (shared/diagnosis/alert_unseen.py)."""
    return _serving(e, errors_per_minute).requests("backend-00001-abc", -10, -2, 300, code="500")


def test_a_fractional_threshold_of_unstated_unit_is_not_judged_healthy():
    """A policy at 0.5 5xx (a second, as its author meant) whose notification carries no aggregation:
    30 500s a minute of 3,000 requests is 1 %, at the settings' healthy share, and far over 0.5 a second."""
    alert = alert_context(parse_notification(notification(threshold(None, bar=0.5), threshold="0.5")))
    bar = health_bar(alert, S)

    result = diagnose(_serving(Evidence(), 30).bundle().model_copy(update={"alert": alert}), S)

    assert not bar.judged and "whether it is a share, a rate a second or a count is not stated" in bar.why_not
    assert result.signature is not Signature.HEALTHY, result.summary


def test_a_ratio_condition_is_still_judged_at_its_own_bar():
    alert = alert_context(parse_notification(notification(threshold("ALIGN_RATE", ALL, bar=0.005), "0.005")))

    assert health_bar(alert, S).judged and health_bar(alert, S).error_ratio == 0.005


# threshold_value, the condition's thresholdValue: both the bar, disagreeing.
DISAGREEING = {
    "a count policy at 5 a second shown as 50": ("50", threshold("ALIGN_RATE", bar=5)),
    "a 0.5 % ratio policy shown as 0.5": ("0.5", threshold("ALIGN_RATE", ALL, bar=0.005)),
    "a 0.5 % ratio policy shown as 0.05": ("0.05", threshold("ALIGN_RATE", ALL, bar=0.005)),
}


@pytest.mark.parametrize("name", DISAGREEING)
def test_a_notification_whose_two_bars_disagree_is_not_judged_at_either(name):
    """threshold_value once won: a 0.5 % ratio policy whose notification said "0.05" was judged at the
    settings' 1 % (its bar read as 5 %), and 30 500s a minute of 3,000 requests (1 %, twice its real bar)
    were `healthy`. Which one the policy compares with is unknown, so neither is lent to the health check
    nor to a rule, and the person sees both."""
    shown, condition = DISAGREEING[name]
    incident = parse_notification(notification(condition, threshold=shown))
    alert = alert_context(incident)

    result = diagnose(_serving(Evidence(), 30).bundle().model_copy(update={"alert": alert}), S)

    assert incident.threshold is None and alert.threshold is None and not alert.ratio
    assert f"threshold_value {shown!r} is not its condition's thresholdValue" in incident.condition_doubt
    assert not health_bar(alert, S).judged
    assert result.signature is not Signature.HEALTHY, result.summary


def test_a_closed_notification_whose_two_bars_disagree_shows_no_recovery():
    """A value on the clear side of one bar and not of the other: no recovery either way."""
    document = notification(threshold("ALIGN_RATE", ALL, bar=0.01), threshold="0.05")
    document["incident"].update(state="closed", ended_at=document["incident"]["started_at"] + 600,
                                observed_value="0.03")
    incident = parse_notification(document)
    assert incident.recovery_shown == "" and "thresholdValue" in incident.recovery_doubt


def test_agreeing_bars_are_read_as_before():
    incident = parse_notification(notification(threshold("ALIGN_RATE", ALL, bar=0.02), threshold="0.02"))
    assert incident.threshold == 0.02 and incident.condition_doubt == "" and alert_context(incident).ratio


def per_period(aligner: str, period: str, bar: float) -> dict[str, Any]:
    """5xx counted per `period` (a Duration: "300s", "3600s") by `aligner`, over `bar`."""
    condition = threshold(aligner, bar=bar)
    condition["conditionThreshold"]["aggregations"][0]["alignmentPeriod"] = period
    return condition


def _steady_500s(per_minute: float) -> Evidence:
    """2,000 requests a minute since long before the incident, `per_minute` of them 500 throughout (0.15 %
    at 3: under the share called clean); read 3 minutes after the incident began (the recent window since
    its start: 3 minutes)."""
    e = Evidence(now=3).revision("backend-00001-abc", -300).traffic(backend_00001_abc=100)
    e.requests("backend-00001-abc", -90, 3, 2000).latency("backend-00001-abc", -90, 3, 0.2)
    return e.requests("backend-00001-abc", -90, 3, per_minute, code="500") if per_minute else e


# name: (condition, 500s a minute, healthy)
PER_PERIOD = {
    "over 10 in 5 minutes (ALIGN_DELTA, 300 s), 3 a minute (15 in 5 minutes): still met": (
        per_period("ALIGN_DELTA", "300s", 10), 3, False),
    "over 50 an hour (ALIGN_SUM, 3600 s), 3 a minute (180 an hour): still met": (
        per_period("ALIGN_SUM", "3600s", 50), 3, False),
    "over 10 in 5 minutes, 1 a minute (5 in 5 minutes): cleared": (per_period("ALIGN_DELTA", "300s", 10), 1, True),
    "over 50 an hour, none: cleared": (per_period("ALIGN_SUM", "3600s", 50), 0, True),
    "over 10 a minute (ALIGN_DELTA, 60 s), 3 a minute: cleared": (per_period("ALIGN_DELTA", "60s", 10), 3, True),
    "over 0.5 a second (ALIGN_RATE, 300 s), 3 a minute: a rate, cleared": (
        per_period("ALIGN_RATE", "300s", 0.5), 3, True),
}


@pytest.mark.parametrize("name", PER_PERIOD)
def test_a_count_of_5xx_per_period_is_judged_per_period(name):
    """A count of 5xx per alignment period longer than the minutes read: the window's own 5xx must stay
    under the condition's count for that part of its period (a steady 3 a minute, 9 in the 3 minutes read,
    is 15 in 5 minutes, 180 in an hour). Read against the whole count, "over 50 an hour" was cleared by 3
    500s a minute: `healthy`, and a sweep's `verified`, while the condition held. A rate (ALIGN_RATE) is per
    second whatever its period."""
    condition, errors, healthy = PER_PERIOD[name]
    alert = alert_context(parse_notification(notification(condition, threshold=str(
        condition["conditionThreshold"]["thresholdValue"]))))
    result = diagnose(_steady_500s(errors).bundle().model_copy(update={"alert": alert}), S)
    assert (result.signature is Signature.HEALTHY) is healthy, result.summary
