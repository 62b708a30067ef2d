"""`healthy` only when the alert's own condition is one the health check can judge, at the alert's
own bar (shared/diagnosis/health_bar.py): clean requests never clear a memory, log-match, 4xx,
traffic-drop or tight latency alert."""
from __future__ import annotations

import math

import pytest

from shared.config import DiagnosisSettings
from shared.diagnosis.diagnose import diagnose
from shared.diagnosis.evidence import CONDITION_UNSTATED, AlertContext
from shared.diagnosis.health_bar import health_bar
from shared.diagnosis.signatures import Signature
from shared.remediation.planning import plan

from tests.unit.builders import Evidence
from tests.unit.test_diagnosis import OLD

S = DiagnosisSettings()
RUN = "cloud_run_revision"
CONNECTOR = "vpc_access_connector"
COUNT, LATENCIES = "run.googleapis.com/request_count", "run.googleapis.com/request_latencies"


def _serving(e: Evidence, p99: float = 0.2, error_per_minute: float = 0) -> Evidence:
    """A long-running revision: 40 requests a minute, `error_per_minute` of them 500 since -15."""
    e.now = 3
    e.revision(OLD, -300).traffic(**{OLD: 100}).requests(OLD, -90, 3, 40).latency(OLD, -90, 3, p99)
    return e.requests(OLD, -15, 3, error_per_minute, code="500") if error_per_minute else e


def _diagnose(e: Evidence, alert: AlertContext | None):
    """The diagnosis, with the request log read as the alert path reads it for an uptime check's alert (its
    probes' answers, 1.2 a minute answered 200, which an uptime check's `healthy` needs read or the check's own
    results: request_callers.uptime_still_failing)."""
    probes = alert is not None and health_bar(alert, S).probe_seconds is not None
    if probes:
        e.uptime(OLD, -10, e.now, 1.2)
    return diagnose(e.bundle().model_copy(update={"alert": alert} | (
        {"request_lines": e.request_log(-10), "callers_asked": True} if probes else {})), S)


