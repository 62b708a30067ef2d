"""A query condition (PromQL, MQL) on a Cloud Run service whose value is made of another resource's series too: the
service's 5xx rate plus a Cloud SQL instance's backends, divided by them `on() group_left`, `or` a Cloud SQL series,
times a connector's bytes, plus an application's own counter, an MQL `join` or `outer_join` of a cloud_run_revision
table with a cloudsql_database one (query_names.other_series, Incident._combined_doubt). Its value and bar are that
combination's, not the service's, however the service is selected: diagnosed and escalated with the change it would
have made, never acted on (Prometheus, "Operators": arithmetic between two vectors applies to each matching pair;
Monitoring Query Language reference, `join`, `outer_join`). The right-hand side of a top-level `and` or `unless` only
keeps or drops the left side's series, values unchanged ("Logical/set binary operators"): a gate on another resource
leaves the service's value its own, and acts as before.

A share whose query carries a `#` comment (after its bar, in its denominator's arm) is the same share: the comment is
no part of it (query_grouping.uncommented_query), so its bar is read (ratio_query).

Before, each combined query was read as selecting the service alone and a failing deploy was rolled back on it. The
notifications are bad_revision's own (schema 1.2), their condition changed to the query."""
from __future__ import annotations

import contextlib
import io
import json

import pytest

from shared.alerts.query_names import other_series, selects_alone
from shared.alerts.ratio_query import ratio_query, ratio_query_covers_504
from shared.config import parse_config
from shared.gcp.identity import with_own_principal
from shared.outcomes import OutcomeStatus
from shared.pipeline import handle_alert
from tests.integration.world import event
from tests.property.fast import FastWorld, seeded_copy
from tests.property.harness import ANCHOR
from tests.unit.test_activity_floors import _notification
from tests.unit.test_log_entry_count_alerts import _answer, _query

PROMQL, MQL = "conditionPrometheusQueryLanguage", "conditionMonitoringQueryLanguage"
RUN = "run_googleapis_com:request_count"
FAILED = f'{RUN}{{service_name="backend",response_code_class="5xx"}}'
ALL = f'{RUN}{{service_name="backend"}}'
BY_SERVICE = f"sum by (service_name)(rate({FAILED}[5m]))"
BACKENDS = 'cloudsql_googleapis_com:database_postgresql_num_backends{database_id="demo-project:main-db"}'
BARE_BACKENDS = "cloudsql_googleapis_com:database_postgresql_num_backends"
SQL_UP = "cloudsql_googleapis_com:database_up"
MQL_FAILED = ("fetch cloud_run_revision::run.googleapis.com/request_count | filter resource.service_name == 'backend' "
              "&& metric.response_code_class == '5xx' | align rate(1m) | every 1m")
MQL_BACKENDS = ("fetch cloudsql_database::cloudsql.googleapis.com/database/postgresql/num_backends "
                "| align mean_aligner(1m) | every 1m")
# The short form of a table reference, `fetch` left out ("About the MQL language", "Shortcuts for table operations").
MQL_FAILED_SHORT, MQL_BACKENDS_SHORT = MQL_FAILED.replace("fetch ", ""), MQL_BACKENDS.replace("fetch ", "")
# ... written with spaces around its `::` (whether MQL's grammar allows them is UNCONFIRMED: read as a table either way).
MQL_FAILED_SPACED, MQL_BACKENDS_SPACED = (q.replace("::", " :: ") for q in (MQL_FAILED_SHORT, MQL_BACKENDS_SHORT))
MQL_OWN_LABEL = ("fetch cloud_run_revision::run.googleapis.com/request_count | filter resource.service_name == 'backend' "
                 "&& metric.response_code_class == '5xx' && LABEL | align rate(1m) | every 1m | group_by [], sum(val()) "
                 "| condition val() > 5")
