"""A notification whose own selection of responses (its series' `metric.labels`, its filter's equalities) names no
server failure, while the diagnosis acts on the live 5xx: the write is held and escalated, naming both
(shared/alerts/response_selection.py, asked by present_failure.alert_hold). Pure: bad_revision's documented OPEN
(schema 1.2) with its metric labels and condition varied, read by parse_notification.

Sources: `request_count`'s labels response_code and response_code_class (Cloud Monitoring, "Google Cloud metrics",
run section), "Monitoring filters" (`metric.label.KEY = "v"`, `one_of`), "Notification content" (schema 1.2: the
metric's labels are the violating series'). Before, every HELD row below rolled back on the live 5xx."""
from __future__ import annotations

import copy
from typing import Any

import pytest

from shared.alerts.incidents import parse_notification
from shared.alerts.present_failure import alert_hold
from shared.alerts.response_selection import compared_codes, selected_responses, unselected_responses
from shared.outcomes import OutcomeStatus

from tests.property.fast import scenario_model
from tests.property.harness import ANCHOR
from tests.unit.test_log_entry_count_alerts import _answer
from tests.unit.test_log_entry_count_alerts import _query as _mql_condition

REQUESTS = 'metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision"'
LATENCIES = 'metric.type="run.googleapis.com/request_latencies" AND resource.type="cloud_run_revision"'


def _incident(labels: dict[str, str] | None = None, selection: str = "", *, latency: bool = False,
              comparison: str = "", policy: str = "", denominator: str = "", **fields: Any):
    document = copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR))
    incident = document["incident"]
    if labels is not None:
        incident["metric"]["labels"] = labels
    threshold = incident["condition"]["conditionThreshold"]
    if latency:
        incident["metric"]["type"] = "run.googleapis.com/request_latencies"
        threshold["filter"] = LATENCIES
    if selection:
        threshold["filter"] += " AND " + selection
    if comparison:
        threshold["comparison"] = comparison
    if denominator:
        threshold["denominatorFilter"] = denominator
    if policy:
        incident["policy_name"] = policy
    incident.update(fields)
    return parse_notification(document)


# The alert selects no 5xx: a rollback on the live 5xx is held (each rolled back on main).
HELD = [
    ("series labelled 4xx under a policy named for 5xx", _incident({"response_code_class": "4xx"}), "4xx"),
    ("series labelled 404", _incident({"response_code": "404", "response_code_class": "4xx"}), "404, 4xx"),
    ("filter on the 4xx class", _incident({}, 'metric.labels.response_code_class="4xx"'), "4xx"),
    ("filter on 401 and 403", _incident({}, 'metric.label.response_code = one_of("401", "403")'), "401, 403"),
    ("filter on the 4xx class, quoted key", _incident({}, 'metric.label."response_code_class" = "4xx"'), "4xx"),
    ("latency of 4xx by filter", _incident({}, 'metric.labels.response_code_class="4xx"', latency=True), "4xx"),
    ("latency of 4xx by series labels", _incident({"response_code_class": "4xx"}, latency=True), "4xx"),
    ("series 4xx though the filter takes 4xx and 5xx",
     _incident({"response_code_class": "4xx"}, 'metric.labels.response_code_class = one_of("4xx", "5xx")'), "4xx"),
    # A filter function or another operator over the code, read exactly (each acted on the live 5xx on main).
    ("4xx by a regular expression function",
     _incident({}, 'metric.labels.response_code = monitoring.regex.full_match("4..")'), "4xx"),
    ("4xx by starts_with", _incident({}, 'metric.labels.response_code = starts_with("4")'), "4xx"),
    ("404 and 410 by a regular expression function",
     _incident({}, 'metric.labels.response_code = monitoring.regex.full_match("40[4]|410")'), "404, 410"),
    ("4xx by ends_with and the class", _incident(
        {}, 'metric.labels.response_code_class = "4xx" AND metric.labels.response_code = ends_with("04")'), "404"),
    ("40x by has_substring and starts_with", _incident(
        {}, 'metric.labels.response_code = has_substring("40") AND metric.labels.response_code = starts_with("4")'),
     "400-409, 440"),
    ("4xx class by one_of, upper case", _incident({}, 'metric.label.response_code_class = one_of("4XX")'), "4xx"),
    ("4xx by a regular expression operator", _incident({}, 'metric.labels.response_code =~ "4.."'), "4xx"),
    ("404 or 410, OR in parentheses", _incident(
        {}, '(metric.labels.response_code = "404" OR metric.labels.response_code = "410")'), "404, 410"),
    ("4xx by an ordered comparison", _incident(
        {}, 'metric.labels.response_code >= "400" AND metric.labels.response_code < "500"'), "4xx"),
    ("the complement of 5xx above a bar (the share of every other response)",
     _incident({}, 'metric.labels.response_code_class!="5xx"'), "1xx, 2xx, 3xx, 4xx"),
    ("4xx but 429 by NOT", _incident(
        {}, 'metric.labels.response_code_class = "4xx" AND NOT metric.labels.response_code = "429"'), "400-428, 430-499"),
    ("latency of 4xx by starts_with",
     _incident({}, 'metric.labels.response_code = starts_with("4")', latency=True), "4xx"),
]