NOT_JUDGED = {
    "memory": AlertContext(resource_type=RUN, metric_type="run.googleapis.com/container/memory/utilizations",
                           comparison="COMPARISON_GT", threshold=0.9),
    "log-based metric": AlertContext(resource_type=RUN, metric_type="logging.googleapis.com/user/payment_failures",
                                     comparison="COMPARISON_GT", threshold=5),
    "log match": AlertContext(resource_type=RUN, policy="panics", log_filter='textPayload:"panic:"'),
    "traffic drop": AlertContext(resource_type=RUN, metric_type=COUNT, comparison="COMPARISON_LT", threshold=5),
    "4xx by label": AlertContext(resource_type=RUN, metric_type=COUNT, comparison="COMPARISON_GT", threshold=0.1,
                                 metric_labels={"response_code_class": "4xx"}),
    "401 by filter": AlertContext(resource_type=RUN, metric_type=COUNT, comparison="COMPARISON_GT", threshold=0.1,
                                  condition_filter='metric.type="run.googleapis.com/request_count" AND '
                                                   'metric.label.response_code="401"'),
    "latency without threshold": AlertContext(resource_type=RUN, metric_type=LATENCIES),
    "PromQL, no metric type": AlertContext(resource_type=RUN, condition_filter="sum(rate(x[5m])) > 1"),
    "no 2xx requests (metric absence)": AlertContext(resource_type=RUN, metric_type=COUNT, condition_kind="absent",
                                                      metric_labels={"response_code_class": "2xx"}),
    "5xx ratio forecast to cross": AlertContext(resource_type=RUN, metric_type=COUNT, comparison="COMPARISON_GT",
                                                threshold=0.05, condition_kind="threshold", forecast=True,
                                                metric_labels={"response_code_class": "5xx"}),
    # A forecast on a connector's instances: its users serving cleanly now is how a connector alert is
    # judged (below), and shows nothing of a saturation predicted for later.
    "connector instances forecast to reach their max": AlertContext(
        resource_type="vpc_access_connector", metric_type="vpcaccess.googleapis.com/connector/instances",
        comparison="COMPARISON_GT", threshold=2.5, condition_kind="threshold", forecast=True),
    "SLO burn rate naming the SLI's 5xx": AlertContext(
        resource_type=RUN, metric_type=COUNT, comparison="COMPARISON_GT", threshold=10, condition_kind="threshold",
        metric_labels={"response_code_class": "5xx"},
        condition_filter='select_slo_burn_rate("projects/p/services/backend/serviceLevelObjectives/avail", "3600s")'),
    "availability policy whose notification lost its condition": AlertContext(
        resource_type=RUN, metric_type=COUNT, threshold=0.99, condition_kind=CONDITION_UNSTATED),
    "MQL on request_count": AlertContext(resource_type=RUN, metric_type=COUNT, threshold=0.99, condition_kind="other",
                                         condition_filter="fetch cloud_run_revision | ... | condition val() < 0.99"),
    # The condition's form decides on every resource, not on Cloud Run revisions alone: a connector's, an
    # uptime check's or a Cloud SQL instance's alert is judged on its users only as a stated threshold.
    "connector traffic stopped reporting (metric absence)": AlertContext(
        resource_type=CONNECTOR, metric_type="vpcaccess.googleapis.com/connector/received_bytes_count",
        condition_kind="absent"),
    "connector throughput fell below its floor": AlertContext(
        resource_type=CONNECTOR, metric_type="vpcaccess.googleapis.com/connector/received_bytes_count",
        comparison="COMPARISON_LT", threshold=1000, condition_kind="threshold"),
    "connector CPU as PromQL": AlertContext(
        resource_type=CONNECTOR, condition_kind="other",
        condition_filter="max by (connector_name) (vpcaccess_googleapis_com:connector_cpu_utilizations) > 0.8"),
    "connector alert whose notification lost its condition": AlertContext(
        resource_type=CONNECTOR, metric_type="vpcaccess.googleapis.com/connector/cpu/utilizations", threshold=0.8,
        condition_kind=CONDITION_UNSTATED),
    "connector alert naming another condition's parts": AlertContext(
        resource_type=CONNECTOR, metric_type="vpcaccess.googleapis.com/connector/instances", condition_kind="threshold",
        condition_doubt="the notification names condition 'a' but carries condition 'b'"),
    "connector log match": AlertContext(resource_type=CONNECTOR, condition_kind="log_match",
                                        log_filter='resource.type="vpc_access_connector" severity>=ERROR'),
    "uptime check stopped reporting (metric absence)": AlertContext(
        resource_type="uptime_url", metric_type="monitoring.googleapis.com/uptime_check/check_passed",
        condition_kind="absent"),
    "uptime check naming another condition's parts": AlertContext(
        resource_type="uptime_url", metric_type="monitoring.googleapis.com/uptime_check/check_passed",
        condition_kind="threshold", condition_doubt="the notification names condition 'a' but carries condition 'b'"),
    "database/up as MQL": AlertContext(
        resource_type="cloudsql_database", metric_type="cloudsql.googleapis.com/database/up", condition_kind="other",
        condition_filter="fetch cloudsql_database | metric 'cloudsql.googleapis.com/database/up' | condition val() < 1"),
    "database/up naming another condition's parts": AlertContext(
        resource_type="cloudsql_database", metric_type="cloudsql.googleapis.com/database/up", condition_kind="threshold",
        condition_doubt="the notification's metric ... is not the one its condition filters on"),
}


@pytest.mark.parametrize("name", NOT_JUDGED)
def test_clean_requests_do_not_clear_an_alert_the_health_check_cannot_see(name):
    result = _diagnose(_serving(Evidence()), NOT_JUDGED[name])

    assert result.signature is Signature.INCONCLUSIVE, result.summary
    assert result.summary.startswith("the service's requests look clean since the incident started, but "
                                     "not judged healthy: ")
    assert plan(result, _serving(Evidence()).bundle(), S).action is None
    cited = [i for i in result.evidence if i.about == "healthy"]
    assert cited and cited[0].passed is False and cited[0].role == "context"


