"""Notification shapes built from Google's documentation that no bundled scenario sends: whether each states a present
failure of the resource it names (present_failure.alert_hold). Pure: the documented bad_revision OPEN (the 5xx of
backend, schema 1.2) with its condition varied, read by parse_notification.

Sources: "Notifications: schema 1.2 JSON" (Cloud Monitoring, the incident's `resource`, `metadata`, `condition`);
AlertPolicy.Condition, MetricThreshold.denominator_filter and Aggregation.group_by_fields
(google/monitoring/v3/alert.proto, common.proto: "Fields not specified in group_by_fields are aggregated away");
"Querying basics" (Prometheus: label matchers, grouping, the offset modifier and its duration expressions)."""
from __future__ import annotations

import copy

import pytest

from shared.alerts.incidents import parse_notification
from shared.alerts.present_failure import alert_hold
from tests.property.fast import scenario_model
from tests.property.harness import ANCHOR

DOCUMENT = scenario_model("bad_revision").notification(ANCHOR)
REQUESTS = 'metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision"'
BACKEND = f'{REQUESTS} AND resource.labels.service_name="backend"'
FIVE_XX = 'metric.labels.response_code_class="5xx"'
SHARE = ('sum(rate(run_googleapis_com:request_count{service_name="backend",response_code_class="5xx"}[5m]))'
         ' / sum(rate(run_googleapis_com:request_count{service_name="backend"}[5m])) > 0.05')

# Every service's 5xx, in PromQL and MQL (Cloud Monitoring, "Mapping Cloud Monitoring metrics to PromQL"; "Alerting
# policies with MQL").
ALL_5XX = 'run_googleapis_com:request_count{monitored_resource="cloud_run_revision",response_code_class="5xx"}'
MQL_ALL_5XX = ("fetch cloud_run_revision::run.googleapis.com/request_count | filter metric.response_code_class == '5xx'"
               " | align rate(1m) | every 30s")


def _hold(change) -> str:
    document = copy.deepcopy(DOCUMENT)
    change(document["incident"], document["incident"]["condition"])
    return alert_hold(parse_notification(document))


def _promql(query: str):
    def change(incident: dict, condition: dict) -> None:
        incident["condition"] = {"name": condition["name"], "displayName": condition["displayName"],
                                 "conditionPrometheusQueryLanguage": {"query": query, "duration": "0s"}}
    return change


def _mql(query: str):
    def change(incident: dict, condition: dict) -> None:
        incident["condition"] = {"name": condition["name"], "displayName": condition["displayName"],
                                 "conditionMonitoringQueryLanguage": {"query": query, "duration": "0s"}}
    return change


def _threshold(**fields):
    def change(incident: dict, condition: dict) -> None:
        condition["conditionThreshold"].update(fields)
    return change


def _over(denominator: str):
    """backend's 5xx over the requests `denominator` selects."""
    return _threshold(filter=f"{BACKEND} AND {FIVE_XX}", denominatorFilter=denominator)


def _summed(*group_by: str, reducer: str = "REDUCE_SUM"):
    """The condition's 5xx summed across series by `reducer`, keeping `group_by` alone."""
    step = {"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_RATE", "crossSeriesReducer": reducer}
    return {"aggregations": [{**step, "groupByFields": list(group_by)} if group_by else step]}