# The alert selects a 5xx, every response, or a selection not read: no hold from it (each passed on main too).
NOT_HELD = [
    ("series labelled 5xx (the documented OPEN)", _incident()),
    ("series labelled 503", _incident({"response_code": "503", "response_code_class": "5xx"})),
    ("series labelled 429 (no instance available: read with the 5xx)", _incident({"response_code": "429"})),
    ("no code at all", _incident({})),
    ("filter on 4xx and 5xx, no series label",
     _incident({}, 'metric.label.response_code_class = one_of("4xx", "5xx")')),
    ("a success share falling (2xx below a bar)", _incident({}, 'metric.labels.response_code_class="2xx"',
                                                            comparison="COMPARISON_LT", denominator=REQUESTS)),
    ("the complement of 2xx (every failure's share)", _incident({}, 'metric.labels.response_code_class!="2xx"')),
    ("the complement of 5xx below a bar (the success share falling)",
     _incident({}, 'metric.labels.response_code_class!="5xx"', comparison="COMPARISON_LT", denominator=REQUESTS)),
    ("latency of all requests", _incident({}, latency=True)),
    ("latency of 2xx by filter (the usual latency alert: slow successes)",
     _incident({}, 'metric.labels.response_code_class="2xx"', latency=True)),
    ("latency of 200 by series labels", _incident({"response_code": "200"}, latency=True)),
    ("5xx by a regular expression function", _incident({}, 'metric.labels.response_code = monitoring.regex.full_match("5..")')),
    ("5xx by starts_with", _incident({}, 'metric.labels.response_code = starts_with("5")')),
    ("5xx by ends_with and the class", _incident(
        {}, 'metric.labels.response_code_class = "5xx" AND metric.labels.response_code = ends_with("03")')),
    ("503 by has_substring", _incident({}, 'metric.labels.response_code = has_substring("503")')),
    ("404 or 503 by one_of", _incident({}, 'metric.labels.response_code = one_of("404", "503")')),
    ("404 or 429 by one_of (429 named apart from its class)",
     _incident({}, 'metric.labels.response_code = one_of("404", "429")')),
    ("5xx by a regular expression operator", _incident({}, 'metric.labels.response_code =~ "5.."')),
    ("5xx by an ordered comparison", _incident({}, 'metric.labels.response_code >= "500"')),
    ("404 or 503, OR", _incident({}, 'metric.labels.response_code = "404" OR metric.labels.response_code = "503"')),
    ("5xx class upper case", _incident({}, 'metric.labels.response_code_class = "5XX"')),
    ("a function not read beside an equality naming 5xx", _incident(
        {}, 'metric.labels.response_code = "503" OR metric.labels.response_code = regex("4..")')),
    ("latency of 2xx by starts_with", _incident({}, 'metric.labels.response_code = starts_with("2")', latency=True)),
]