@pytest.mark.parametrize("name", NOT_JUDGED)
def test_the_bar_of_an_alert_the_health_check_cannot_see_is_not_judged(name):
    """The bar itself, whatever the evidence: an uptime check or a database/up alert is otherwise judged
    once its own evidence shows it cleared (a failure seen and gone, database/up read at 1)."""
    bar = health_bar(NOT_JUDGED[name], S)
    assert not bar.judged and bar.why_not
    assert not bar.saw_failure_needed and not bar.sql_up_needed


def test_the_same_clean_requests_clear_a_5xx_alert_and_a_bundle_without_an_alert():
    five_xx = AlertContext(resource_type=RUN, metric_type=COUNT, comparison="COMPARISON_GT", threshold=0.05,
                           metric_labels={"response_code_class": "5xx"}, ratio=True)
    assert _diagnose(_serving(Evidence()), five_xx).signature is Signature.HEALTHY
    assert _diagnose(_serving(Evidence()), None).signature is Signature.HEALTHY


def test_a_latency_alert_below_the_hang_bar_is_cleared_only_under_its_own_threshold():
    slo = AlertContext(resource_type=RUN, metric_type=LATENCIES, comparison="COMPARISON_GT", threshold=2000)

    slow = _diagnose(_serving(Evidence(), p99=6.0), slo)
    fast = _diagnose(_serving(Evidence(), p99=0.4), slo)

    assert slow.signature is Signature.INCONCLUSIVE, slow.summary   # 6 s is under the 25 s hang bar
    assert fast.signature is Signature.HEALTHY
    assert any("the alert's own latency threshold 2000 ms" in i.threshold for i in fast.evidence)


def test_a_ratio_alert_tighter_than_the_healthy_ratio_is_judged_at_its_own_threshold():
    tight = AlertContext(resource_type=RUN, metric_type=COUNT, comparison="COMPARISON_GT", threshold=0.005,
                         ratio=True, metric_labels={"response_code_class": "5xx"})
    # 0.4 of 40.4 a minute is 1.0 % 500s: under healthy_error_ratio's 1 %, over the alert's 0.5 %.
    persisting = _diagnose(_serving(Evidence(), error_per_minute=0.4), tight)

    assert persisting.signature is not Signature.HEALTHY, persisting.summary
    assert health_bar(tight, S).error_ratio == 0.005


def test_shared_resource_alerts_keep_the_users_health_check():
    connector = AlertContext(resource_type="vpc_access_connector",
                             metric_type="vpcaccess.googleapis.com/connector/instances", threshold=2.5)
    assert health_bar(connector, S).judged
    assert _diagnose(_serving(Evidence()), connector).signature is Signature.HEALTHY


def test_a_5xx_count_alert_is_cleared_only_when_the_recent_5xx_stay_under_its_threshold():
    count = AlertContext(resource_type=RUN, metric_type=COUNT, comparison="COMPARISON_GT", threshold=5,
                         metric_labels={"response_code_class": "5xx"})
    busy = _serving(Evidence(), error_per_minute=0).requests(OLD, -90, 3, 2000)
    # 8 500s a minute on 2,040 requests: 0.4 %, under healthy_error_ratio, over 5 a minute or a second.
    persisting = _diagnose(busy.requests(OLD, -15, 3, 8, code="500"), count)
    stopped = _diagnose(_serving(Evidence()).requests(OLD, -90, 3, 2000), count)

    assert persisting.signature is not Signature.HEALTHY, persisting.summary
    assert stopped.signature is Signature.HEALTHY, stopped.summary
    assert any("<= 5 of them (the alert's own threshold of 5 5xx)" in i.threshold for i in stopped.evidence)


def test_a_request_volume_alert_is_not_judged():
    volume = AlertContext(resource_type=RUN, metric_type=COUNT, comparison="COMPARISON_GT", threshold=1000)

    bar = health_bar(volume, S)

    assert not bar.judged and "volume" in bar.why_not
    assert _diagnose(_serving(Evidence()), volume).signature is Signature.INCONCLUSIVE