# A present failure of backend: Runwarden acts (the first five rows were held on main as an offset not read; the rest
# are controls, acted on before and now).
STATED = [
    # `offset` is a label's name inside a selector's braces, and in a grouping: the lexer reads an identifier there,
    # no keyword (Prometheus grammar, `label_matcher: IDENTIFIER match_op STRING`; `grouping_label: maybe_label`,
    # which lists OFFSET).
    ("a PromQL label named offset", _promql(SHARE.replace(
        'service_name="backend"', 'service_name="backend",offset="canary"', 1))),
    ("a PromQL grouping by a label named offset", _promql(SHARE.replace("sum(", "sum by (offset) (", 1))),
    ("a PromQL without (offset)", _promql(SHARE.replace("sum(", "sum without (offset) (", 1))),
    # "When using offset with a duration expression, you must wrap the expression in parentheses. Without
    # parentheses, only the first duration value is used in the offset calculation" (Prometheus, "Querying basics",
    # "Duration expressions"): `x offset 5m * 2` is `(x offset 5m) * 2` in 2.44 and 3.x alike.
    ("a PromQL value offset 5 min, times 2", _promql(SHARE.replace("[5m]))", "[5m] offset 5m * 2))", 1))),
    ("a PromQL value offset 5 min, plus 1", _promql(SHARE.replace("[5m]))", "[5m] offset 5m + 1))", 1))),
    # controls: a ratio whose denominator selects the same service, a sum over backend's revisions alone, a sum
    # grouped by the service's labels.
    ("a ratio of backend's 5xx over backend's requests", _over(BACKEND)),
    ("a sum over backend's revisions, grouped by nothing", _threshold(**_summed())),
    ("a sum grouped by service and location", _threshold(
        filter=REQUESTS, **_summed("resource.label.service_name", "resource.label.location"))),
    ("a sum grouped by revision", _threshold(filter=REQUESTS, **_summed('resource.labels."revision_name"'))),
    ("a sum over backend's revisions, REDUCE_NONE", _threshold(filter=REQUESTS, **_summed(reducer="REDUCE_NONE"))),
    ("a PromQL sum by service", _promql(f"sum by (service_name) (rate({ALL_5XX}[5m])) > 1")),
    ("a PromQL sum, by service after it", _promql(f"sum(rate({ALL_5XX}[5m])) by (location, service_name) > 1")),
    ("a PromQL sum without the revision", _promql(f"sum without (revision_name) (rate({ALL_5XX}[5m])) > 1")),
    ("a PromQL sum without the service (its revisions still named)", _promql(
        f"sum without (service_name) (rate({ALL_5XX}[5m])) > 1")),
    ("a PromQL rate of every service, not aggregated", _promql(f"rate({ALL_5XX}[5m]) > 1")),
    ("a PromQL topk of every service (keeps its series)", _promql(f"topk(1, rate({ALL_5XX}[5m])) > 1")),
    ("an MQL sum grouped by service", _mql(f"{MQL_ALL_5XX} | group_by [resource.service_name], [v: sum(val())]"
                                           " | condition v > 1 '1/s'")),
    ("an MQL sum over backend alone", _mql(f"{MQL_ALL_5XX} | filter resource.service_name == 'backend'"
                                           " | group_by [], [v: sum(val())] | condition v > 1 '1/s'")),
    ("an MQL sliding window (no grouping across series)", _mql(f"{MQL_ALL_5XX} | group_by sliding(5m)"
                                                                " | condition val() > 1 '1/s'")),
]

# No present failure of backend is stated: held, diagnosed, escalated. On main, the ratios whose denominator does not
# select backend and the conditions summing services were acted on (17 rows); the PromQL offsets of a day beside a
# label named offset were held, but as an offset not read (3 rows); the offset written as an expression was held as
# now.
UNSTATED = [
    ("a PromQL offset of a day after a label named offset", _promql(SHARE.replace(
        'service_name="backend"', 'offset="a",service_name="backend"', 1).replace("[5m]))", "[5m] offset 1d))", 1)),
     "a range of 24 h back (offset 1d)"),
    ("a PromQL offset written as an expression", _promql(SHARE.replace("[5m]))", "[5m] offset (1h * 2)))", 1)),
     "does not read (offset (1h * 2)"),
    ("a PromQL offset of a day, times 2", _promql(SHARE.replace("[5m]))", "[5m] offset 1d * 2))", 1)),
     "(offset 1d)"),
    ("a PromQL by (offset) then an offset of a day", _promql(SHARE.replace("sum(", "sum by (offset) (", 1).replace(
        "[5m]))", "[5m] offset 1d))", 1)), "(offset 1d)"),
    # A ratio's denominator selecting by a metadata label, or another service: the share is not backend's.
    ("a ratio's denominator selecting by a user label", _over(f'{BACKEND} AND metadata.user_labels."team"="payments"'),
     "selects by metadata label user_labels.team ('payments')"),
    ("a ratio's denominator selecting by a system label", _over(f'{BACKEND} AND metadata.system_labels.region="eu"'),
     "selects by metadata label system_labels.region"),
    ("a ratio's denominator selecting frontend", _over(f'{REQUESTS} AND resource.labels.service_name="frontend"'),
     "not the 'frontend' the denominatorFilter of its condition '5xx ratio above 5%' filters on"),
    ("a ratio's denominator excluding backend", _over(f'{REQUESTS} AND resource.labels.service_name!="backend"'),
     "filters on"),
    # A cross-series reducer that keeps no label of the service, over a filter that does not pin backend: the value
    # is every selected service's together ("Fields not specified in group_by_fields are aggregated away",
    # Aggregation, google/monitoring/v3/common.proto), whichever service the notification still names.
    ("a sum over every service, grouped by nothing", _threshold(filter=REQUESTS, **_summed()),
     "aggregates cloud_run_revision series across services"),
    ("a sum over every service, grouped by location", _threshold(filter=REQUESTS, **_summed("resource.label.location")),
     "keeping resource.label.location alone"),
    ("a max over every service, grouped by response class", _threshold(
        filter=REQUESTS, **_summed("metric.label.response_code_class", reducer="REDUCE_MAX")),
     "aggregates cloud_run_revision series across services"),
    ("a sum over services starting with back", _threshold(
        filter=f'{REQUESTS} AND resource.labels.service_name=starts_with("back")', **_summed()),
     "aggregates cloud_run_revision series across services"),
    ("a sum over two services by one_of", _threshold(
        filter=f'{REQUESTS} AND resource.labels.service_name=one_of("backend", "frontend")', **_summed()),
     "aggregates cloud_run_revision series across services"),
    ("a sum over every service but frontend", _threshold(
        filter=f'{REQUESTS} AND resource.labels.service_name!="frontend"', **_summed()),
     "aggregates cloud_run_revision series across services"),
    ("a PromQL sum of every service", _promql(f"sum(rate({ALL_5XX}[5m])) > 1"), "(sum(...) with no by"),
    ("a PromQL sum by location", _promql(f"sum by (location) (rate({ALL_5XX}[5m])) > 1"), "(sum by (location)"),
    ("a PromQL max, by location after it", _promql(f"max(rate({ALL_5XX}[5m])) by (location) > 1"),
     "(max by (location)"),
    ("a PromQL sum without the labels naming the service", _promql(
        f"sum without (configuration_name, revision_name, service_name) (rate({ALL_5XX}[5m])) > 1"),
     "(sum without (configuration_name, revision_name, service_name)"),
    ("a PromQL sum over services matching back.*", _promql(
        'sum(rate(run_googleapis_com:request_count{service_name=~"back.*",response_code_class="5xx"}[5m])) > 1'),
     "(sum(...) with no by"),
    ("an MQL sum grouped by nothing", _mql(f"{MQL_ALL_5XX} | group_by [], [v: sum(val())] | condition v > 1 '1/s'"),
     "(group_by []"),
    ("an MQL sum grouped by location", _mql(f"{MQL_ALL_5XX} | group_by [resource.location], [v: sum(val())]"
                                            " | condition v > 1 '1/s'"), "(group_by [resource.location]"),
]


