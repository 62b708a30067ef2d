"""Parts of a threshold condition that change what its value is, and so what clean requests show of it
(shared/diagnosis/health_bar.py): the aggregation's unit on request_count (a count of points, a spread, a
quotient of means is no count nor share of requests), a trigger on several series finer than the service,
and evaluationMissingData EVALUATION_MISSING_DATA_ACTIVE (met while the data is missing). Each was judged
`healthy` on clean requests before, at a bar in the wrong unit or on a condition that may still hold.

The notifications under tests/fixtures/conditions are Cloud Run policies of those forms (README there)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from shared.alerts.incidents import IncidentParseError, parse_notification
from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import AlertContext
from shared.diagnosis.facts import Facts
from shared.diagnosis.health_bar import health_bar
from shared.diagnosis.rules.request_timeout import share_bar
from shared.diagnosis.scope import alert_context
from shared.diagnosis.signatures import Signature
from shared.remediation.judging import alert_bar, unread_condition

from tests.unit.builders import Evidence
from tests.unit.test_condition_units import _recovered, _serving

S = DiagnosisSettings()
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "conditions"
RUN, COUNT = "cloud_run_revision", "run.googleapis.com/request_count"
LATENCIES = "run.googleapis.com/request_latencies"
FIVE_XX = ('metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision" AND '
           'metric.labels.response_code_class="5xx"')
ALL = 'metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision"'
BY_SERVICE = ["resource.label.service_name"]
BY_REVISION = ["resource.label.service_name", "resource.label.revision_name"]
BY_ROUTE = ["resource.label.service_name", "metric.label.route"]
ROUTE = {"route": "/api/payments/confirm"}


def _count(aligner: str, reducer: str = "", bar: float = 3, **more) -> AlertContext:
    """A 5xx count condition on the service, above `bar`."""
    more.setdefault("group_by", BY_SERVICE if reducer else [])
    return AlertContext(resource_type=RUN, metric_type=COUNT, comparison="COMPARISON_GT", threshold=bar,
                        condition_kind="threshold", condition_filter=FIVE_XX, aligner=aligner, reducer=reducer, **more)


def _share(aligner: str, reducer: str = "", bar: float = 0.02, **more) -> AlertContext:
    """A 5xx share condition (a denominatorFilter over all requests), above `bar`."""
    more.setdefault("denominator_aggregated", True)
    more.setdefault("denominator_aligner", aligner)
    more.setdefault("denominator_reducer", reducer or "REDUCE_SUM")
    more.setdefault("denominator_group_by", BY_SERVICE)
    return _count(aligner, reducer, bar, ratio=True, denominator_filter=ALL, **more)


# name: (the condition, the field its not-judged reason must name)
NOT_JUDGED = {
    # Aggregation.Aligner (google-cloud-monitoring types/common.py): "the number of values in each alignment
    # period": 5 minutes each with one 5xx among 1,000 requests is a share of points of 1.0.
    "5xx minutes counted (ALIGN_COUNT)": (_count("ALIGN_COUNT", "REDUCE_MAX", 2), "ALIGN_COUNT"),
    "5xx share of points (ALIGN_COUNT)": (_share("ALIGN_COUNT"), "ALIGN_COUNT"),
    "spread of the 5xx count (ALIGN_STDDEV)": (_count("ALIGN_STDDEV"), "ALIGN_STDDEV"),
    "5xx count moved to the period's end (ALIGN_NEXT_OLDER, a GAUGE aligner)": (
        _count("ALIGN_NEXT_OLDER"), "ALIGN_NEXT_OLDER"),
    "5xx count interpolated (ALIGN_INTERPOLATE, a GAUGE aligner)": (_count("ALIGN_INTERPOLATE"), "ALIGN_INTERPOLATE"),
    # Aggregation.Reducer: a number of points across series, a spread, BOOL reducers.
    "number of 5xx series (REDUCE_COUNT)": (_count("ALIGN_DELTA", "REDUCE_COUNT"), "REDUCE_COUNT"),
    "spread across series (REDUCE_STDDEV)": (_count("ALIGN_DELTA", "REDUCE_STDDEV"), "REDUCE_STDDEV"),
    "BOOL reducer on a count (REDUCE_FRACTION_TRUE)": (_count("ALIGN_DELTA", "REDUCE_FRACTION_TRUE"),
                                                       "REDUCE_FRACTION_TRUE"),
    "BOOL reducer on a count (REDUCE_COUNT_TRUE)": (_count("ALIGN_DELTA", "REDUCE_COUNT_TRUE"), "REDUCE_COUNT_TRUE"),
    # A ratio of means: the one 5xx series' mean over the mean of every class's series.
    "5xx share as a quotient of means (REDUCE_MEAN)": (_share("ALIGN_RATE", "REDUCE_MEAN"), "REDUCE_MEAN"),
    "5xx share as a quotient of maxima (REDUCE_MAX)": (_share("ALIGN_DELTA", "REDUCE_MAX"), "REDUCE_MAX"),
    "5xx share as a quotient of p99s (REDUCE_PERCENTILE_99)": (_share("ALIGN_DELTA", "REDUCE_PERCENTILE_99"),
                                                              "REDUCE_PERCENTILE_99"),
    # Trigger (alert.proto): the condition holds while half the revisions hold; each revision has its own share.
    "5xx share on half the revisions (trigger.percent)": (
        _share("ALIGN_DELTA", "REDUCE_SUM", trigger="50 % of its series (trigger.percent 50)", group_by=BY_REVISION),
        "trigger.percent"),
    "5xx share on 2 series, not reduced (trigger.count)": (
        _share("ALIGN_DELTA", trigger="2 of its series (trigger.count 2)"), "trigger.count"),
    # Trigger absent or {count: 1}: "the condition will trigger if the comparison is true for any of the time
    # series" (alert.proto). Each route's share is its own, which the service's does not bound, and the
    # health check does not read request_count by route.
    "5xx share on any one route (no trigger)": (
        _share("ALIGN_DELTA", "REDUCE_SUM", 0.05, group_by=BY_ROUTE, denominator_group_by=BY_ROUTE,
               metric_labels=ROUTE), "metric.label.route"),
    "5xx share on any one route (the route's label quoted)": (
        _share("ALIGN_DELTA", "REDUCE_SUM", 0.05, group_by=BY_ROUTE, metric_labels=ROUTE,
               denominator_group_by=["resource.label.service_name", 'metric.label."route"']), "route"),
    "5xx series each over its route's requests (numerator not reduced)": (
        _share("ALIGN_DELTA", "", 0.05, denominator_group_by=BY_ROUTE), "metric.label.route"),
    "5xx share on any one revision, the notification naming none": (
        _share("ALIGN_DELTA", "REDUCE_SUM", 0.05, group_by=BY_REVISION, denominator_group_by=BY_REVISION),
        "names no revision"),
    # EvaluationMissingData: "evaluate the condition as true" when there is no data.
    "5xx count met on missing data": (_count("ALIGN_DELTA", "REDUCE_SUM", 10,
                                             evaluation_missing_data="EVALUATION_MISSING_DATA_ACTIVE"),
                                      "EVALUATION_MISSING_DATA_ACTIVE"),
    "p99 met on missing data": (AlertContext(resource_type=RUN, metric_type=LATENCIES, comparison="COMPARISON_GT",
                                             threshold=1000, condition_kind="threshold", aligner="ALIGN_PERCENTILE_99",
                                             evaluation_missing_data="EVALUATION_MISSING_DATA_ACTIVE"),
                                "EVALUATION_MISSING_DATA_ACTIVE"),
}


@pytest.mark.parametrize("name", NOT_JUDGED)
def test_clean_requests_do_not_clear_a_condition_of_another_unit_or_on_other_series(name):
    alert, field = NOT_JUDGED[name]

    bar = health_bar(alert, S)
    result = diagnose(_serving(Evidence(), 0).bundle().model_copy(update={"alert": alert}), S)

    assert not bar.judged and field in bar.why_not, bar.why_not
    assert result.signature is not Signature.HEALTHY, result.summary


# name: the condition, still judged (its value a count or a share of requests, or bounded by what is read)
JUDGED = {
    "5xx count (ALIGN_DELTA, REDUCE_SUM)": _count("ALIGN_DELTA", "REDUCE_SUM"),
    "most 5xx of one revision (ALIGN_DELTA, REDUCE_MAX)": _count("ALIGN_DELTA", "REDUCE_MAX"),
    "mean 5xx a series (REDUCE_MEAN, a count at most the service's)": _count("ALIGN_DELTA", "REDUCE_MEAN"),
    "5xx share (ALIGN_RATE, REDUCE_SUM)": _share("ALIGN_RATE", "REDUCE_SUM"),
    "5xx share per series, no reducer": _share("ALIGN_DELTA"),
    "5xx count on half the revisions (each revision's count at most the service's)": _count(
        "ALIGN_DELTA", "REDUCE_SUM", trigger="50 % of its series (trigger.percent 50)", group_by=BY_REVISION),
    "5xx share on half of one series a service (grouped by service)": _share(
        "ALIGN_DELTA", "REDUCE_SUM", trigger="50 % of its series (trigger.percent 50)"),
    # Any one series (no trigger): a series per configuration is one per service (a service's one
    # configuration has its name); a series per revision is judged on the revision the notification names too
    # (diagnose._named_revision_failing); a numerator finer than its denominator (5xx per route or per code
    # over all the service's requests) is a part of the service's share, at most it.
    "5xx share on any one configuration (configuration_name)": _share(
        "ALIGN_DELTA", "REDUCE_SUM", 0.05, group_by=[*BY_SERVICE, "resource.label.configuration_name"],
        denominator_group_by=[*BY_SERVICE, "resource.label.configuration_name"]),
    "5xx share on any one revision, the notification naming it": _share(
        "ALIGN_DELTA", "REDUCE_SUM", 0.05, group_by=BY_REVISION, denominator_group_by=BY_REVISION,
        revision="backend-00001-abc"),
    "5xx per route over all the service's requests": _share(
        "ALIGN_DELTA", "REDUCE_SUM", 0.05, group_by=BY_ROUTE, metric_labels=ROUTE),
    "5xx per response code over all the service's requests": _share(
        "ALIGN_DELTA", "REDUCE_SUM", 0.05, group_by=[*BY_SERVICE, "metric.label.response_code"]),
    "5xx count, missing data as not met": _count("ALIGN_DELTA", "REDUCE_SUM",
                                                 evaluation_missing_data="EVALUATION_MISSING_DATA_INACTIVE"),
    # Each revision's p99 is at most the largest the health check reads (max over revisions).
    "p99 of each revision (ALIGN_DELTA, REDUCE_PERCENTILE_99 by revision)": AlertContext(
        resource_type=RUN, metric_type=LATENCIES, comparison="COMPARISON_GT", threshold=1000, condition_kind="threshold",
        aligner="ALIGN_DELTA", reducer="REDUCE_PERCENTILE_99", group_by=BY_REVISION,
        trigger="50 % of its series (trigger.percent 50)"),
}


@pytest.mark.parametrize("name", JUDGED)
def test_a_count_or_share_of_requests_is_still_judged(name):
    alert = JUDGED[name]

    result = diagnose(_serving(Evidence(), 0).bundle().model_copy(update={"alert": alert}), S)

    assert health_bar(alert, S).judged
    assert result.signature is Signature.HEALTHY, result.summary


def test_a_share_of_points_lends_no_bar_to_the_504_rule():
    """A ratio whose aggregation is no share of requests (ALIGN_COUNT, a quotient of means) does not lower the
    504 bar to its threshold: 2 % of points is no 2 % of requests."""
    e = _serving(Evidence(), 0)
    for alert in (_share("ALIGN_COUNT", bar=0.02), _share("ALIGN_RATE", "REDUCE_MEAN", bar=0.02)):
        facts = Facts(e.bundle().model_copy(update={"alert": alert.model_copy(update={
            "condition_filter": ALL + ' AND metric.labels.response_code="504"'})}), S)
        assert share_bar(facts) == (S.status_ratio, "status_ratio")
    summed = _share("ALIGN_DELTA", "REDUCE_SUM", bar=0.02).model_copy(update={
        "condition_filter": ALL + ' AND metric.labels.response_code="504"'})
    assert share_bar(Facts(e.bundle().model_copy(update={"alert": summed}), S))[0] == 0.02


# file: the field its not-judged reason names
FIXTURE_FORMS = {
    "run_5xx_minutes_align_count_open.json": "ALIGN_COUNT",
    "run_5xx_ratio_reduce_mean_open.json": "REDUCE_MEAN",
    "run_5xx_ratio_half_the_revisions_open.json": "trigger.percent",
    "run_5xx_count_missing_data_active_open.json": "EVALUATION_MISSING_DATA_ACTIVE",
    "run_5xx_ratio_by_route_open.json": "metric.label.route",
}


@pytest.mark.parametrize("name", FIXTURE_FORMS)
def test_each_notification_of_such_a_policy_is_read_and_not_judged(name):
    """Read from the notification as Monitoring sends it (ProtoJSON names, groupByFields, trigger): the same
    answer as the rows above, with the field that decides it named."""
    alert = alert_context(parse_notification(json.loads((FIXTURES / name).read_text())))

    bar = health_bar(alert, S)
    result = diagnose(_serving(Evidence(), 0).bundle().model_copy(update={"alert": alert}), S)

    assert not bar.judged and FIXTURE_FORMS[name] in bar.why_not, bar.why_not
    assert result.signature is not Signature.HEALTHY and FIXTURE_FORMS[name] in result.summary, result.summary


@pytest.mark.parametrize("trigger, words", [
    ({"count": 1}, ""), ({}, ""), ({"count": 0}, ""), ({"count": 2}, "2 of its series (trigger.count 2)"),
    ({"percent": 50}, "50 % of its series (trigger.percent 50)"), ({"percent": 12.5}, "12.5 % of its series"),
    ({"count": "3"}, "3 of its series"),
])
def test_the_trigger_and_group_by_are_read_from_the_condition(trigger, words):
    doc = json.loads((FIXTURES / "run_5xx_ratio_half_the_revisions_open.json").read_text())
    doc["incident"]["condition"]["conditionThreshold"]["trigger"] = trigger

    incident = parse_notification(doc)

    assert incident.trigger.startswith(words) and bool(incident.trigger) is bool(words)
    assert list(incident.group_by) == BY_REVISION


@pytest.mark.parametrize("trigger, field", [({"count": "two"}, "trigger.count"), ({"percent": "half"}, "trigger.percent"),
                                            ({"count": 2.5}, "trigger.count"), ("50%", "trigger")])
def test_a_trigger_of_no_number_is_an_error_naming_it(trigger, field):
    """A relay's malformed trigger is refused by its path, not read as the default {count: 1} (which would
    judge a share on half the revisions as a share of one series)."""
    doc = json.loads((FIXTURES / "run_5xx_ratio_half_the_revisions_open.json").read_text())
    doc["incident"]["condition"]["conditionThreshold"]["trigger"] = trigger

    with pytest.raises(IncidentParseError) as raised:
        parse_notification(doc)

    assert raised.value.field == f"incident.condition.condition_threshold.{field}"


def _by_route(trigger: dict | None) -> AlertContext:
    doc = json.loads((FIXTURES / "run_5xx_ratio_by_route_open.json").read_text())
    body = doc["incident"]["condition"]["conditionThreshold"]
    body.pop("trigger")
    if trigger is not None:
        body["trigger"] = trigger
    return alert_context(parse_notification(doc))


@pytest.mark.parametrize("trigger", [{"count": 1}, None], ids=["trigger.count 1", "no trigger"])
def test_a_share_on_any_one_route_is_not_cleared_by_the_services_share(trigger):
    """The policy pages when any one route's 5xx share passes 5 %: /api/payments/confirm fails half of its
    requests, 1 % of the service's 3,000 a minute. The service's share (30 500s a minute, 1 %) is under the
    bar; before, it cleared the alert as `healthy` while the route the notification names still failed. Now
    it is not judged, the reason naming the grouping and the route; the same policy summed over the service
    is still cleared by the same requests."""
    alert = _by_route(trigger)
    service = alert.model_copy(update={"group_by": BY_SERVICE, "denominator_group_by": BY_SERVICE, "metric_labels": {}})

    bar = health_bar(alert, S)
    # The service's own share over the bar in a burst before the incident, as the notification states it: a
    # control over a service that never failed would be the alert and the evidence disagreeing (alert_unseen.py).
    result = diagnose(_recovered(Evidence(), 30).bundle().model_copy(update={"alert": alert}), S)
    control = diagnose(_recovered(Evidence(), 30).bundle().model_copy(update={"alert": service}), S)

    assert not bar.judged, bar.source
    assert "metric.label.route" in bar.why_not and "route='/api/payments/confirm'" in bar.why_not, bar.why_not
    assert result.signature is not Signature.HEALTHY and "metric.label.route" in result.summary, result.summary
    assert control.signature is Signature.HEALTHY, control.summary


def test_the_sweep_does_not_verify_on_the_services_share_after_a_share_on_any_one_route():
    """The sweep judges an action after this alert at the bar health_bar gives (judging.alert_bar): not at the
    service's share, but only with the incident's CLOSED showing the condition's recovery (unread_condition)."""
    alert = _by_route({"count": 1})

    assert alert_bar(alert, S) is None
    assert "metric.label.route" in unread_condition(alert, S)