UPTIME = AlertContext(resource_type="uptime_url", policy="docs uptime", comparison="COMPARISON_LT", threshold=1,
                      metric_type="monitoring.googleapis.com/uptime_check/check_passed")
# An uptime check created on the Cloud Run service itself: UptimeCheckConfig.monitored_resource "The
# following monitored resource types are valid for this field: uptime_url, gce_instance, gae_app,
# aws_ec2_instance, aws_elb_load_balancer k8s_service servicedirectory_service cloud_run_revision"
# (Monitoring v3 REST reference, projects.uptimeCheckConfigs). Its check_passed series on the
# cloud_run_revision resource is UNCONFIRMED (no sample): judged as the same check on its URL. Before,
# it read as an alert on a metric the health check does not read, whatever the service's requests showed.
UPTIME_ON_REVISION = UPTIME.model_copy(update={"resource_type": RUN, "comparison": "COMPARISON_GT"})
UPTIMES = {"on its URL (uptime_url)": UPTIME, "on the service (cloud_run_revision)": UPTIME_ON_REVISION}


@pytest.mark.parametrize("uptime", UPTIMES)
def test_an_uptime_check_that_failed_while_the_service_saw_no_failure_is_not_cleared(uptime):
    """The check probes from outside (DNS, certificate, domain mapping): clean requests throughout do
    not show that whatever failed it has stopped failing."""
    result = _diagnose(_serving(Evidence()), UPTIMES[uptime])

    assert result.signature is Signature.INCONCLUSIVE, result.summary
    assert "may lie outside the service" in result.summary and "docs uptime" in result.summary


@pytest.mark.parametrize("uptime", UPTIMES)
@pytest.mark.parametrize("seen", ["503s", "a hang"])
def test_an_uptime_check_whose_failure_the_service_saw_and_that_cleared_is_healthy(seen, uptime):
    e = _serving(Evidence())
    if seen == "503s":
        e.requests(OLD, -4, -1, 12, code="503")
    else:
        e.latency(OLD, -4, -1, 30.0)

    result = _diagnose(e, UPTIMES[uptime])

    assert result.signature is Signature.HEALTHY, result.summary
    # The request log unread: the probes' answers are not known, so it is not healthy.
    unread = diagnose(e.bundle().model_copy(update={"alert": UPTIMES[uptime]}), S)
    assert unread.signature is Signature.INCONCLUSIVE and "request log was not read" in unread.summary


def _background_500s(e: Evidence, every: int = 3) -> Evidence:
    """One 500 every `every` minutes for the last hour and a half, the newest minute among them: a
    service's usual background (a 500 series whose newest point is before the newest data would be
    one that may still be arriving, Facts.complete_until)."""
    for minute in range(e.now - 1, -91, -every):
        e.requests(OLD, minute, minute + 1, 1, code="500")
    return e


# The service's own failures in the lookback before an uptime check's incident: whether they show
# the check's failure (then cleared), so that clean requests now may clear the check.
UPTIME_LOOKBACKS = {
    "12 503s a minute just before the start": (lambda e: e.requests(OLD, -4, -1, 12, code="503"), True),
    "the usual background of one 500 every third minute": (_background_500s, False),
    "the usual background, then 12 503s a minute": (
        lambda e: _background_500s(e).requests(OLD, -4, -1, 12, code="503"), True),
}


@pytest.mark.parametrize("uptime", UPTIMES)
@pytest.mark.parametrize("name", UPTIME_LOOKBACKS)
def test_an_uptime_check_is_cleared_only_after_a_failure_that_was_news(name, uptime):
    add, seen = UPTIME_LOOKBACKS[name]
    e = add(_serving(Evidence()))

    result = _diagnose(e, UPTIMES[uptime])

    assert (result.signature is Signature.HEALTHY) is seen, result.summary
    if not seen:
        assert "may lie outside the service" in result.summary


