"""Which notifications state a present failure of their resource (shared/alerts/present_failure.py), read from
the documented schema-1.2 example (tests/fixtures/samples) with its condition varied. Pure: no I/O."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from shared.alerts.incidents import parse_notification
from shared.alerts.present_failure import unstated_failure

SAMPLE = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "samples"
                     / "monitoring_docs_example_closed_gce__via_goalert.json").read_text())


def _open(change) -> str:
    data = copy.deepcopy(SAMPLE)
    incident = data["incident"]
    incident.update(state="open", ended_at=None)
    change(incident, incident["condition"])
    return unstated_failure(parse_notification(data))


def _kind(key: str, body: dict):
    def change(incident: dict, condition: dict) -> None:
        incident["condition"] = {"name": condition["name"], "displayName": condition["displayName"], key: body}
    return change


ABSENT = 'metric.type="compute.googleapis.com/instance/cpu/utilization"'
REQUESTS = 'metric.type="run.googleapis.com/request_count" AND resource.type="cloud_run_revision"'


def _request_floor(comparison: str, ratio: bool = False):
    def change(incident: dict, condition: dict) -> None:
        incident["metric"] = {"type": "run.googleapis.com/request_count", "labels": {}}
        incident["resource"] = {"type": "cloud_run_revision", "labels": {
            "project_id": "p", "location": "us-central1", "service_name": "backend"}}
        body = {"filter": REQUESTS, "comparison": comparison, "thresholdValue": 0.5}
        if comparison is None:
            body.pop("comparison")
        if ratio:
            body["filter"] += ' AND metric.labels.response_code_class="2xx"'
            body["denominatorFilter"] = REQUESTS
        condition.pop("conditionThreshold")
        condition["conditionThreshold"] = body
        incident.update(threshold_value="0.5", observed_value="0.1")
    return change


SLO = '"projects/p/services/backend-svc/serviceLevelObjectives/availability"'


def _slo(selector: str, comparison: str = "COMPARISON_LT", bar: float = 0.1, metric: str = "", lookback: str = ""):
    """An SLO condition: only its filter is read, a time-series selector (Cloud Monitoring, "Creating an alerting
    policy", SLO monitoring API); the notification's `metric` is UNCONFIRMED for one (no sample), so both empty and
    a request_count one are tried. `lookback`: the selector's second argument, as written ("" for none)."""
    def change(incident: dict, condition: dict) -> None:
        condition.pop("conditionThreshold")
        argument = f", {lookback}" if lookback else ""
        condition["conditionThreshold"] = {"filter": f"{selector}({SLO}{argument})", "comparison": comparison,
                                           "thresholdValue": bar, "duration": "0s"}
        incident["metric"] = {"type": metric, "labels": {}}
        incident.update(threshold_value=f"{bar:g}", observed_value="0.05")
    return change


def _aligned(period: str, aligner: str):
    """The documented threshold condition aligned over `period` by `aligner`."""
    def change(incident: dict, condition: dict) -> None:
        condition["conditionThreshold"]["aggregations"] = [{"alignmentPeriod": period, "perSeriesAligner": aligner}]
    return change


PROMQL = 'sum(rate(run_googleapis_com:request_count{service_name="backend",response_code_class="5xx"}[5m])) > 1'

DAY_OF_5XX = 'sum(increase(run_googleapis_com:request_count{service_name="backend",response_code_class="5xx"}[24h])) > 100'

# An MQL condition (conditionMonitoringQueryLanguage) on the same 5xx: its query ends in `condition` (Cloud Monitoring,
# "Alerting policies with MQL"); its window is an aligner's argument, a `window`, a `sliding` group_by, or `every`.
MQL_5XX = ("fetch cloud_run_revision::run.googleapis.com/request_count"
           " | filter resource.service_name == 'backend' && metric.response_code_class == '5xx'")


def _mql(steps: str, kind: str = "conditionMonitoringQueryLanguage"):
    return _kind(kind, {"query": f"{MQL_5XX} | {steps}", "duration": "0s"})


# A SQL condition (conditionSql) on the service's request log, run on a schedule (SqlCondition.minutes, hourly, daily:
# google-cloud-monitoring types/alert.py), counting rows against a bar.
SQL_5XX = ("SELECT timestamp, resource FROM `p.global._Default._AllLogs` WHERE resource.type = 'cloud_run_revision'"
           " AND http_request.status >= 500")


def _sql(schedule: dict | None):
    body = {"query": SQL_5XX, "rowCountTest": {"comparison": "COMPARISON_GT", "threshold": 100}}
    return _kind("conditionSql", {**body, **(schedule or {})})


FORECAST = ('predict_linear(sum(rate(run_googleapis_com:request_count{service_name="backend"}[5m]))[1h:1m], 3600) '
            '> 100')

UNSTATED = [
    ("forecastOptions", lambda i, c: c["conditionThreshold"].update(forecastOptions={"forecastHorizon": "3600s"}),
     "fired on a forecast"),
    ("forecast_options, snake_case", lambda i, c: c["conditionThreshold"].update(
        forecast_options={"forecast_horizon": "7200s"}), "fired on a forecast"),
    ("an empty forecastOptions", lambda i, c: c["conditionThreshold"].update(forecastOptions={}), "fired on a forecast"),
    ("no condition", lambda i, c: i.pop("condition"), "carries no condition kind"),
    ("a condition of a name alone", lambda i, c: i.update(condition={"name": c["name"]}), "carries no condition kind"),
    ("conditionAbsent", _kind("conditionAbsent", {"filter": ABSENT, "duration": "300s"}),
     "fired on a metric absence (conditionAbsent)"),
    ("PromQL predict_linear", _kind("conditionPrometheusQueryLanguage", {"query": FORECAST}),
     "is a forecast (PromQL predict_linear)"),
    ("PromQL absent", _kind("conditionPrometheusQueryLanguage", {"query": 'absent(up{job="backend"})'}),
     "fires on a metric absence (absent)"),
    ("PromQL absent_over_time", _kind("conditionPrometheusQueryLanguage", {"query": "absent_over_time(x[5m])"}),
     "fires on a metric absence (absent_over_time)"),
    ("MQL absent_for", _kind("conditionMonitoringQueryLanguage", {"query": "fetch gce_instance | absent_for 300s"}),
     "fires on a metric absence (absent_for)"),
    ("met on missing data", lambda i, c: c["conditionThreshold"].update(evaluationMissingData=2),
     "is met while its data is missing (evaluationMissingData EVALUATION_MISSING_DATA_ACTIVE)"),
    ("a floor on the requests", _request_floor("COMPARISON_LT"), "fires when the service's requests fall below a floor"),
    ("a floor on the requests, LE", _request_floor("COMPARISON_LE"), "fall below a floor (COMPARISON_LE"),
    # A request_count threshold whose comparison says no side (dropped by a relay, or EQ/NE): a floor not ruled out.
    ("a count of requests with no comparison", _request_floor(None), "does not say whether it fires on a rise or a fall"),
    ("a count of requests compared equal", _request_floor("COMPARISON_EQ"), "comparison (COMPARISON_EQ)"),
    ("condition_name another condition's", lambda i, c: i.update(condition_name="Disk forecast"),
     "names condition 'Disk forecast'"),
    ("two kinds in one condition", lambda i, c: c.update(conditionAbsent={"filter": ABSENT, "duration": "300s"}),
     "carries 2 condition kinds"),
    # An SLO's standing over its compliance period, not its service now: the error budget left (a fraction, or in
    # events or time), the whole budget, the compliance reached.
    ("an SLO's error budget left", _slo("select_slo_budget_fraction"), "select_slo_budget_fraction"),
    ("an SLO's error budget left, in events", _slo("select_slo_budget", bar=100.0), "select_slo_budget"),
    ("an SLO's whole error budget", _slo("select_slo_budget_total", bar=100.0), "select_slo_budget_total"),
    ("an SLO's compliance", _slo("select_slo_compliance", bar=0.999), "select_slo_compliance"),
    ("an SLO's error budget left, under a request_count metric",
     _slo("select_slo_budget_fraction", metric="run.googleapis.com/request_count"), "compliance period"),
    ("an SLO's error budget left, spaced", _slo("select_slo_budget_fraction ", comparison="COMPARISON_LE"),
     "select_slo_budget_fraction"),
    # An SLO's burn rate over a lookback longer than an hour (a slow burn): a mean over hours, over its bar for up to
    # that long after the failures stopped; or over a lookback not stated as a duration.
    ("a slow burn over 24 h", _slo("select_slo_burn_rate", "COMPARISON_GT", 3.0, lookback='"86400s"'),
     "over a lookback of 24 h (select_slo_burn_rate, '86400s'), a slow burn"),
    ("a slow burn over 6 h", _slo("select_slo_burn_rate", "COMPARISON_GT", 6.0, lookback='"6h"'),
     "a lookback of 6 h"),
    ("a slow burn over 3 days", _slo("select_slo_burn_rate", "COMPARISON_GT", 1.0, lookback='"72h"'),
     "a lookback of 3 days"),
    ("a slow burn over 1 h 30 min", _slo("select_slo_burn_rate", "COMPARISON_GT", 6.0, lookback='"1h30m"'),
     "a lookback of 1.5 h"),
    ("a slow burn over 120 min, unquoted", _slo("select_slo_burn_rate", "COMPARISON_GT", 6.0, lookback="120m"),
     "a lookback of 2 h"),
    ("a slow burn under a request_count metric", _slo("select_slo_burn_rate", "COMPARISON_GT", 3.0,
                                                      metric="run.googleapis.com/request_count", lookback='"24h"'),
     "a slow burn"),
    ("a burn rate whose lookback is no duration", _slo("select_slo_burn_rate", "COMPARISON_GT", 10.0,
                                                       lookback='"1 day"'), "lookback '1 day' is no duration"),
    ("a burn rate with no lookback", _slo("select_slo_burn_rate", "COMPARISON_GT", 10.0), "lookback is not stated"),
    # The same form as a metric threshold: a value aggregated over an alignment period (a look-back) of hours.
    ("5xx summed over a day", _aligned("86400s", "ALIGN_SUM"), "ALIGN_SUM over an alignment period of 24 h"),
    ("a mean over 2 h", _aligned("7200s", "ALIGN_MEAN"), "an alignment period of 2 h"),
    ("a rate over 3601 s", _aligned("3601s", "ALIGN_RATE"), "look-back of 1.00028 h"),
    # ... and as PromQL: a range (or a subquery's) of more than an hour back ("Querying basics", Prometheus).
    ("PromQL 5xx over a day", _kind("conditionPrometheusQueryLanguage", {"query": DAY_OF_5XX}),
     "reads a range of 24 h back ([24h])"),
    ("PromQL 1 h 30 min beside 5 min", _kind("conditionPrometheusQueryLanguage", {
        "query": 'rate(x[5m]) > 1 and increase(run_googleapis_com:request_count[1h30m]) > 100'}), "1.5 h back ([1h30m])"),
    ("PromQL subquery over 2 days", _kind("conditionPrometheusQueryLanguage", {
        "query": "max_over_time(rate(x[5m])[2d:5m]) > 1"}), "2 days back ([2d])"),
    # ... and as MQL: an aligner's window, a `window`, a sliding or temporal group_by, an `every` of more than an hour.
    ("MQL 5xx over a day", _mql("align delta(1d) | every 30s | group_by [resource.service_name], sum(val())"
                                " | condition val() > 100"), "reads a window of 24 h (1d, MQL)"),
    ("MQL rate over 2 h", _mql("align rate(2h) | every 30s | condition val() > 1 '1/s'"), "a window of 2 h (2h, MQL)"),
    ("MQL window 90 min", _mql("window 90m | align rate() | condition val() > 1 '1/s'"),
     "a window of 1.5 h (90m, MQL)"),
    ("MQL sliding 6 h", _mql("group_by sliding(6h), [v: sum(val())] | every 30s | condition v > 1000"),
     "a window of 6 h (6h, MQL)"),
    ("MQL temporal group_by of a day", _mql("group_by 1d, [v: sum(val())] | condition v > 1000"), "a window of 24 h"),
    ("MQL every 2 h", _mql("align delta() | every 2h | condition val() > 100"), "a window of 2 h (2h, MQL)"),
    ("MQL a week beside 5 min", _mql("align rate(5m) | every 30s | condition val() > 1 || val() > 0 && 1w > 0s"),
     "a window of 7 days (1w, MQL)"),
    # A shift back of hours: a value of hours ago, alone or beside the value now (which side fired is not stated).
    ("MQL a rise against the same hour last week", _kind("conditionMonitoringQueryLanguage", {"query": (
        f"{{ {MQL_5XX} | align rate(5m) ; {MQL_5XX} | align rate(5m) | time_shift 1w }} | join | div"
        " | condition val() > 2")}), "a window of 7 days (1w, MQL)"),
    ("PromQL yesterday's 5xx", _kind("conditionPrometheusQueryLanguage", {
        "query": PROMQL.replace("[5m]", "[5m] offset 1d")}),
     "a range of 24 h back (offset 1d)"),
    # An `@` modifier pins a value to a fixed time: that instant's value whenever the condition runs, however near.
    ("PromQL 5xx pinned to a timestamp", _kind("conditionPrometheusQueryLanguage", {
        "query": PROMQL.replace("[5m]", "[5m] @ 1609746000")}), "pinned to a fixed time (@ 1609746000)"),
    ("PromQL pinned with a fraction, before an offset of 5 min", _kind("conditionPrometheusQueryLanguage", {
        "query": PROMQL.replace("[5m]", "[5m] @ 1609746000.5 offset 5m")}), "(@ 1609746000.5)"),
    ("PromQL pinned, no space", _kind("conditionPrometheusQueryLanguage", {
        "query": PROMQL.replace("[5m]", "[5m]@1609746000")}), "(@ 1609746000)"),
    ("PromQL a rise against a pinned instant", _kind("conditionPrometheusQueryLanguage", {
        "query": "sum(rate(x[5m])) / sum(rate(x[5m] @ 1700000000)) > 2"}), "(@ 1700000000)"),
    # A quote inside a comment is the comment's text: on main it opened a string that hid the `@` or range after it
    # (the first row failed on main, the pinned value read as the service now, and acted).
    ("PromQL pinned after a comment holding a quote", _kind("conditionPrometheusQueryLanguage", {
        "query": "sum(rate(x[5m])) # don't page on a deploy\n/ sum(rate(x[5m] @ 1700000000)) > 2 and on() y{a='b'}"}),
     "(@ 1700000000)"),
    ("PromQL a day's range after a comment holding a quote", _kind("conditionPrometheusQueryLanguage", {
        "query": "sum(increase(x[24h])) # ops' threshold\n> 100 and on() y{a='b'}"}), "a range of 24 h back ([24h])"),
    ("PromQL a day's range beside a quoted label value", _kind("conditionPrometheusQueryLanguage", {
        "query": 'sum(increase(x{path="/v1/[5m]"}[1d])) > 100'}), "a range of 24 h back ([1d])"),
    # A bare number where a duration goes is that many seconds (Prometheus, "Querying basics", "Float literals and time
    # durations"; an engine that refuses it fires nothing): a day's range (each failed on main, no range
    # read, a day's 5xx acted on as the service now).
    ("PromQL 5xx over 86400 s, no unit", _kind("conditionPrometheusQueryLanguage", {
        "query": DAY_OF_5XX.replace("[24h]", "[86400]")}), "a range of 24 h back ([86400])"),
    ("PromQL subquery over 7200.5 s, no unit", _kind("conditionPrometheusQueryLanguage", {
        "query": "max_over_time(rate(x[300])[7200.5:60]) > 1"}), "([7200.5])"),
    ("PromQL yesterday's 5xx, offset 86400", _kind("conditionPrometheusQueryLanguage", {
        "query": PROMQL.replace("[5m]", "[5m] offset 86400")}), "a range of 24 h back (offset 86400)"),
    # Prometheus 3's duration expressions (`[5m * 288]`, `[1h+5m]`, `offset (1h)`: experimental, behind
    # `promql-duration-expr`), which Prometheus 2.44 (Cloud Monitoring's parity, "PromQL compatibility") does not
    # parse, and an `@` of anything but a time, start() or end(): how far back is not read, so held. Each failed on
    # main: no range read, a day's 5xx (`[5m * 288]`) acted on as the service now.
    ("PromQL a duration expression of a day", _kind("conditionPrometheusQueryLanguage", {
        "query": PROMQL.replace("[5m]", "[5m * 288]")}), "does not read ([5m * 288]"),
    ("PromQL a range of 1 h + 5 m", _kind("conditionPrometheusQueryLanguage", {
        "query": PROMQL.replace("[5m]", "[1h+5m]")}), "does not read ([1h+5m]"),
    ("PromQL a subquery of a duration expression", _kind("conditionPrometheusQueryLanguage", {
        "query": "max_over_time(rate(x[5m])[1d*2:5m]) > 1"}), "does not read ([1d*2:5m]"),
    ("PromQL an offset written as an expression", _kind("conditionPrometheusQueryLanguage", {
        "query": PROMQL.replace("[5m]", "[5m] offset (1h + 5m)")}), "does not read (offset (1h + 5m)"),
    ("PromQL an @ of an expression", _kind("conditionPrometheusQueryLanguage", {
        "query": PROMQL.replace("[5m]", "[5m] @ (1609746000)")}), "does not read (@ (1609746000)"),
    # ... and a selector's range and offset, and the subqueries around it, summed: each under an hour, together
    # reaching more than an hour back (each failed on main, read as the service now).
    ("PromQL a range and its offset reaching 100 min back", _kind("conditionPrometheusQueryLanguage", {
        "query": PROMQL.replace("[5m]", "[50m] offset 50m")}), "a range of 1.66667 h back ([50m] offset 50m)"),
    ("PromQL a range inside a subquery with an offset", _kind("conditionPrometheusQueryLanguage", {
        "query": "max_over_time(rate(x[5m])[50m:1m] offset 30m) > 1"}), "([5m] within [50m:1m] offset 30m)"),
    ("PromQL OFFSET in capitals", _kind("conditionPrometheusQueryLanguage", {
        "query": PROMQL.replace("[5m]", "[5m] OFFSET 1d")}), "(offset 1d)"),
    # A SQL condition reads the log rows since its last run: hours of them on a schedule of more than an hour.
    ("SQL run every 6 hours", _sql({"hourly": {"periodicity": 6}}), "a SQL condition run every 6 h (conditionSql)"),
    ("SQL run daily", _sql({"daily": {"periodicity": 1, "executionTime": {"hours": 3}}}), "run every 24 h"),
    ("SQL run every 1440 minutes", _sql({"minutes": {"periodicity": 1440}}), "run every 24 h"),
    ("SQL, snake_case", _kind("condition_sql", {"query": SQL_5XX, "hourly": {"periodicity": 2}}), "run every 2 h"),
    ("SQL with no schedule", _sql(None), "whose schedule (minutes, hourly or daily) is not stated"),
    ("MQL strict form, kind unnamed", _mql("align delta(1d) | condition val() > 100", kind="conditionQuery"),
     "a window of 24 h (1d, MQL)"),
    ("MQL strict join, 6 h", _kind("conditionMonitoringQueryLanguage", {"query": (
        "{ fetch cloud_run_revision::run.googleapis.com/request_count | filter metric.response_code_class == '5xx'"
        " ; fetch cloud_run_revision::run.googleapis.com/request_count } | align delta(6h) | join | div"
        " | condition val() > 0.05")}), "a window of 6 h (6h, MQL)"),
]

STATED = [
    ("the documented threshold", lambda i, c: None),
    ("forecastOptions null", lambda i, c: c["conditionThreshold"].update(forecastOptions=None)),
    ("a log match", _kind("conditionMatchedLog", {"filter": "severity>=ERROR"})),
    ("a PromQL threshold", _kind("conditionPrometheusQueryLanguage", {"query": PROMQL})),
    ("a PromQL range of an hour", _kind("conditionPrometheusQueryLanguage", {"query": PROMQL.replace("[5m]", "[1h]")})),
    ("a PromQL regular expression in brackets", _kind("conditionPrometheusQueryLanguage", {
        "query": 'sum(rate(x{response_code=~"5[0-9]{2}"}[5m])) > 1'})),
    ("a PromQL metric named like a function, not called", _kind("conditionPrometheusQueryLanguage", {
        "query": 'sum(absent_requests_total{job="x"}) > 1'})),
    ("a SQL condition run every 5 minutes", _sql({"minutes": {"periodicity": 5}})),
    ("a SQL condition run hourly", _sql({"hourly": {"periodicity": 1, "minuteOffset": 7}})),
    # An MQL window of an hour at most, a point aligner's or a time shift's duration, a quoted unit: the service now.
    ("an MQL rate over 5 min", _mql("align rate(5m) | every 30s | condition val() > 1 '1/s'")),
    ("an MQL delta over an hour", _mql("align delta(1h) | every 30s | condition val() > 100")),
    ("an MQL sliding hour", _mql("group_by sliding(60m), [v: sum(val())] | condition v > 100")),
    ("an MQL newest point of a day", _mql("align next_older(1d) | every 30s | condition val() > 100")),
    ("an MQL interpolated point", _mql("align interpolate(2h) | condition val() > 100")),
    ("an MQL query on a k8s_container, quoted durations", _kind("conditionMonitoringQueryLanguage", {"query": (
        "fetch k8s_container::logging.googleapis.com/user/errors_1d | filter metric.window == '1d'"
        " | align rate(1m) | condition val() > 1 '1/s'")})),
    # A bare number of seconds of an hour at most is the service now, as its spelling with a unit is.
    ("a PromQL range of 300 s, no unit", _kind("conditionPrometheusQueryLanguage", {
        "query": PROMQL.replace("[5m]", "[300]")})),
    ("a PromQL range of 3600 s, no unit", _kind("conditionPrometheusQueryLanguage", {
        "query": PROMQL.replace("[5m]", "[3600]")})),
    ("a PromQL offset of 5 min", _kind("conditionPrometheusQueryLanguage", {
        "query": PROMQL.replace("[5m]", "[5m] offset 5m")})),
    # `@ end()` and `@ start()` are the evaluation time in an instant query; an @ in a quoted label value is none.
    ("a PromQL value at end()", _kind("conditionPrometheusQueryLanguage", {
        "query": PROMQL.replace("[5m]", "[5m] @ end()")})),
    ("a PromQL value at start()", _kind("conditionPrometheusQueryLanguage", {
        "query": PROMQL.replace("[5m]", "[5m] @ start()")})),
    # Prometheus 2.44's forms read as what they are: a negative offset reads forward (no further back), a
    # subquery of minutes, `@ end()` beside an offset of minutes, a quoted label value holding a duration expression.
    ("a PromQL negative offset", _kind("conditionPrometheusQueryLanguage", {
        "query": PROMQL.replace("[5m]", "[5m] offset -5m")})),
    ("a PromQL subquery of 5 min", _kind("conditionPrometheusQueryLanguage", {
        "query": "max_over_time(rate(x[5m])[5m:1m]) > 1"})),
    ("a PromQL value at end(), offset 5 min", _kind("conditionPrometheusQueryLanguage", {
        "query": PROMQL.replace("[5m]", "[5m] @ end() offset 5m")})),
    ("a PromQL label value holding a duration expression", _kind("conditionPrometheusQueryLanguage", {
        "query": 'sum(rate(x{path="/v1/[5m*2]"}[5m])) > 1'})),
    ("a PromQL label value holding an @ and digits", _kind("conditionPrometheusQueryLanguage", {
        "query": 'sum(rate(x{owner="ops@1609746000"}[5m])) > 1'})),
    # A range or offset written inside a quoted label value or a comment is none of the query's (each
    # failed on main, held as a slow burn).
    ("a PromQL label value holding a range", _kind("conditionPrometheusQueryLanguage", {
        "query": 'sum(rate(x{path="/v1/reports[2h]"}[5m])) > 1'})),
    ("a PromQL label value in single quotes holding an offset", _kind("conditionPrometheusQueryLanguage", {
        "query": "sum(rate(x{note='offset 1d'}[5m])) > 1"})),
    ("a PromQL comment naming a range", _kind("conditionPrometheusQueryLanguage", {
        "query": "sum(rate(x[5m])) > 1 # was [24h] before the SLO review"})),
    ("an SLO burn rate", lambda i, c: c["conditionThreshold"].update(
        filter='select_slo_burn_rate("projects/p/services/s/serviceLevelObjectives/o", "3600s")')),
    ("an SLO's burn rate over its lookback", _slo("select_slo_burn_rate", comparison="COMPARISON_GT", bar=10.0,
                                                  lookback='"3600s"')),
    # A fast burn: a lookback of an hour at most, in any of the documented units.
    ("a fast burn over 60 min", _slo("select_slo_burn_rate", "COMPARISON_GT", 14.4, lookback='"60m"')),
    ("a fast burn over 1 h", _slo("select_slo_burn_rate", "COMPARISON_GT", 14.4, lookback='"1h"')),
    ("a fast burn over 5 min", _slo("select_slo_burn_rate", "COMPARISON_GT", 14.4, lookback='"300s"')),
    ("an SLO's SLI now under its goal", _slo("select_slo_health", bar=0.99)),
    # The SLI under its goal is no floor on the volume of requests, whatever metric the notification names.
    ("an SLO's SLI now under its goal, under a request_count metric",
     _slo("select_slo_health", bar=0.99, metric="run.googleapis.com/request_count")),
    # A look-back of an hour at most, or an aligner that takes the point at the period's end: the metric now.
    ("a sum over an hour", _aligned("3600s", "ALIGN_SUM")),
    ("a rate over 5 min", _aligned("300s", "ALIGN_RATE")),
    ("the newest point of a day's period", _aligned("86400s", "ALIGN_NEXT_OLDER")),
    ("an interpolated point of a day's period", _aligned("86400s", "ALIGN_INTERPOLATE")),
    ("met on missing data as not met", lambda i, c: c["conditionThreshold"].update(
        evaluationMissingData="EVALUATION_MISSING_DATA_INACTIVE")),
    ("a success ratio falling below its bar", _request_floor("COMPARISON_LT", ratio=True)),
    ("requests above a bar", _request_floor("COMPARISON_GT")),
    ("requests at or above a bar", _request_floor("COMPARISON_GE")),
    ("threshold_value disagreeing with thresholdValue", lambda i, c: i.update(threshold_value="0.5")),
    ("the condition as a `conditions` list of one", lambda i, c: i.update(conditions=[i.pop("condition")])),
]


@pytest.mark.parametrize("why, change, said", UNSTATED, ids=[row[0] for row in UNSTATED])
def test_a_notification_that_states_no_present_failure_says_which_form_it_is(why, change, said):
    reason = _open(change)

    assert said in reason and "nothing was written" in reason, reason


@pytest.mark.parametrize("why, change", STATED, ids=[row[0] for row in STATED])
def test_a_notification_that_states_a_present_failure_lets_its_diagnosis_act(why, change):
    assert _open(change) == ""