MQL_BACKENDS_BROKEN = MQL_BACKENDS_SHORT.replace("::", " ::\n    ")
MQL_SHARE = ("{ fetch cloud_run_revision::run.googleapis.com/request_count | filter resource.service_name == 'backend' "
             "| filter metric.response_code_class == '5xx' | align rate(1m) ; fetch cloud_run_revision::"
             "run.googleapis.com/request_count | filter resource.service_name == 'backend'DENOMINATOR | align rate(1m) } "
             "| ratio | condition val() > 0.05 '1'")

# name: (query kind, query, the other series its value reads). Each was rolled back on bad_revision before.
COMBINED = {
    "5xx rate plus Cloud SQL backends": (
        PROMQL, f"sum(rate({FAILED}[5m])) + sum(rate({BACKENDS}[5m])) > 5", BARE_BACKENDS),
    "5xx rate over Cloud SQL backends, on() group_left": (
        PROMQL, f"{BY_SERVICE} / on() group_left sum({BACKENDS}) > 0.1", BARE_BACKENDS),
    "5xx rate plus Cloud SQL backends, by service": (
        PROMQL, f"{BY_SERVICE} + on() group_left sum(rate({BACKENDS}[5m])) > 5", BARE_BACKENDS),
    "5xx rate over a bare Cloud SQL metric": (
        PROMQL, f"{BY_SERVICE} / on() group_left sum({BARE_BACKENDS}) > 0.5", BARE_BACKENDS),
    "5xx rate or Cloud SQL down": (PROMQL, f"{BY_SERVICE} > 5 or sum({SQL_UP}) < 1", SQL_UP),
    "5xx rate plus Cloud SQL's ERROR log entries": (
        PROMQL, f'{BY_SERVICE} + on() group_left sum(rate(logging_googleapis_com:log_entry_count{{monitored_resource='
                f'"cloudsql_database",severity="ERROR"}}[5m])) > 5', "logging_googleapis_com:log_entry_count"),
    "5xx rate plus every resource's log entries (no monitored_resource)": (
        PROMQL, f"{BY_SERVICE} + on() group_left sum(rate(logging_googleapis_com:log_entry_count[5m])) > 5",
        "logging_googleapis_com:log_entry_count"),
    "5xx rate times the connector's bytes": (
        PROMQL, f"{BY_SERVICE} * on() group_left sum(rate(vpcaccess_googleapis_com:connector_sent_bytes_count[5m])) "
                "> 1e6", "vpcaccess_googleapis_com:connector_sent_bytes_count"),
    "5xx rate plus the application's own error counter": (
        PROMQL, f'{BY_SERVICE} + on() group_left sum(rate(http_server_errors_total{{job="backend"}}[5m])) > 5',
        "http_server_errors_total"),
    "5xx rate gated on Cloud SQL up, or Cloud SQL down (and ... or)": (
        PROMQL, f"{BY_SERVICE} > 5 and on() sum({SQL_UP}) == 1 or on() sum({SQL_UP}) < 1", SQL_UP),
    "5xx rate unless Cloud SQL down, or Cloud SQL down (unless ... or)": (
        PROMQL, f"{BY_SERVICE} > 5 unless on() sum({SQL_UP}) < 1 or on() sum({SQL_UP}) < 1", SQL_UP),
    "5xx rate gated on Cloud SQL up, or Cloud SQL down (AND ... OR)": (
        PROMQL, f"{BY_SERVICE} > 5 AND on() sum({SQL_UP}) == 1 OR on() sum({SQL_UP}) < 1", SQL_UP),
    "5xx rate plus the application's own error counter, written bare": (
        PROMQL, f"{BY_SERVICE} + on() group_left sum(rate(http_server_errors_total[5m])) > 5", "http_server_errors_total"),
    "5xx rate over the application's own requests, written bare": (
        PROMQL, f"{BY_SERVICE} / on() group_left sum(rate(http_requests_total[5m])) > 0.05", "http_requests_total"),
    "5xx rate times the count of targets down": (PROMQL, f"{BY_SERVICE} * on() group_left count(up == 0) > 5", "up"),
    "5xx rate plus an info metric (adds 1)": (
        PROMQL, f"{BY_SERVICE} + on() group_left sum(cloudsql_googleapis_com:instance_info) > 5",
        "cloudsql_googleapis_com:instance_info"),
    "Cloud SQL backends gated on the service's 5xx": (
        PROMQL, f"sum({BARE_BACKENDS}) > 90 and on() {BY_SERVICE} > 1", BARE_BACKENDS),
    "MQL join of the 5xx and Cloud SQL's backends, added": (
        MQL, f"{{ {MQL_FAILED} | group_by [], sum(val()) ; {MQL_BACKENDS} | group_by [], mean(val()) }} | join | add "
             "| condition val() > 5", "cloudsql_database"),
    "MQL join of the 5xx and Cloud SQL's backends written short, added": (
        MQL, f"{{ {MQL_FAILED} | group_by [], sum(val()) ; {MQL_BACKENDS_SHORT} | group_by [], mean(val()) }} | join "
             "| add | condition val() > 5", "cloudsql_database"),
    "MQL join of both arms written short, added": (
        MQL, f"{{ {MQL_FAILED_SHORT} ; {MQL_BACKENDS_SHORT} }} | join | add | condition val() > 5", "cloudsql_database"),
    "5xx rate plus a Cloud Run job's completed executions": (
        PROMQL, f"{BY_SERVICE} + on() group_left sum(rate(run_googleapis_com:job_completed_execution_count[5m])) > 5",
        "run_googleapis_com:job_completed_execution_count"),
    "MQL join, the Cloud SQL arm written short with spaces around ::": (
        MQL, f"{{ {MQL_FAILED} | group_by [], sum(val()) ; {MQL_BACKENDS_SPACED} | group_by [], mean(val()) }} | join "
             "| add | condition val() > 5", "cloudsql_database"),
    "MQL join of both arms written short, spaces around :: and a line break after it": (
        MQL, f"{{ {MQL_FAILED_SPACED} ; {MQL_BACKENDS_BROKEN} }} | join | add "
             "| condition val() > 5", "cloudsql_database"),
    "MQL join, the 5xx arm written short with spaces around :: after Cloud SQL's": (
        MQL, f"{{ {MQL_BACKENDS_SHORT} ; {MQL_FAILED_SPACED} }} | join | add | condition val() > 5",
        "cloudsql_database"),
    # `count` and `sum` of an info metric are no info series, however many brackets around them (`_KEEPS_ONE`); the
    # label list after `group_left` is written, so that the brackets after it open the expression, not the list.
    "5xx rate times a count of info series, bracketed": (
        PROMQL, f"{BY_SERVICE} * on(service_name) group_left(team) (count by (service_name)(service_owner_info)) > 5",
        "service_owner_info"),
    "5xx rate times a sum of info series, bracketed": (
        PROMQL, f"{BY_SERVICE} * on(service_name) group_left(team) (sum by (service_name, team)("
        "service_owner_info)) > 5", "service_owner_info"),
    "5xx rate times a sum of info series in two pairs of brackets": (
        PROMQL, f"{BY_SERVICE} * on(service_name) group_left(team) ((sum by (service_name, team)("
        "service_owner_info))) > 5", "service_owner_info"),
    "5xx rate times the max of a sum of info series": (
        PROMQL, f"{BY_SERVICE} * on(service_name) group_left(team) (max by (service_name, team)(sum by (service_name, team)("
        "service_owner_info))) > 5", "service_owner_info"),
    "a count of info series times the 5xx rate": (
        PROMQL, f"count(service_owner_info) * on() group_right {BY_SERVICE} > 5", "service_owner_info"),
    "a bracketed count of info series times the 5xx rate": (
        PROMQL, f"(count by (service_name)(service_owner_info)) * on(service_name) group_right {BY_SERVICE} > 5",
        "service_owner_info"),
    "MQL outer_join of the 5xx and Cloud SQL's backends, added": (
        MQL, f"{{ {MQL_FAILED} ; {MQL_BACKENDS} }} | outer_join 0, 0 | add | condition val() > 5", "cloudsql_database"),
}