def _latency_alert(aligner: str, reducer: str = "", threshold: float = 2000) -> AlertContext:
    return AlertContext(resource_type=RUN, metric_type=LATENCIES, comparison="COMPARISON_GT", threshold=threshold,
                        condition_kind="threshold", aligner=aligner, reducer=reducer)


# What the latency condition compares, by its aggregation (google/monitoring/v3/common.proto), and
# whether the p99 read (0.2 s here, under every threshold) can show it under its threshold.
LATENCY_AGGREGATIONS = {
    "p99 per revision": ("ALIGN_PERCENTILE_99", "", True),
    "p95, the worst revision": ("ALIGN_PERCENTILE_95", "REDUCE_MAX", True),
    "p50, averaged over revisions": ("ALIGN_PERCENTILE_50", "REDUCE_MEAN", True),
    "p99 of the merged distribution": ("ALIGN_DELTA", "REDUCE_PERCENTILE_99", True),
    "p99 of the summed distribution": ("ALIGN_SUM", "REDUCE_PERCENTILE_99", True),
    "no aggregation in the notification": ("", "", True),
    "mean per revision": ("ALIGN_MEAN", "", False),
    "mean, then the worst revision": ("ALIGN_MEAN", "REDUCE_MAX", False),
    "mean per revision, then a percentile of the means": ("ALIGN_MEAN", "REDUCE_PERCENTILE_99", False),
    "p99s summed over revisions": ("ALIGN_PERCENTILE_99", "REDUCE_SUM", False),
    "a distribution left as one": ("ALIGN_DELTA", "", False),
    "max": ("ALIGN_MAX", "", False),
}


@pytest.mark.parametrize("name", LATENCY_AGGREGATIONS)
def test_a_latency_alert_is_judged_only_on_a_percentile_the_p99_bounds(name):
    aligner, reducer, judged = LATENCY_AGGREGATIONS[name]
    alert = _latency_alert(aligner, reducer)

    bar = health_bar(alert, S)
    result = _diagnose(_serving(Evidence()), alert)

    assert bar.judged is judged, bar.why_not
    assert (result.signature is Signature.HEALTHY) is judged, result.summary
    if not judged:
        assert aligner in bar.why_not and "not a percentile" in bar.why_not


def _count_alert(threshold: float, aligner: str, labels: dict[str, str] | None = None) -> AlertContext:
    return AlertContext(resource_type=RUN, metric_type=COUNT, comparison="COMPARISON_GT", threshold=threshold,
                        condition_kind="threshold", aligner=aligner,
                        metric_labels={"response_code_class": "5xx"} if labels is None else labels)


# A request_count alert with no denominator and a threshold below 1: a number of 5xx per second or
# per period, not a share. 0.4 500s a minute of 40.4 is 1.0 %, clean by the share (Evidence: 40 a
# minute); whether the alert's own number still holds decides.
SMALL_NUMBERS = {
    "any 5xx in a period (ALIGN_DELTA, 0)": (_count_alert(0, "ALIGN_DELTA"), 0.4, False),
    "0.001 5xx a second (ALIGN_RATE), 0.4 a minute": (_count_alert(0.001, "ALIGN_RATE"), 0.4, False),
    "0.5 5xx a second (ALIGN_RATE), 0.4 a minute": (_count_alert(0.5, "ALIGN_RATE"), 0.4, True),
    "0.5 5xx a second (ALIGN_RATE), none": (_count_alert(0.5, "ALIGN_RATE"), 0, True),
    "requests of any class above 0.5 a second (a volume alert)": (_count_alert(0.5, "ALIGN_RATE", {}), 0, False),
}


@pytest.mark.parametrize("name", SMALL_NUMBERS)
def test_a_small_count_of_5xx_is_judged_as_a_number_not_a_share(name):
    alert, errors, healthy = SMALL_NUMBERS[name]

    result = _diagnose(_serving(Evidence(), error_per_minute=errors), alert)

    assert (result.signature is Signature.HEALTHY) is healthy, result.summary