# The filter narrows the codes by a comparison not read, and only that comparison could let a 5xx in: held, in the
# condition's own words (each acted on the live 5xx on main, the comparison taken for every response).
UNREAD = [
    ('metric.labels.response_code = regex("4..")', 'metric.labels.response_code = regex("4..")'),
    ('metric.labels.response_code = monitoring.regex.full_match("[[:digit:]]04")',
     'monitoring.regex.full_match("[[:digit:]]04")'),
    ('metric.labels.response_code >= "4000"', 'response_code >= "4000"'),
]


@pytest.mark.parametrize("selection,words", UNREAD, ids=[s for s, _ in UNREAD])
def test_a_selection_not_read_that_narrows_the_codes_is_held_in_its_own_words(selection, words):
    why = alert_hold(_incident({}, selection))
    assert "which Runwarden does not read" in why and words in why and "nothing was written" in why, why


@pytest.mark.parametrize("incident,codes", [(i, c) for _, i, c in HELD], ids=[n for n, _, _ in HELD])
def test_a_write_is_held_when_the_alert_selects_no_server_failure(incident, codes):
    why = alert_hold(incident)
    assert why == unselected_responses(incident)
    assert f"alerted on {'the latency of ' if 'latencies' in incident.metric_type else ''}{codes} responses" in why
    assert "not on 5xx" in why and "did not select" in why and "nothing was written" in why


@pytest.mark.parametrize("incident", [i for _, i in NOT_HELD], ids=[n for n, _ in NOT_HELD])
def test_no_hold_when_the_alert_selects_a_server_failure_or_all(incident):
    assert unselected_responses(incident) == ""
    assert alert_hold(incident) == ""


def test_the_reason_names_where_the_selection_is_and_the_policy_named_for_5xx():
    why = unselected_responses(_incident({"response_code_class": "4xx"}))
    assert "its series' metric.labels (response_code_class '4xx')" in why
    assert "(though 'backend 5xx ratio' is named for 5xx)" in why
    by_filter = unselected_responses(_incident({}, 'metric.labels.response_code_class="4xx"', policy="backend 4xx",
                                                   condition_name="4xx share"))
    assert "its condition's filter (" in by_filter and "named for 5xx" not in by_filter


def test_series_labels_decide_over_the_filter():
    codes, where = selected_responses(_incident({"response_code_class": "4xx"},
                                                'metric.labels.response_code_class = one_of("4xx", "5xx")'))
    assert codes == frozenset({"4xx"}) and "metric.labels" in where


@pytest.mark.parametrize("text,codes", [
    ('metric.labels.response_code_class = "5xx"', {"5xx"}),
    ('metric.label.response_code = one_of("500", "503")', {"500", "503"}),
    ('metric.labels.response_code_class = "5xx" AND metric.labels.response_code = "503"', {"503"}),
    ('resource.type = "cloud_run_revision"', set()),
    ('metric.labels.response_code_class != "5xx"', {"1xx", "2xx", "3xx", "4xx"}),
    ('NOT metric.labels.response_code_class = "5xx"', {"1xx", "2xx", "3xx", "4xx"}),
    ('metric.labels.response_code_class = "5xx" OR resource.labels.service_name = "a"', None),
    ('metric.labels.response_code = monitoring.regex.full_match("5..")', None),
    ('metric.label.response_code = has_substring("50")', None),
])
def test_compared_codes(text, codes):
    assert compared_codes(text) == (None if codes is None else frozenset(codes))


def _log_match(log_filter: str):
    """bad_revision's OPEN as a log-match policy's ("conditionMatchedLog": {"filter": ...}; alert.proto
    LogMatch), whose filter is `log_filter`."""
    document = copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR))
    condition = document["incident"]["condition"]
    condition.pop("conditionThreshold", None)
    condition["conditionMatchedLog"] = {"filter": log_filter}
    document["incident"]["policy_name"] = "backend request lines"
    return parse_notification(document)