# name: (query kind, query). The service's own value: rolled back, as before.
OWN = {
    "5xx share of the service's requests": (PROMQL, f"{BY_SERVICE} / sum by (service_name)(rate({ALL}[5m])) > 0.05"),
    "5xx rate gated on Cloud SQL up (and on())": (PROMQL, f"{BY_SERVICE} > 5 and on() sum({SQL_UP}) == 1"),
    "5xx rate unless the connector is at 3 (unless on())": (
        PROMQL, f"{BY_SERVICE} > 5 unless on() sum(vpcaccess_googleapis_com:connector_instances) > 2"),
    "5xx share joined to an info metric for its owner's team": (
        PROMQL, f"{BY_SERVICE} / sum by (service_name)(rate({ALL}[5m])) * on(service_name) group_left(team) "
                'max by (service_name, team)(service_owner_info{team!=""}) > 0.05'),
    "5xx rate, a Cloud SQL metric named in a comment": (PROMQL, f"{BY_SERVICE} > 5 # not {BARE_BACKENDS}"),
    "5xx share with a comment in its denominator": (
        PROMQL, f"{BY_SERVICE}\n/ # all of backend's requests\nsum by (service_name)(rate({ALL}[5m])) > 0.05"),
    "MQL share with a comment in its denominator's arm": (MQL, MQL_SHARE.replace("DENOMINATOR", " # every code\n")),
    "MQL share with a comment after its bar": (MQL, MQL_SHARE.replace("DENOMINATOR", "") + "  # 5 % of requests"),
    "5xx share by revision": (PROMQL, f"sum by (revision_name)(rate({FAILED}[5m])) / sum by (revision_name)(rate("
                                      f"{ALL}[5m])) > 0.05"),
    "5xx share over clamp_min": (PROMQL, f"sum(rate({FAILED}[5m])) / clamp_min(sum(rate({ALL}[5m])), 1) > 0.05"),
    "5xx share, or vector(0) in brackets": (
        PROMQL, f"(sum(rate({FAILED}[5m])) or vector(0)) / sum(rate({ALL}[5m])) > 0.05"),
    "5xx rate or vector(0)": (PROMQL, f"sum(rate({FAILED}[5m])) or vector(0) > 1"),
    "5xx share on(revision_name)": (
        PROMQL, f"sum by (revision_name)(rate({FAILED}[5m])) / on(revision_name) sum by (revision_name)(rate({ALL}[5m]))"
                " > 0.05"),
    "5xx rate under label_replace": (
        PROMQL, f'label_replace({BY_SERVICE}, "svc", "$1", "service_name", "(.*)") > 1'),
    "5xx rate's subquery": (PROMQL, f"max_over_time(sum(rate({FAILED}[5m]))[30m:1m]) > 1"),
    "5xx rate @ end()": (PROMQL, f"sum(rate({FAILED}[5m] @ end())) > 1"),
    "5xx rate > bool": (PROMQL, f"sum(rate({FAILED}[5m])) > bool 1"),
    "5xx rate gated on Cloud SQL up (AND on())": (PROMQL, f"{BY_SERVICE} > 5 AND on() sum({SQL_UP}) == 1"),
    "p99 latency by histogram_quantile": (
        PROMQL, 'histogram_quantile(0.99, sum by (le)(rate(run_googleapis_com:request_latencies_bucket{service_name='
                '"backend"}[5m]))) > 1000'),
    "MQL ratio of a filter and ident, grouped, every 1m": (
        MQL, "fetch cloud_run_revision::run.googleapis.com/request_count | filter resource.service_name == 'backend' | "
             "{filter metric.response_code_class == '5xx' ; ident} | group_by [], sum(val()) | ratio | every 1m | "
             "condition val() > 0.05 '1'"),
    "5xx rate gated on all services' traffic (and on())": (
        PROMQL, f"sum(rate({FAILED}[5m])) > 5 and on() sum(rate({RUN}[5m])) > 100"),
    "5xx rate unless all services' traffic is low (unless on())": (
        PROMQL, f"sum(rate({FAILED}[5m])) > 5 unless on() sum(rate({RUN}[5m])) < 100"),
    "5xx rate gated on Cloud SQL up, all in brackets": (PROMQL, f"({BY_SERVICE} > 5 and on() sum({SQL_UP}) == 1)"),
    "5xx rate times an info metric in brackets": (
        PROMQL, f"{BY_SERVICE} * on(service_name) group_left(team) (service_owner_info) > 5"),
    "5xx rate times an info metric deduplicated by topk": (
        PROMQL, f"{BY_SERVICE} * on(service_name) group_left(team) topk by (service_name)(1, service_owner_info) > 5"),
    "5xx rate times an info metric compared to 1": (
        PROMQL, f"{BY_SERVICE} * on(service_name) group_left(team) (service_owner_info == 1) > 5"),
    "MQL 5xx rate written short": (MQL, f"{MQL_FAILED_SHORT} | group_by [], sum(val()) | condition val() > 5"),
    "5xx rate times an info metric in two pairs of brackets": (
        PROMQL, f"{BY_SERVICE} * on(service_name) group_left(team) ((service_owner_info)) > 5"),
    "5xx rate times a bracketed info metric deduplicated by topk, bracketed": (
        PROMQL, f"{BY_SERVICE} * on(service_name) group_left(team) (topk by (service_name)(1, (service_owner_info))) > 5"),
    "an info metric in brackets times the 5xx rate": (
        PROMQL, f"(service_owner_info) * on(service_name) group_right(team) {BY_SERVICE} > 5"),
    "MQL 5xx rate written short with spaces around ::": (
        MQL, f"{MQL_FAILED_SPACED} | group_by [], sum(val()) | condition val() > 5"),
    # `::` inside a quoted label value is no table of another resource (query_grouping.mql_text): combined on main.
    "MQL 5xx rate, a route with spaced :: in a quoted value": (
        MQL, MQL_OWN_LABEL.replace("LABEL", "metric.route != 'Orders :: create'")),
    "MQL 5xx rate, a revision with spaced :: in a quoted value": (
        MQL, MQL_OWN_LABEL.replace("LABEL", "resource.revision_name != 'Api :: V1'")),
    "MQL 5xx rate, a route with :: in a double-quoted value": (
        MQL, MQL_OWN_LABEL.replace("LABEL", 'metric.route != "Api::V1"')),
    "MQL 5xx rate, a route with :: after an escaped quote": (
        MQL, MQL_OWN_LABEL.replace("LABEL", r"metric.route != 'it\'s Api::V1'")),
    "MQL filter_ratio": (
        MQL, "fetch cloud_run_revision::run.googleapis.com/request_count | filter resource.service_name == 'backend' | "
             "align rate(1m) | group_by [], sum(val()) | filter_ratio metric.response_code_class == '5xx' | "
             "condition val() > 0.05"),
}