# The service's labels, and a PromQL query writing labels. A reduction keeping the service's name but not its location
# or project is read as the named service's, a known limit (docs/behaviour.md): the diagnosis reads that service's own
# live evidence in its own region and project before any action, and the notification cannot show a same-named
# service elsewhere. PromQL: a one-to-one binary operation `on(...)` keeps the listed labels alone and `ignoring(...)`
# drops them; `group_left(...)`/`group_right(...)` copy the listed labels from the other side; `label_replace`/
# `label_join` write a label (Prometheus, "Operators", "Query functions"). MQL: `group_by [...]` keeps the columns
# listed.
HERE_FILTER = 'resource.labels.location="us-central1" AND resource.labels.project_id="demo-project"'
ALL = 'run_googleapis_com:request_count{monitored_resource="cloud_run_revision"}'
NAMING = "service_name, location, project_id"

# The named service's labels kept (its location or project kept or not): acted on.
PLACES_STATED = [
    ("a sum grouped by service alone", _threshold(filter=REQUESTS, **_summed("resource.label.service_name"))),
    ("a sum grouped by revision alone", _threshold(filter=REQUESTS, **_summed("resource.label.revision_name"))),
    ("a mean grouped by service alone", _threshold(
        filter=REQUESTS, **_summed("resource.label.service_name", reducer="REDUCE_MEAN"))),
    ("a sum grouped by service, its location and project selected", _threshold(
        filter=f"{REQUESTS} AND {HERE_FILTER}", **_summed("resource.label.service_name"))),
    ("a sum grouped by revision, its location and project selected", _threshold(
        filter=f"{REQUESTS} AND {HERE_FILTER}", **_summed('resource.labels."revision_name"'))),
    ("a sum grouped by service, its location selected by a prefix", _threshold(
        filter=f'{REQUESTS} AND resource.labels.location=starts_with("us-") AND '
               'resource.labels.project_id="demo-project"', **_summed("resource.label.service_name"))),
    ("a sum grouped by service, its location selected", _threshold(
        filter=f'{REQUESTS} AND resource.labels.location="us-central1"', **_summed("resource.label.service_name"))),
    ("a sum grouped by project, service and location", _threshold(filter=REQUESTS, **_summed(
        "resource.label.project_id", "resource.label.service_name", "resource.label.location"))),
    ("a PromQL sum by service, its location and project selected", _promql(
        'sum by (service_name) (rate(run_googleapis_com:request_count{location="us-central1",'
        'project_id="demo-project",response_code_class="5xx"}[5m])) > 1')),
    ("a PromQL sum without the location", _promql(f"sum without (location) (rate({ALL_5XX}[5m])) > 1")),
    ("a PromQL sum without the response code", _promql(
        f"sum without (response_code, response_code_class) (rate({ALL_5XX}[5m])) > 1")),
    ("a PromQL subquery of a sum by service", _promql(
        f"max_over_time(sum by (service_name) (rate({ALL_5XX}[1m]))[10m:1m]) > 1")),
    ("a PromQL share matched on project, location and service", _promql(
        f"sum by ({NAMING}) (rate({ALL_5XX}[5m])) / on ({NAMING}) sum by ({NAMING}) (rate({ALL}[5m])) > 0.05")),
    ("a PromQL share matched many-to-one, the service's side kept", _promql(
        f"sum by ({NAMING}, revision_name) (rate({ALL_5XX}[5m])) / on ({NAMING}) group_left "
        f"sum by ({NAMING}) (rate({ALL}[5m])) > 0.05")),
    ("a PromQL share matched ignoring the response class", _promql(
        f"sum by ({NAMING}, response_code_class) (rate({ALL_5XX}[5m])) / ignoring (response_code_class) "
        f"sum by ({NAMING}) (rate({ALL}[5m])) > 0.05")),
    ("a PromQL share matched ignoring the location and project", _promql(
        f"sum by ({NAMING}) (rate({ALL_5XX}[5m])) / ignoring (location, project_id) "
        f"sum by ({NAMING}) (rate({ALL}[5m])) > 0.05")),
    ("a PromQL 'and on' (a set operator keeps its left side's labels)", _promql(
        f"rate({ALL_5XX}[5m]) > 1 and on (service_name) rate({ALL}[5m]) > 10")),
    ("a PromQL label_replace writing a label of its own", _promql(
        f'label_replace(rate({ALL_5XX}[5m]), "team", "payments", "", "") > 1')),
    ("a PromQL label_join writing location", _promql(
        f'label_join(rate({ALL_5XX}[5m]), "location", "-", "project_id") > 1')),
    ("a PromQL group_right copying location from the left", _promql(
        f"max by (revision_name, location) (app_info) * on (revision_name) group_right (location) "
        f"sum by ({NAMING}, revision_name) (rate({ALL_5XX}[5m])) > 1")),
    ("a PromQL subquery of a sum by project, location and service", _promql(
        f"max_over_time(sum by ({NAMING}) (rate({ALL_5XX}[1m]))[10m:1m]) > 1")),
]