RUN_REQUESTS = 'resource.type="cloud_run_revision" AND log_id("run.googleapis.com/requests")'
LOG_MATCHES = [
    # filter's status terms, held (the statuses shown), or not held ("")
    ("httpRequest.status=404", "404"),
    ("httpRequest.status>=400 AND httpRequest.status<500", "400-499"),
    ("httpRequest.status>=400 AND httpRequest.status<=428", "400-428"),
    ("httpRequest.status>=500", ""),
    ("httpRequest.status=503", ""),
    ("httpRequest.status>=400", ""),
    ("httpRequest.status=429", ""),
    ("httpRequest.status>=420 AND httpRequest.status<=430", ""),
    ("httpRequest.status>=0 AND httpRequest.status<400", "100-399"),
    ("httpRequest.status=404 OR httpRequest.status=503", ""),
    ("NOT httpRequest.status<500", ""),
    ('textPayload:"connection refused"', ""),
    # OR read as the union where every disjunct names statuses (each acted on the live 5xx on main).
    ("httpRequest.status=404 OR httpRequest.status=410", "404, 410"),
    ("(httpRequest.status=401 OR httpRequest.status=403)", "401, 403"),
    ("(httpRequest.status>=400 AND httpRequest.status<429) OR httpRequest.status=431", "400-428, 431"),
    ("httpRequest.status=404 OR httpRequest.status=410 OR httpRequest.status=451", "404, 410, 451"),
    ("-httpRequest.status>=400", "100-399"),
    # A disjunct selecting by something else lets any status through: not held, as before.
    ("httpRequest.status=500 OR httpRequest.status=503", ""),
    ("(httpRequest.status=500 OR httpRequest.status=503)", ""),
    ("httpRequest.status>=500 OR severity>=ERROR", ""),
    ("httpRequest.status=404 OR severity>=ERROR", ""),
    ('httpRequest.status=404 OR textPayload:"timeout"', ""),
    ("httpRequest.status:404", ""),
]


@pytest.mark.parametrize("terms,shown", LOG_MATCHES, ids=[t for t, _ in LOG_MATCHES])
def test_a_log_match_whose_filter_lets_through_no_server_failure_is_held(terms, shown):
    """A log-match alert on request lines of 4xx acted on the live 5xx like a 5xx one; held now, as a metric
    alert selecting 4xx is ("Logging query language": comparisons on LogEntry.httpRequest.status)."""
    incident = _log_match(f"{RUN_REQUESTS} AND {terms}")
    assert incident.condition_kind == "log_match"
    why = alert_hold(incident)
    if not shown:
        assert why == "", why
        return
    assert f"matched log entries of {shown} responses" in why and "nothing was written" in why, why


def _query(kind: str, query: str):
    """bad_revision's OPEN as a PromQL or MQL policy's (`conditionPrometheusQueryLanguage` / `conditionMonitoring
    QueryLanguage`, alert.proto), whose query is `query`."""
    document = copy.deepcopy(scenario_model("bad_revision").notification(ANCHOR))
    condition = document["incident"]["condition"]
    condition.pop("conditionThreshold", None)
    key = "conditionPrometheusQueryLanguage" if kind == "promql" else "conditionMonitoringQueryLanguage"
    condition[key] = {"query": query, "duration": "60s"}
    document["incident"]["metric"]["labels"] = {}
    document["incident"]["policy_name"] = "backend errors"
    return parse_notification(document)


_RUN = "run_googleapis_com:request_count"
_MQL = "fetch cloud_run_revision | metric 'run.googleapis.com/request_count' | filter resource.service_name == 'backend'"
_MQL_RATE = "| align rate(1m) | every 1m | group_by [resource.service_name], [val: sum(value.request_count)]"
_MQL_4XX = ("cloud_run_revision::run.googleapis.com/request_count | filter resource.service_name == 'backend' "
            f"&& metric.response_code_class == '4xx' {_MQL_RATE}")