@pytest.mark.parametrize("name", COMBINED)
def test_the_other_series_a_query_makes_its_value_of_are_read(name):
    _, query, other = COMBINED[name]

    assert other in other_series(query)
    assert not selects_alone(query, "service_name", "backend")


@pytest.mark.parametrize("name", OWN)
def test_a_query_of_the_service_alone_or_gated_reads_no_other_series(name):
    assert other_series(OWN[name][1]) == ()


@pytest.mark.parametrize("name", COMBINED)
def test_a_failing_deploy_under_a_combined_query_is_diagnosed_and_not_rolled_back(name):
    kind, query, other = COMBINED[name]

    answer, world = _answer("bad_revision", _query(kind, query))

    assert answer.status is OutcomeStatus.ESCALATED, answer.reason
    assert "makes its value of another resource's series too" in answer.reason and other in answer.reason
    assert "nothing was written" in answer.reason, answer.reason
    assert answer.diagnosis is not None and answer.diagnosis.signature == "bad_revision"
    assert answer.action is not None and answer.action.name == "rollback_traffic"
    assert world.standins.run.count("UpdateService") == 0


@pytest.mark.parametrize("name", OWN)
def test_a_failing_deploy_under_its_own_query_is_rolled_back(name):
    answer, world = _answer("bad_revision", _query(*OWN[name]))

    assert answer.status is OutcomeStatus.APPLIED, answer.reason
    assert world.standins.run.count("UpdateService") == 1