# The service's own labels dropped, written or copied by the query: held, escalated, nothing written.
PLACES_UNSTATED = [
    ("a PromQL label_replace writing service_name", _promql(
        f'label_replace(rate({ALL_5XX}[5m]), "service_name", "backend", "", "") > 1'),
     "label_replace writes service_name"),
    ("a PromQL label_join writing revision_name", _promql(
        f'label_join(rate({ALL_5XX}[5m]), "revision_name", "-", "service_name", "location") > 1'),
     "label_join writes revision_name"),
    ("a PromQL share matched on location and project alone (the service dropped)", _promql(
        f"sum by ({NAMING}) (rate({ALL_5XX}[5m])) / on (location, project_id) "
        f"sum by ({NAMING}) (rate({ALL}[5m])) > 0.05"), "on (location, project_id)"),
    ("a PromQL share matched ignoring the service", _promql(
        f"sum by ({NAMING}) (rate({ALL_5XX}[5m])) / ignoring (service_name) "
        f"sum by ({NAMING}) (rate({ALL}[5m])) > 0.05"), "ignoring (service_name)"),
    ("a PromQL group_left copying service_name from another metric", _promql(
        f"sum by ({NAMING}, revision_name) (rate({ALL_5XX}[5m])) * on (revision_name) group_left (service_name) "
        "max by (revision_name, service_name) (app_info) > 1"), "group_left (service_name)"),
]


@pytest.mark.parametrize("why, change", STATED + PLACES_STATED, ids=[row[0] for row in STATED + PLACES_STATED])
def test_a_present_failure_of_the_named_service_is_acted_on(why, change):
    assert _hold(change) == ""


@pytest.mark.parametrize("why, change, said", UNSTATED + PLACES_UNSTATED,
                         ids=[row[0] for row in UNSTATED + PLACES_UNSTATED])
def test_a_shape_stating_no_present_failure_of_the_named_service_is_held(why, change, said):
    reason = _hold(change)

    assert said in reason and "nothing was written" in reason, reason