QUERIES = [
    # kind, query, the codes held for ("" not held). Each held row acted on the live 5xx on main.
    ("promql", f'sum by (service_name)(rate({_RUN}{{service_name="backend",response_code_class="4xx"}}[5m])) > 5',
     "4xx"),
    ("promql", f'sum by (service_name)(rate({_RUN}{{response_code=~"4.*"}}[5m])) > 5', "4xx"),   # anchored
    ("promql", f'sum by (service_name)(rate({_RUN}{{response_code_class="4xx"}}[5m])) / '
               f'sum by (service_name)(rate({_RUN}[5m])) > 0.05', "4xx"),                        # the numerator's
    ("mql", f"{_MQL} | filter metric.response_code_class == '4xx' {_MQL_RATE} | condition val > 5 '1/s'", "4xx"),
    ("mql", f"{_MQL} | filter (metric.response_code_class == '4xx' || metric.response_code_class == '3xx') "
            f"{_MQL_RATE} | condition val() > 5 '1/s'", "3xx, 4xx"),
    ("mql", f"{_MQL} | filter !(metric.response_code_class == '5xx') {_MQL_RATE} | condition val() > 5 '1/s'",
     "1xx, 2xx, 3xx, 4xx"),
    ("mql", "{ fetch cloud_run_revision | metric 'run.googleapis.com/request_count' | filter metric.response_code_class "
            "== '4xx' ; fetch cloud_run_revision | metric 'run.googleapis.com/request_count' } "
            "| group_by [resource.service_name], sum(val()) | ratio | condition val() > 0.05 '1'", "4xx"),
    ("promql", f'sum by (service_name)(rate({_RUN}{{response_code_class="5xx"}}[5m])) > 5', ""),
    ("promql", f'sum by (service_name, response_code_class)(rate({_RUN}[5m])) > 5', ""),
    ("promql", f'sum by (service_name)(rate({_RUN}{{response_code_class!="2xx"}}[5m])) > 5', ""),
    ("promql", f'sum by (service_name)(rate({_RUN}{{response_code_class="4xx"}}[5m])) > 1 or '
               f'sum by (service_name)(rate({_RUN}{{response_code_class="5xx"}}[5m])) > 1', ""),
    ("promql", f'sum by (service_name)(rate({_RUN}{{response_code_class="2xx"}}[5m])) / '
               f'sum by (service_name)(rate({_RUN}[5m])) < 0.99', ""),                           # a share falling
    ("mql", f"{_MQL} | filter metric.response_code_class != '2xx' {_MQL_RATE} | condition val > 5 '1/s'", ""),
    ("mql", "{ fetch cloud_run_revision | metric 'run.googleapis.com/request_count' | filter metric.response_code_class "
            "== '5xx' ; fetch cloud_run_revision | metric 'run.googleapis.com/request_count' } "
            "| group_by [resource.service_name], sum(val()) | ratio | condition val() > 0.05 '1'", ""),
    # Held still: a 4xx share written as a percentage (a product by a number keeps what the numerator counts).
    ("promql", f'(sum by (service_name)(rate({_RUN}{{response_code_class="4xx"}}[5m])) / '
               f'sum by (service_name)(rate({_RUN}[5m]))) * 100 > 5', "4xx"),
    # An error share written as the complement of the 2xx share, or through arithmetic, set operators, vector matching
    # or an MQL `map`/`value` stage, is not read (it counts every response but 2xx, or what the arithmetic makes of
    # it): never held on its selection, the live evidence decides. Each was held on main as a 2xx alert.
    ("promql", f'1 - (sum(rate({_RUN}{{response_code_class="2xx"}}[5m])) / sum(rate({_RUN}[5m]))) > 0.05', ""),
    ("promql", f'1 - sum(rate({_RUN}{{response_code_class="2xx"}}[5m])) / sum(rate({_RUN}[5m])) > 0.05', ""),
    ("promql", f'1-sum(rate({_RUN}{{response_code_class="2xx"}}[5m]))/sum(rate({_RUN}[5m]))>5e-2', ""),
    ("promql", f'(sum(rate({_RUN}[5m])) - sum(rate({_RUN}{{response_code_class="2xx"}}[5m]))) / '
               f'sum(rate({_RUN}[5m])) > 0.05', ""),
    ("promql", f'sum(rate({_RUN}[5m])) unless sum(rate({_RUN}{{response_code_class="2xx"}}[5m])) > 5', ""),
    ("promql", f'sum by (service_name)(rate({_RUN}{{response_code_class="2xx"}}[5m])) > 5 and '
               f'sum by (service_name)(rate({_RUN}{{response_code_class="5xx"}}[5m])) > 1', ""),
    ("promql", f'absent(sum(rate({_RUN}{{response_code_class="2xx"}}[5m]))) > 0', ""),
    ("promql", f'sum by (service_name)(rate({_RUN}{{response_code_class="2xx"}}[5m])) / on (service_name) '
               f'sum by (service_name)(rate({_RUN}[5m])) > 0.05', ""),
    ("promql", f'sum by (service_name)(rate({_RUN}{{response_code_class="2xx"}}[5m])) / ignoring (response_code_class) '
               f'sum by (service_name)(rate({_RUN}[5m])) > 0.05', ""),
    ("mql", "fetch cloud_run_revision | metric 'run.googleapis.com/request_count' | {filter metric.response_code_class "
            "= '2xx' ; ident} | ratio | map [ratio: 1 - val()] | condition ratio > 0.05", ""),
    ("mql", "fetch cloud_run_revision | metric 'run.googleapis.com/request_count' | {filter metric.response_code_class "
            "= '2xx' ; ident} | ratio | value [error: sub(1, val())] | condition error > 0.05", ""),
    ("mql", "{ fetch cloud_run_revision | metric 'run.googleapis.com/request_count' | filter metric.response_code_class "
            "== '2xx' ; fetch cloud_run_revision | metric 'run.googleapis.com/request_count' } "
            "| group_by [resource.service_name], sum(val()) | ratio | condition 1 - val() > 0.05 '1'", ""),
    ("mql", "{ fetch cloud_run_revision | metric 'run.googleapis.com/request_count' | filter metric.response_code_class "
            "== '2xx' ; fetch cloud_run_revision | metric 'run.googleapis.com/request_count' } "
            "| join | value [val(1) - val(0)] | condition val() > 5 '1/s'", ""),
    # A table written `type::metric`, with `fetch` or short ("About the MQL language", "Shortcuts for table
    # operations"), spaces around `::` or not: one MQL recogniser (query_grouping.is_mql). The short rows were read as
    # PromQL on main, their selection unread (two `==` taken for two comparisons), and the 4xx alert acted on.
    ("mql", f"fetch {_MQL_4XX} | condition val() > 5 '1/s'", "4xx"),
    ("mql", f"{_MQL_4XX} | condition val() > 5 '1/s'", "4xx"),
    ("mql", f"{_MQL_4XX.replace('::', ' :: ')} | condition val() > 5 '1/s'", "4xx"),
    ("mql", f"{_MQL_4XX.replace('4xx', '5xx')} | condition val() > 5 '1/s'", ""),
]