def _late_500s(visible_until: float) -> Evidence:
    """80 requests a minute, 1 of them 500 every minute (1.2 %, over the 1 % bar) since -15; Monitoring
    shows the 200s up to now (+4) and the 500 series only up to `visible_until`: each series is ingested
    on its own, up to ~180 s after its minute (facts.INGEST_LAG)."""
    e = Evidence(now=4)
    e.revision(OLD, -300).traffic(**{OLD: 100}).requests(OLD, -90, 4, 80).latency(OLD, -90, 4, 0.2)
    return e.requests(OLD, -15, visible_until, 1, code="500")


@pytest.mark.parametrize("visible_until, healthy", [(2, False), (4, False)])
def test_minutes_whose_500s_have_not_arrived_yet_are_not_read_as_clean(visible_until, healthy):
    """The 500 series' newest point (+2) is before the 200s' (+4), inside the ingest lag of the read: the
    minutes after it may hold 500s not visible yet. Read as they stood, the window since the incident
    began held 2 500s in 322 requests (0.6 %) and was `healthy`; read up to +2 (Facts.complete_until) it
    holds 2 in 162 (1.2 %). With every series up to +4, 4 in 324: not healthy either."""
    result = _diagnose(_late_500s(visible_until), None)
    assert (result.signature is Signature.HEALTHY) is healthy, result.summary


def test_a_database_up_absence_is_judged_on_database_up_read_back():
    """database/up is the one series that stopped which the evidence reads back itself: its absence clears
    only when it reads 1 again over the minutes judged (`sql_up_needed`)."""
    absent = AlertContext(resource_type="cloudsql_database", metric_type="cloudsql.googleapis.com/database/up",
                          condition_kind="absent")
    bar = health_bar(absent, S)
    assert bar.judged and bar.sql_up_needed


@pytest.mark.parametrize("forecast, status", [(False, "escalated"), (True, "escalated")], ids=["current", "forecast"])
def test_a_connector_forecast_whose_users_serve_cleanly_reaches_a_person(forecast, status):
    """Through the pipeline: the connector alert whose one user serves cleanly reaches a person when its
    instances are predicted to be at their max, and when they are at it now: `healthy`, nothing done, and
    escalated with the connector's own evidence (before, `skipped`, which reaches nobody)."""
    import json

    from shared.pipeline import handle_alert
    from tests.integration.world import event
    from tests.property.fast import FastWorld, scenario_model, seeded_copy
    from tests.property.harness import ANCHOR

    scenario = "connector_alert_services_fine"
    w = FastWorld(seeded_copy(scenario, None), ANCHOR,
                  services=("projects/retail-platform/locations/us-east1/services/catalog",))
    w.clock.set(ANCHOR + scenario_model(scenario).delivered)   # read 3 minutes after its newest points
    document = scenario_model(scenario).notification(ANCHOR)
    if forecast:
        document["incident"]["condition"]["conditionThreshold"]["forecastOptions"] = {"forecastHorizon": "3600s"}
    outcome = handle_alert(event(json.dumps(document).encode(), "f-1"), w.config, w.adapters)
    assert outcome.status.value == status, outcome.reason
    assert w.standins.vpcaccess.count("PatchConnector") == 0
    if forecast:
        assert "forecast condition" in outcome.reason, outcome.reason
    else:
        assert "measured the connector itself" in outcome.reason and "(of 3)" in outcome.reason, outcome.reason


def _absent(condition: dict) -> None:
    body = condition.pop("conditionThreshold")
    condition["conditionAbsent"] = {"filter": body["filter"], "aggregations": body.get("aggregations", []),
                                    "duration": "600s"}


def _query(condition: dict) -> None:
    condition.pop("conditionThreshold")
    condition["conditionPrometheusQueryLanguage"] = {
        "query": "max by (connector_name) (vpcaccess_googleapis_com:connector_instances) >= 3", "duration": "600s"}


def _below(condition: dict) -> None:
    # The notification's threshold_value (2.5) is the bar: no disagreement of the two to hide behind.
    condition["conditionThreshold"].update(comparison="COMPARISON_LT", thresholdValue=2.5)


