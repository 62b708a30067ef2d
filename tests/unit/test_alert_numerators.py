"""What a request_count condition's numerator counts decides which bars its threshold may set.

A `denominatorFilter` makes any numerator a share (google/monitoring/v3/alert.proto, MetricThreshold:
"the threshold is applied to the ratio of the numerator to the denominator"). Before:
- a share of 503s alone (`response_code="503"`, or the 5xx class AND the code 503, or a PromQL or MQL
  share of one code) at 2 % set the 504 bar to 2 %, and 4 % of requests cut at the timeout (under the
  10 % that matters by default) read as a request timeout on another policy's bar;
- a share of non-2xx (`response_code_class != "2xx"`, `one_of("4xx", "5xx")`, a negated 2xx, 3xx) was
  judged `healthy` on clean 5xx and 429, which is not what it counts (404s from a bad deploy go on).
Now the 504 bar comes only from a share that counts every 504 (the 5xx class or 504 itself, in every
response-code comparison of the numerator), and a share or count is judged only when its numerator
counts 5xx or 429 and nothing else."""
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

from tests.unit.builders import Evidence
from tests.unit.test_condition_units import ALL, _recovered, notification, share_of, threshold
from tests.unit.test_honest_verdicts import _timeouts

S = DiagnosisSettings()
RUN = 'metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision"'
M = "run_googleapis_com:request_count"
BY = "sum by (project_id, location, service_name)"
FETCH = "fetch cloud_run_revision::run.googleapis.com/request_count"
GROUP = "group_by [resource.project_id, resource.location, resource.service_name], sum(val())"


def _numerator(terms: str) -> str:
    return f"{RUN} AND {terms}"


def _promql(code: str) -> dict[str, Any]:
    return {"conditionPrometheusQueryLanguage": {"query": f"{BY} (rate({M}{{{code}}}[5m])) / {BY} (rate({M}[5m])) "
                                                          "> 0.02"}}


def _mql(code: str) -> dict[str, Any]:
    return {"conditionMonitoringQueryLanguage": {
        "query": f"{FETCH} | {{filter {code} ; ident}} | {GROUP} | ratio | every 1m | condition val() > 0.02 '1'"}}


def _by_code(condition: dict[str, Any]) -> dict[str, Any]:
    """The share's numerator kept per response code (each code's share of the service's requests: its
    denominator still summed by service)."""
    body = copy.deepcopy(condition)["conditionThreshold"]
    step = body["aggregations"][0]
    body["aggregations"] = [{**step, "groupByFields": [*step["groupByFields"], "metric.label.response_code"]}]
    return {"conditionThreshold": body}


# name: (condition, the labels of its notification's metric, does its 2 % threshold bar the share of 504s)
SHARES_504 = {
    "5xx over all": (share_of(_numerator('metric.labels.response_code_class="5xx"')),
                     {"response_code_class": "5xx"}, True),
    "504s over all": (share_of(_numerator('metric.labels.response_code="504"')), {"response_code": "504"}, True),
    "5xx over all, grouped by code (the 503 series fired)": (
        _by_code(share_of(_numerator('metric.labels.response_code_class="5xx"'))),
        {"response_code_class": "5xx", "response_code": "503"}, True),
    "5xx over all, the label key quoted (as gcloud and Terraform policies print it)": (
        share_of(_numerator('metric.label."response_code_class"="5xx"')), {"response_code_class": "5xx"}, True),
    "503s over all, the label key quoted": (share_of(_numerator('metric.label."response_code"="503"')),
                                            {"response_code": "503"}, False),
    "503s over all": (share_of(_numerator('metric.labels.response_code="503"')), {"response_code": "503"}, False),
    "503s over all, the code unquoted": (share_of(_numerator("metric.labels.response_code = 503")), {}, False),
    "the 5xx class AND the code 503": (
        share_of(_numerator('metric.labels.response_code_class="5xx" AND metric.labels.response_code="503"')),
        {"response_code_class": "5xx", "response_code": "503"}, False),
    "500 or 503 (one_of)": (share_of(_numerator('metric.labels.response_code=one_of("500", "503")')), {}, False),
    "5xx but not 504": (share_of(_numerator('metric.labels.response_code_class="5xx" AND '
                                            'NOT metric.labels.response_code="504"')), {}, False),
    "5xx per instance (instance_count under it)": (
        {"conditionThreshold": {**share_of(_numerator('metric.labels.response_code_class="5xx"'))["conditionThreshold"],
                                "denominatorFilter": 'metric.type="run.googleapis.com/container/instance_count" AND '
                                                     'resource.type="cloud_run_revision"'}},
        {"response_code_class": "5xx"}, False),
    "PromQL 5xx share": (_promql('response_code_class="5xx"'), {}, True),
    "PromQL 504 share": (_promql('response_code="504"'), {}, True),
    "PromQL 5.. share": (_promql('response_code=~"5.."'), {}, True),
    "PromQL 503 share": (_promql('response_code="503"'), {}, False),
    "MQL 5xx share": (_mql("metric.response_code_class == '5xx'"), {}, True),
    "MQL 503 share": (_mql("metric.response_code == '503'"), {}, False),
}