@pytest.mark.parametrize("name", [name for name in OWN if "gated" in name or "unless" in name or "short" in name])
def test_a_query_of_the_service_alone_or_gated_selects_it_alone(name):
    assert selects_alone(OWN[name][1], "service_name", "backend")


def test_an_info_metric_added_in_brackets_is_part_of_the_value():
    assert other_series(f"{BY_SERVICE} + on(service_name) group_left(team) (service_owner_info) > 5") == (
        "service_owner_info",)


# query kind: a connector's MQL query (short form), its own instances alone, and joined to Cloud SQL's backends.
CONNECTOR_MQL = "vpc_access_connector::vpcaccess.googleapis.com/connector/instances | group_by [], max(val())"


def test_a_connector_mql_query_written_short_is_read():
    assert other_series(f"{CONNECTOR_MQL} | condition val() >= 4", "vpc_access_connector") == ()
    assert other_series(f"{{ {CONNECTOR_MQL} ; {MQL_BACKENDS_SHORT} | group_by [], mean(val()) }} | join | add "
                        "| condition val() >= 4", "vpc_access_connector") == ("cloudsql_database",)


# query: a share, read as one whatever its comments (each MQL row read as no share before).
SHARES = [
    MQL_SHARE.replace("DENOMINATOR", ""),                                                   # control
    MQL_SHARE.replace("DENOMINATOR", " # every code\n"),
    MQL_SHARE.replace("DENOMINATOR", "") + "  # 5 % of backend's requests",
    MQL_SHARE.replace("DENOMINATOR", "").replace("| ratio", "# numerator over all\n| ratio"),
    f"{BY_SERVICE} / sum by (service_name)(rate({ALL}[5m])) > 0.05 # page at 5 %",       # control
]