def _lost(condition: dict) -> None:
    condition.clear()


def _below_by_number(condition: dict) -> None:
    # ComparisonType.COMPARISON_LT by its number, as proto-plus writes a condition (Message.to_json's
    # use_integers_for_enums defaults to True): a relay that forwards the policy's condition so.
    condition["conditionThreshold"].update(comparison=3, thresholdValue=2.5)


def _no_comparison(condition: dict) -> None:
    condition["conditionThreshold"].pop("comparison")


CONNECTOR_FORMS = {"metric absence": _absent, "PromQL": _query, "traffic below its floor": _below,
                   "no condition": _lost, "traffic below its floor, the comparison by its number": _below_by_number,
                   "a threshold with no comparison": _no_comparison}


@pytest.mark.parametrize("form", CONNECTOR_FORMS)
def test_a_connector_alert_the_health_check_cannot_see_reaches_a_person(form):
    """Through the pipeline: the connector alert whose one user serves cleanly, with a condition whose form
    the users' requests do not answer, is escalated with why, never `healthy` and skipped."""
    import json

    from shared.pipeline import handle_alert
    from tests.integration.world import event
    from tests.property.fast import FastWorld, scenario_model, seeded_copy
    from tests.property.harness import ANCHOR

    scenario = "connector_alert_services_fine"
    w = FastWorld(seeded_copy(scenario, None), ANCHOR,
                  services=("projects/retail-platform/locations/us-east1/services/catalog",))
    w.clock.set(ANCHOR + scenario_model(scenario).delivered)   # read 3 minutes after its newest points
    document = scenario_model(scenario).notification(ANCHOR)
    CONNECTOR_FORMS[form](document["incident"]["condition"])
    if form == "no condition":
        del document["incident"]["condition"]
    outcome = handle_alert(event(json.dumps(document).encode(), "f-1"), w.config, w.adapters)
    assert outcome.status.value == "escalated", outcome.reason
    assert "not judged healthy" in outcome.reason, outcome.reason
    assert w.standins.vpcaccess.count("PatchConnector") == 0


def _class_latency_alert(select: str = "", labels: dict[str, str] | None = None) -> AlertContext:
    """A p99 latency policy at 2 s, its filter selecting `select` (a response-code term) or no code."""
    filter_ = f'metric.type="{LATENCIES}" AND resource.type="cloud_run_revision"' + (f" AND {select}" if select else "")
    return AlertContext(resource_type=RUN, metric_type=LATENCIES, comparison="COMPARISON_GT", threshold=2000,
                        condition_kind="threshold", aligner="ALIGN_PERCENTILE_99", reducer="REDUCE_MAX",
                        condition_filter=filter_, metric_labels=labels or {})


# A latency policy's response-code selection (request_latencies carries response_code and response_code_class:
# UNCONFIRMED, dynatrace-gcp-monitor cloud_run_revision.yml), against requests whose p99 of ALL requests is
# 0.2 s (under the 2 s bar) and which hold `500s` 500s a minute of 40 (0.4 of 40.4 is 1.0 %, clean by the
# share). The p99 of all requests does not bound one class's: 2xx slow at 30 s behind fast 503s, or 504s at
# 60 s rarer than 1 %, both read 0.2 s. (name: (alert, 500s a minute, judged, healthy))
LATENCY_SELECTIONS = {
    "no code selected (all requests)": (_class_latency_alert(), 0, True, True),
    "no code selected, a few 500s under the share": (_class_latency_alert(), 0.4, True, True),
    "2xx by filter": (_class_latency_alert('metric.label.response_code_class="2xx"'), 0, False, False),
    "not 5xx (!=) by filter": (_class_latency_alert('metric.label.response_code_class!="5xx"'), 0, False, False),
    "200 by filter": (_class_latency_alert('metric.label.response_code="200"'), 0, False, False),
    "2xx or 3xx (one_of)": (_class_latency_alert('metric.label.response_code_class=one_of("2xx", "3xx")'), 0, False,
                            False),
    "by a regular expression": (_class_latency_alert('metric.label.response_code=monitoring.regex.full_match("2..")'),
                                0, False, False),
    "2xx by the series' label (grouped by class)": (_class_latency_alert(labels={"response_code_class": "2xx"}), 0,
                                                    False, False),
    "200 by the series' label": (_class_latency_alert(labels={"response_code": "200"}), 0, False, False),
    "5xx by filter, none left": (_class_latency_alert('metric.label.response_code_class="5xx"'), 0, True, True),
    "5xx by filter, a few 500s under the share": (_class_latency_alert('metric.label.response_code_class="5xx"'), 0.4,
                                                  True, False),
    "5xx by the series' label, a few 500s": (_class_latency_alert(labels={"response_code_class": "5xx"}), 0.4, True,
                                             False),
    "500 or 503 (one_of), a few 500s": (_class_latency_alert('metric.label.response_code=one_of("500", "503")'), 0.4,
                                        True, False),
}


