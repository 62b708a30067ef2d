"""A condition counting server failures alone, compared downward (`5xx / all < 0.05`), fires when they are few: it
states no failure, and the change the live 5xx would lead to is held (response_selection.unselected_responses, asked by
present_failure.alert_hold). Pure: the documented bad_revision OPEN (backend-00002-xyz failing 60 % since its deploy)
with its condition's comparison turned downward, read by parse_notification.

Sources: MetricThreshold.comparison and denominator_filter (google/monitoring/v3/alert.proto, common.proto:
COMPARISON_LT "True if the left argument is less than the right argument"); the request metrics' labels
response_code_class and response_code ("Google Cloud metrics", run section); "Notification content", schema 1.2
(`metric.labels` names the violating series', `observed_value` its value)."""
from __future__ import annotations

import copy

import pytest

from shared.alerts.incidents import parse_notification
from shared.alerts.present_failure import alert_hold
from tests.property.fast import scenario_model
from tests.property.harness import ANCHOR

BACKEND = ('metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision" AND '
           'resource.labels.service_name="backend"')
HELD_WORDS = "responses fall below its bar"


def _ratio(selection: str, comparison: str = "COMPARISON_LT", labels: dict | None = None, observed: str = "0.02",
           metric: str = "run.googleapis.com/request_count"):
    """backend's `selection` over all its requests, compared by `comparison` to 0.05, its series labelled `labels`."""
    document = copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR))
    incident = document["incident"]
    threshold = incident["condition"]["conditionThreshold"]
    numerator = BACKEND.replace("run.googleapis.com/request_count", metric)
    threshold.update(filter=f"{numerator} AND {selection}" if selection else numerator, denominatorFilter=BACKEND,
                     denominatorAggregations=threshold["aggregations"], comparison=comparison)
    incident["metric"] = {"type": metric, "displayName": "Request Count", "labels": labels or {}}
    incident["observed_value"] = observed
    return parse_notification(document)


def _query(query: str, kind: str = "conditionPrometheusQueryLanguage"):
    """bad_revision's OPEN as a PromQL or MQL policy's (alert.proto: PrometheusQueryLanguageCondition, MonitoringQuery
    LanguageCondition), whose query states its own comparison."""
    document = copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR))
    condition = document["incident"]["condition"]
    document["incident"]["condition"] = {"name": condition["name"], "displayName": condition["displayName"],
                                         kind: {"query": query, "duration": "0s"}}
    return parse_notification(document)


# PromQL ("Mapping Cloud Monitoring metrics to PromQL": run_googleapis_com:request_count and its labels) and MQL
# ("Alerting policies with MQL": a query ends in `condition`).
SELECTOR = 'run_googleapis_com:request_count{monitored_resource="cloud_run_revision",service_name="backend"%s}'
FIVE_XX = SELECTOR % ',response_code_class="5xx"'
TWO_XX = SELECTOR % ',response_code_class="2xx"'
EVERY = SELECTOR % ""
MQL = ("fetch cloud_run_revision | metric 'run.googleapis.com/request_count' | filter resource.service_name == 'backend'"
       " | filter metric.response_code_class == '%s' | align rate(1m) | every 1m | condition val() %s 0.5 '1/s'")

# Only server failures counted, compared downward: held, naming where the selection is read. Each rolled back on main.
HELD = [
    ("the 5xx class, by its series' labels", _ratio('metric.labels.response_code_class="5xx"',
                                                     labels={"response_code_class": "5xx"}), "5xx"),
    ("the 5xx class, by its filter", _ratio('metric.labels.response_code_class="5xx"'), "5xx"),
    ("one code", _ratio('metric.labels.response_code="503"'), "503"),
    ("two codes, at most", _ratio('metric.labels.response_code=one_of("500", "503")', "COMPARISON_LE"),
     "500, 503"),
    ("Cloud Run's refusals", _ratio('metric.labels.response_code="429"', labels={"response_code": "429"}), "429"),
    ("codes from 500 up", _ratio('metric.labels.response_code>="500"'), "5xx"),
    ("a PromQL 5xx share below", _query(f"sum(rate({FIVE_XX}[5m])) / sum(rate({EVERY}[5m])) < 0.05"), "5xx"),
    ("a PromQL 5xx rate below", _query(f"sum(rate({FIVE_XX}[5m])) < 0.5"), "5xx"),
    ("an MQL 5xx rate below", _query(MQL % ("5xx", "<"), "conditionMonitoringQueryLanguage"), "5xx"),
]

# A share of other responses falling (the success share, its complement), a latency, or a failure share rising: not
# held here.
NOT_HELD = [
    ("the success share falling", _ratio('metric.labels.response_code_class="2xx"', observed="0.40")),
    ("every response but 5xx falling", _ratio('metric.labels.response_code_class!="5xx"', observed="0.40")),
    ("the 5xx share rising", _ratio('metric.labels.response_code_class="5xx"', "COMPARISON_GT", observed="0.60")),
    ("the 2xx series falling", _ratio("", labels={"response_code_class": "2xx"}, observed="0.40")),
    ("a 5xx latency below a bar", _ratio('metric.labels.response_code_class="5xx"',
                                         metric="run.googleapis.com/request_latencies")),
    ("a code compared in a form not read", _ratio('metric.labels.response_code=has_substring("50")')),
    ("a PromQL success share below", _query(
        f"sum(rate({TWO_XX}[5m])) / sum(rate({EVERY}[5m])) < 0.95")),
    ("a PromQL 5xx share above", _query(f"sum(rate({FIVE_XX}[5m])) / sum(rate({EVERY}[5m])) > 0.05")),
    ("a PromQL subtraction, not read", _query(
        f"1 - sum(rate({TWO_XX}[5m])) / sum(rate({EVERY}[5m])) < 0.95")),
    ("an MQL 5xx rate above", _query(MQL % ("5xx", ">"), "conditionMonitoringQueryLanguage")),
]


@pytest.mark.parametrize("name, incident, codes", HELD, ids=[c[0] for c in HELD])
def test_server_failures_falling_below_a_bar_state_no_failure(name, incident, codes):
    why = alert_hold(incident)
    assert f"policy 'backend 5xx ratio' fires when its {codes} {HELD_WORDS}" in why, why
    assert "nothing was written" in why, why
    if "PromQL" not in name and "MQL" not in name:
        assert "(COMPARISON_L" in why and "its value 0.02" in why, why


@pytest.mark.parametrize("name, incident", NOT_HELD, ids=[c[0] for c in NOT_HELD])
def test_other_downward_or_rising_conditions_are_not_held_as_failures_below(name, incident):
    assert HELD_WORDS not in alert_hold(incident)