@pytest.mark.parametrize("kind,query,codes", QUERIES, ids=[f"{k}: {q[-90:]}" for k, q, _ in QUERIES])
def test_a_query_condition_selecting_no_server_failure_is_held(kind, query, codes):
    """A PromQL or MQL condition's own selection of the code (a selector's matchers, an MQL `filter`, the numerator
    of a ratio) is read as a filter's is: before, a query was never read for it, and a 4xx query rolled back."""
    why = unselected_responses(_query(kind, query))
    if not codes:
        assert why == "", why
        return
    assert f"alerted on {codes} responses, as its condition's query" in why and "nothing was written" in why, why


@pytest.mark.parametrize("query", [f"fetch {_MQL_4XX}", _MQL_4XX, _MQL_4XX.replace("::", " :: ")],
                         ids=["fetched", "short", "short, spaced ::"])
def test_a_failing_deploy_under_a_4xx_mql_alert_is_escalated_however_its_table_is_written(query):
    """README: an alert whose own selection holds no 5xx nor 429 is never acted on. Before, the short forms rolled
    bad_revision back."""
    answer, world = _answer("bad_revision", lambda incident: _mql_incident(incident, f"{query} | condition val() > 5"))

    assert answer.status is OutcomeStatus.ESCALATED, answer.reason
    assert "alerted on 4xx responses" in answer.reason and world.standins.run.count("UpdateService") == 0


def _mql_incident(incident: dict[str, Any], query: str) -> None:
    """The notification's condition an MQL query's, with no series labels to decide over it."""
    _mql_condition("conditionMonitoringQueryLanguage", query)(incident)
    incident["metric"]["labels"] = {}