@pytest.mark.parametrize("name", LATENCY_SELECTIONS)
def test_a_latency_alert_on_one_response_class_is_not_judged_on_the_p99_of_all(name):
    alert, errors, judged, healthy = LATENCY_SELECTIONS[name]

    bar = health_bar(alert, S)
    result = _diagnose(_serving(Evidence(), error_per_minute=errors), alert)

    assert bar.judged is judged, bar.why_not
    assert (result.signature is Signature.HEALTHY) is healthy, result.summary
    if not judged:
        assert "not of all requests" in bar.why_not and "not judged healthy" in str(result.evidence)


@pytest.mark.parametrize("errors, healthy", [(0.2, False), (0, True)])
def test_a_ratio_alert_on_any_share_of_5xx_is_judged_at_none(errors, healthy):
    """A policy on the share of 5xx over 0 (any 5xx at all pages), with its denominatorAggregations summed: its
    bar is its own threshold, 0, as a tighter threshold than `healthy_error_ratio` is. Read as no threshold of
    its own, it fell to the settings' 1 %, and 0.2 500s a minute of 40.2 (0.5 %) was `healthy` while the
    condition still held."""
    any_5xx = AlertContext(resource_type=RUN, metric_type=COUNT, comparison="COMPARISON_GT", threshold=0.0,
                           ratio=True, metric_labels={"response_code_class": "5xx"}, condition_kind="threshold",
                           denominator_filter=f'metric.type="{COUNT}"', denominator_aggregated=True,
                           aligner="ALIGN_RATE", reducer="REDUCE_SUM", denominator_aligner="ALIGN_RATE",
                           denominator_reducer="REDUCE_SUM")
    result = _diagnose(_serving(Evidence(), error_per_minute=errors), any_5xx)
    assert (result.signature is Signature.HEALTHY) is healthy, result.summary
    assert health_bar(any_5xx, S).error_ratio == 0


# A percentile of an empty distribution has no value: Monitoring may send the minute as NaN (facts.finite,
# UNCONFIRMED whether it leaves it out instead). Either way the minute holds no reading, never a clean one.
NO_READING = {"NaN": math.nan, "infinity": math.inf, "minus infinity": -math.inf}


@pytest.mark.parametrize("value", NO_READING.values(), ids=NO_READING.keys())
def test_a_p99_point_with_no_value_is_no_clean_minute_for_a_latency_alert(value):
    slo = AlertContext(resource_type=RUN, metric_type=LATENCIES, comparison="COMPARISON_GT", threshold=2000)
    unread = _diagnose(_serving(Evidence(), p99=value), slo)
    assert unread.signature is not Signature.HEALTHY, unread.summary


@pytest.mark.parametrize("value", NO_READING.values(), ids=NO_READING.keys())
def test_the_slow_minutes_before_a_p99_with_no_value_stay_slow(value):
    slo = AlertContext(resource_type=RUN, metric_type=LATENCIES, comparison="COMPARISON_GT", threshold=2000)
    e = _serving(Evidence(), p99=6.0).latency(OLD, -2, 3, value)
    assert _diagnose(e, slo).signature is not Signature.HEALTHY