@pytest.mark.parametrize("name", SHARES_504)
def test_the_504_bar_is_a_shares_threshold_only_when_it_counts_every_504(name):
    """4 % of requests 504 at the 30 s timeout: a request timeout on a 2 % bar, not on the settings' 10 %."""
    condition, labels, bar = SHARES_504[name]
    document = notification(condition)
    document["incident"]["metric"]["labels"] = labels
    alert = alert_context(parse_notification(document))
    bundle = _timeouts(Evidence(), 500, 0.04, onset=-20, timeout=30).bundle()

    result = diagnose(bundle.model_copy(update={"alert": alert}), S)

    assert alert.ratio, alert
    assert (result.signature is Signature.REQUEST_TIMEOUT) is bar, result.summary


def _share(terms: str, bar: float = 0.005) -> dict[str, Any]:
    condition = threshold("ALIGN_RATE", ALL, bar=bar)
    condition["conditionThreshold"]["filter"] = _numerator(terms)
    return condition


def _count(terms: str, bar: float = 5) -> dict[str, Any]:
    condition = threshold("ALIGN_DELTA", bar=bar)
    condition["conditionThreshold"]["filter"] = _numerator(terms)
    return condition


# name: (condition, its threshold as the notification shows it, is it judged on the 5xx and 429 the check reads)
NUMERATORS = {
    "share of 5xx": (_share('metric.labels.response_code_class="5xx"'), "0.005", True),
    "share of 5xx, the label key quoted": (_share('metric.label."response_code_class"="5xx"'), "0.005", True),
    "share of 500 and 503 (one_of)": (_share('metric.labels.response_code=one_of("500","503")'), "0.005", True),
    "share of 429": (_share('metric.labels.response_code="429"'), "0.005", True),
    "share of 5xx or 429": (_share('(metric.labels.response_code_class="5xx" OR metric.labels.response_code="429")'),
                            "0.005", True),
    "share of non-2xx (!=)": (_share('metric.labels.response_code_class!="2xx"'), "0.005", False),
    "share of non-2xx (NOT)": (_share('NOT metric.labels.response_code_class="2xx"'), "0.005", False),
    "share of 4xx and 5xx (one_of)": (_share('metric.labels.response_code_class=one_of("4xx","5xx")'), "0.005",
                                      False),
    "share of 3xx": (_share('metric.labels.response_code_class="3xx"'), "0.005", False),
    "share of 5xx by a regular expression": (
        _share('metric.labels.response_code=monitoring.regex.full_match("5..")'), "0.005", False),
    "share of 5xx or 404": (_share('(metric.labels.response_code_class="5xx" OR metric.labels.response_code="404")'),
                            "0.005", False),
    "count of 5xx": (_count('metric.labels.response_code_class="5xx"'), "5", True),
    "count of 5xx or 3xx": (_count('(metric.labels.response_code_class="5xx" OR '
                                   'metric.labels.response_code_class="3xx")'), "5", False),
    "count of anything but 2xx": (_count('metric.labels.response_code_class!="2xx"'), "5", False),
}