@pytest.mark.parametrize("query", SHARES, ids=[q[-40:] for q in SHARES])
def test_a_share_is_read_whatever_its_comments(query):
    assert ratio_query(query) and ratio_query_covers_504(query)


def test_a_comment_naming_another_code_is_no_part_of_a_share():
    query = MQL_SHARE.replace("DENOMINATOR", "") + "  # was metric.response_code_class == '4xx'"

    assert ratio_query(query) and ratio_query_covers_504(query)


@pytest.mark.parametrize("name", ["5xx rate times the connector's bytes",
                                  "MQL join of the 5xx and Cloud SQL's backends, added"])
def test_a_saturated_connector_under_a_combined_query_is_not_proposed_for_approval(name):
    """connector_saturation's one-way scale is proposed to a person on the service's own alert; under a combined query
    it is escalated with the change named, no proposal to approve (proposed before)."""
    kind, query, other = COMBINED[name]

    answer, world = _answer("connector_saturation", _query(kind, query))

    assert answer.status is OutcomeStatus.ESCALATED, answer.reason
    assert other in answer.reason and answer.action is not None and answer.action.name == "scale_connector"
    assert world.standins.vpcaccess.count("PatchConnector") == 0


def test_a_saturated_connector_under_its_service_own_gated_query_is_proposed():
    answer, _ = _answer("connector_saturation", _query(*OWN["5xx rate gated on Cloud SQL up (and on())"]))

    assert answer.status is OutcomeStatus.PROPOSED, answer.reason


def _threshold(**changed):
    def change(incident: dict) -> None:
        incident["condition"]["conditionThreshold"].update(changed)
    return change


def _incident(**changed):
    def change(incident: dict) -> None:
        incident.update(changed)
    return change


def _region(location: str):
    def change(incident: dict) -> None:
        incident["resource"]["labels"]["location"] = location
    return change


_5XX_FILTER = ('metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision" AND '
               'resource.labels.service_name="backend" AND metric.labels.response_code_class="5xx"')
# name: (change, the status, whether the rollback is made). Notifications answered right before, kept as rows: a
# forecast (AlertPolicy.Condition.MetricThreshold.forecast_options) and a condition met on missing data
# (EVALUATION_MISSING_DATA_ACTIVE) state no failure; `trigger.percent` and the policy's `severity` (AlertPolicy.Severity:
# CRITICAL, ERROR, WARNING) change nothing of a service's own failing deploy; a same-named service in another region is
# not the managed one; a share over another service's requests, or a denominatorFilter of another resource type, is no
# share of backend's (alert.proto, MetricThreshold.denominator_filter).
ANSWERED = {
    "a forecast of the 5xx share": (_threshold(forecastOptions={"forecastHorizon": "3600s"}), "escalated", False),
    "met on missing data": (_threshold(evaluationMissingData="EVALUATION_MISSING_DATA_ACTIVE"), "escalated", False),
    "trigger.percent 50": (_threshold(trigger={"percent": 50}), "applied", True),
    "policy severity CRITICAL": (_incident(severity="CRITICAL"), "applied", True),
    "the same service's name in europe-west1": (_region("europe-west1"), "skipped", False),
    "a share over frontend's requests": (
        _query(PROMQL, f'sum(rate({FAILED}[5m])) / sum(rate({RUN}{{service_name="frontend"}}[5m])) > 0.05'),
        "escalated", False),
    "a denominatorFilter of Cloud SQL's backends": (_threshold(
        filter=_5XX_FILTER, denominatorFilter='metric.type="cloudsql.googleapis.com/database/postgresql/num_backends" '
                                              'AND resource.type="cloudsql_database"',
        denominatorAggregations=[{"alignmentPeriod": "60s", "perSeriesAligner": "ALIGN_MEAN",
                                  "crossSeriesReducer": "REDUCE_SUM"}]), "escalated", False),
}


@pytest.mark.parametrize("name", ANSWERED)
def test_notifications_answered_right_before_stay_so(name):
    change, status, written = ANSWERED[name]

    answer, world = _answer("bad_revision", change)

    assert answer.status.value == status, answer.reason
    assert world.standins.run.count("UpdateService") == int(written)


def test_a_share_over_every_services_requests_is_not_rolled_back():
    """A Cloud Run metric written bare has no matcher: it selects every service's series, so backend's 5xx over it is no
    share of backend's requests (as the same share over frontend's, ANSWERED). Rolled back before."""
    query = f"{BY_SERVICE} / on() group_left sum(rate({RUN}[5m])) > 0.05"

    answer, world = _answer("bad_revision", _query(PROMQL, query))

    assert not selects_alone(query, "service_name", "backend")
    assert answer.status is OutcomeStatus.ESCALATED, answer.reason
    assert world.standins.run.count("UpdateService") == 0


@pytest.mark.parametrize("joined, counted", [
    ("* on() group_left", False), ("* on(service_name) group_left(team)", False), ("+ on() group_left", True),
    ("/ on() group_left", True), ("- on() group_left", True)])
def test_an_info_metric_is_no_part_of_the_value_only_when_multiplied(joined, counted):
    """An info metric's value is 1 (OpenMetrics, "Info"): multiplied, it leaves the value as it was; added, divided or
    subtracted, it changes it like any other series. Exempt under any operator before."""
    query = f"{BY_SERVICE} {joined} max by (service_name, team)(cloudsql_googleapis_com:instance_info) > 5"

    assert bool(other_series(query)) is counted


def _matched_revision(revision: str, extracted: bool):
    """A log match's notification naming `revision`: as its resource's `revision_name`, or as a label its policy
    extracts from the entry (`labelExtractors`, LogMatch.label_extractors, alert.proto; where a notification carries
    the extracted labels is UNCONFIRMED: here its `metric.labels`, the resource naming the entry's own revision)."""
    def change(incident: dict) -> None:
        if extracted:
            incident["condition"]["conditionMatchedLog"]["labelExtractors"] = {
                "revision": "EXTRACT(resource.labels.revision_name)"}
            incident["metric"]["labels"] = {"revision": revision}
        else:
            incident["resource"]["labels"]["revision_name"] = revision
    return change