@pytest.mark.parametrize("name", NUMERATORS)
def test_a_request_count_condition_is_judged_only_when_its_numerator_counts_5xx_or_429_alone(name):
    """3,000 clean requests a minute since a burst of 500s the notification measured: `healthy` only for a
    condition about what the check reads."""
    condition, shown, judged = NUMERATORS[name]
    document = notification(condition, threshold=shown)
    document["incident"]["metric"]["labels"] = {}
    alert = alert_context(parse_notification(document))

    bar = health_bar(alert, S)
    result = diagnose(_recovered(Evidence()).bundle().model_copy(update={"alert": alert}), S)

    assert bar.judged is judged, bar.why_not
    assert (result.signature is Signature.HEALTHY) is judged, result.summary
    if not judged:
        assert "5xx and 429" in bar.why_not or "volume" in bar.why_not


# name: (a numerator that counts 4xx, the words why it is not judged)
CLIENT_NUMERATORS = {
    "4xx alone": (_share('metric.labels.response_code_class="4xx"'), "counts client errors (4xx)"),
    "404 alone": (_share('metric.labels.response_code="404"'), "counts client errors (4xx)"),
    "non-2xx (!=): 4xx among 1xx, 3xx and 5xx": (_share('metric.labels.response_code_class!="2xx"'),
                                                 "counts responses other than the 5xx and 429"),
    "4xx and 5xx (one_of)": (_share('metric.labels.response_code_class=one_of("4xx","5xx")'),
                             "counts responses other than the 5xx and 429"),
    "5xx or 404": (_share('(metric.labels.response_code_class="5xx" OR metric.labels.response_code="404")'),
                   "counts responses other than the 5xx and 429"),
}
COUNTED = {"count of anything but 2xx": (_count('metric.labels.response_code_class!="2xx"'),
                                         "counts responses other than the 5xx and 429")}


@pytest.mark.parametrize("name", [*CLIENT_NUMERATORS, *COUNTED])
def test_a_numerator_counting_4xx_beside_other_codes_is_not_called_client_errors_alone(name):
    """`response_code_class != "2xx"` counts 4xx, and 5xx and 3xx beside them: "the alert counts client errors"
    would tell a person it counts nothing else. Only a numerator of client errors alone is called one."""
    condition, words = {**CLIENT_NUMERATORS, **COUNTED}[name]
    document = notification(condition, threshold="5" if name in COUNTED else "0.005")
    document["incident"]["metric"]["labels"] = {}

    bar = health_bar(alert_context(parse_notification(document)), S)

    assert not bar.judged
    assert words in bar.why_not, bar.why_not


def _over(denominator: str) -> dict[str, Any]:
    condition = _share('metric.labels.response_code_class="5xx"')
    condition["conditionThreshold"]["denominatorFilter"] = denominator
    return condition


# name: (a 5xx share's denominatorFilter, is it judged on the share of all requests the check reads)
DENOMINATORS = {
    "all requests": (ALL, True),
    "all requests of the project (grouped by service after)": (
        'metric.type="run.googleapis.com/request_count"', True),
    "2xx (5xx over successes)": (f'{RUN} AND metric.labels.response_code_class="2xx"', False),
    "all but 4xx": (f'{RUN} AND metric.labels.response_code_class!="4xx"', False),
    "another metric": ('metric.type="run.googleapis.com/container/instance_count" AND '
                       'resource.type="cloud_run_revision"', False),
}


@pytest.mark.parametrize("name", DENOMINATORS)
def test_a_share_is_judged_only_over_all_of_its_requests(name):
    """5xx over 2xx at 0.5 %: 0.5 % 5xx beside 30 % 4xx is 0.7 % of the 2xx, the condition still met
    while the share of all requests the check reads is at its bar. Before, judged at 0.5 % of all."""
    denominator, judged = DENOMINATORS[name]
    document = notification(_over(denominator), threshold="0.005")
    alert = alert_context(parse_notification(document))

    bar = health_bar(alert, S)
    result = diagnose(_recovered(Evidence()).bundle().model_copy(update={"alert": alert}), S)

    assert bar.judged is judged, bar.why_not
    assert (result.signature is Signature.HEALTHY) is judged, result.summary