@pytest.mark.parametrize("revision, extracted, status", [
    ("backend-00002-xyz", True, "applied"),     # the failing revision's 5xx lines, its name extracted
    ("backend-00001-abc", False, "escalated"),  # lines of the revision the rollback would go back to
])
def test_a_log_match_naming_a_revision_is_answered_as_before(revision, extracted, status):
    answer, _ = _answer("logmatch_request_5xx_lines_bad_revision", _matched_revision(revision, extracted))

    assert answer.status.value == status, answer.reason


SHOP = "projects/shop-prod/locations/europe-west1"
INSTANCES = 'max by (connector_name)(vpcaccess_googleapis_com:connector_instances{connector_name="shared-conn"})'
# name: (query, the other series its value reads). Each scaled the connector one way (e2-micro to e2-standard-4) before.
CONNECTOR_COMBINED = {
    "instances plus Cloud SQL up": (f"{INSTANCES} + on() group_left {SQL_UP} >= 4", SQL_UP),
    "instances plus Cloud SQL's backends": (
        f'{INSTANCES} + on() group_left cloudsql_googleapis_com:database_postgresql_num_backends{{database_id='
        f'"shop-prod:shop-pg"}} >= 4', BARE_BACKENDS),
    "instances times a service's 5xx rate": (
        f'{INSTANCES} * on() group_left max by (service_name)(rate({RUN}{{service_name="orders",'
        f'response_code_class="5xx"}}[5m])) >= 4', RUN),
}


def _connector_answer(change):
    """connector_alert_shared's notification, changed, under a config allowing the connector's one-way scale (its
    machine type, e2-micro to e2-standard-4): the shared connector of orders and payments, both on one Cloud SQL
    instance."""
    world = FastWorld(seeded_copy("connector_alert_shared", None), ANCHOR)
    world.config = with_own_principal(parse_config({
        "project": "shop-prod", "mode": "enforce", "outcomes_topic": "projects/shop-prod/topics/outcomes",
        "services": [{"name": f"{SHOP}/services/{name}", "cloudsql_instances": ["shop-prod:europe-west1:shop-pg"]}
                     for name in ("orders", "payments")],
        "bounds": {"connectors": [{"name": f"{SHOP}/connectors/shared-conn", "allow_one_way": True,
                                   "max_instances_ceiling": 10, "max_instances_step": 4,
                                   "allowed_machine_types": ["e2-micro", "e2-standard-4"]}]}}), world.standins.run.caller)
    with contextlib.redirect_stdout(io.StringIO()):
        answer = handle_alert(event(json.dumps(_notification("connector_alert_shared", change)).encode(), "1"),
                              world.config, world.adapters)
    return answer, world


@pytest.mark.parametrize("name", CONNECTOR_COMBINED)
def test_a_connector_alert_on_a_combined_query_scales_nothing(name):
    query, other = CONNECTOR_COMBINED[name]

    answer, world = _connector_answer(_query(PROMQL, query))

    assert answer.status is OutcomeStatus.ESCALATED, answer.reason
    assert world.standins.vpcaccess.count("PatchConnector") == 0
    assert "makes its value of another resource's series too" in answer.reason and other in answer.reason
    assert answer.action is not None and answer.action.name == "scale_connector"
    assert other in other_series(query, "vpc_access_connector")


@pytest.mark.parametrize("change", [lambda incident: None, _query(PROMQL, f"{INSTANCES} >= 4")],
                         ids=["its own threshold", "its own instances (PromQL)"])
def test_a_connector_alert_on_its_own_series_scales_it(change):
    answer, world = _connector_answer(change)

    assert answer.status is OutcomeStatus.APPLIED, answer.reason
    assert world.standins.vpcaccess.count("PatchConnector") == 1
