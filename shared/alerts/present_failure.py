"""Whether a notification states a present failure of the resource it names: what Runwarden's writes
answer (a rollback of a revision failing now, a connector saturated now). Pure: no I/O.

Live evidence decides which cause a failure has; the notification decides whether there is a failure
to act on, and when it began (`started_at` anchors the deploy a rollback is measured against). Some
conditions fire without one (AlertPolicy.Condition, google/monitoring/v3/alert.proto):
- a forecast: a conditionThreshold with `forecastOptions`, "the MetricThreshold condition forecasts
  whether the time series is predicted to violate the threshold within the forecast_horizon"
  (google-cloud-monitoring, types/alert.py); "a forecast predicts that a time series will cross a
  threshold ... within an upcoming forecast window" of 1 hour to 2.5 days (Cloud Monitoring, "Create
  forecasted metric-value alerting policies"). Nothing has crossed yet, and its start is when the
  prediction held, not when anything failed;
- a metric absence: conditionAbsent, "in violation when a time series for the specified metric of a
  monitored resource does not include any data in the specified duration" (AlertPolicy.Condition.
  MetricAbsence); no data is a sign (no callers, a writer stopped, a route changed), not a failure of
  the service's requests, and it starts when the data stopped;
- the same two written as queries: PromQL's `predict_linear(v, t)` ("predicts the value of time series
  t seconds from now", Prometheus, "Query functions"), `absent(...)` and `absent_over_time(...)` (a
  1-element vector "if the vector passed to it has no elements"), and MQL's `absent_for` alerting
  operation (Cloud Monitoring, "Alerting policies with MQL": a query ends in `condition` for a threshold
  or `absent_for` for a metric absence);
- an SLO's standing over its compliance period: a condition on the error budget left, the whole budget or the
  compliance reached (select_slo_budget, select_slo_budget_fraction, select_slo_budget_total,
  select_slo_compliance; incidents._SLO_STANDING). The budget is "for a compliance period" of days to weeks
  (Cloud Monitoring, "Alerting on your burn rate"): it ran low on failures that may be days old, and its start is
  when the standing crossed the bar. An SLO's burn rate over a lookback of an hour at most (a fast burn), and
  its SLI's value (select_slo_health), are the service now, and are read as before;
- an SLO's burn rate over a lookback longer than an hour (a slow burn: `select_slo_burn_rate(SLO, "86400s")`,
  "6h"), or over a lookback not stated as a duration: the budget spent over that lookback, a mean over hours
  (incidents.burn_rate_lookback). It stays over its bar for up to the lookback after the failures stopped, and
  crosses it hours after a slow failure began: its start anchors no deploy, and its firing says nothing of now.
  The diagnosis's own check that failures still go on reads the service's newest minutes, but a rollback also
  measures the deploy against the incident's start, which a slow burn does not give. A threshold condition whose
  alignment period is longer than an hour (a 5xx count or share over a day: "The alignment period is a look-back
  interval", Cloud Monitoring, "Behavior of metric-based alerting policies") is the same form, as is a PromQL
  condition reading a range of more than an hour back (`increase(...[24h])`, or a value `offset 1d`; a selector's
  range and offset summed with the subqueries around it, `x[50m] offset 50m`) or a value pinned to a fixed time
  (`@ 1609746000`), or writing a range, offset or `@` in a form not read (Prometheus 3's `[5m * 288]`), and an MQL
  condition whose window is longer than an hour (`align delta(1d)`, `group_by sliding(6h)`, `window 2h`, `every 2h`,
  `time_shift 1d`; `_long_range`), and a SQL condition run less often than hourly, or on no stated schedule (its
  query "receives all rows received since the last time the query was run", SqlCondition, types/alert.py;
  `_sql_window`);
- a condition met while its data is missing (EVALUATION_MISSING_DATA_ACTIVE: "If there is no data to
  evaluate the condition, then evaluate the condition as true", types/alert.py), whose incident may have
  opened on no data, and a `request_count` threshold compared downward with no denominator (a floor on the
  volume of requests: a drop in traffic), the same sign as an absence, or with no comparison stated (a floor is
  then not ruled out); so is the same floor on another metric of how much work a resource does, not how well
  (`_ACTIVITY`: a service's instances, CPU, concurrency or bytes, a connector's, a Cloud SQL instance's CPU or
  connections, Cloud Logging's count or bytes of the log entries written), which falls when the callers stop or a
  service scales to zero;
- a log match on audit log entries of changes: a filter letting through only entries of the Admin Activity or
  System Event audit log (`cloudaudit.googleapis.com/activity`, `/system_event`), or of a write's method
  (`protoPayload.methodName="google.cloud.run.v1.Services.ReplaceService"`: "Admin Activity audit logs contain log
  entries for API calls or other actions that modify the configuration or metadata of resources", and System Event
  ones of Google Cloud's actions that modify the configuration of resources, "Cloud Audit Logs overview", "Types of
  audit logs"; code_filters.audited_only). Not the Data Access log (reads of configuration or data) nor the Policy
  Denied one (VPC Service Controls' refusals), nor entries selected by an error status or a severity of ERROR or
  above (a failed call changed nothing): those take the usual path. Such a policy tells of a change (a deploy, a
  traffic or IAM change, a revision that did not become ready and so serves nothing), not of failing requests, and its
  start is when the change was recorded (before, an IAM change's or a deploy's notification rolled back a deploy
  whenever the live evidence showed it failing, as a failure's alert would);
- a log match that positively selects the service's ordinary work (code_filters.quiet_only): a filter letting
  through only DEBUG, INFO or NOTICE entries (`severity=INFO AND jsonPayload.event="cache_warmed"`, `severity=DEBUG`;
  LogSeverity, google/logging/type/log_severity.proto: NOTICE is "Normal but significant events, such as start up,
  shut down, or a configuration change", WARNING the first level of events that "might cause problems"), never
  DEFAULT (Cloud Run, "Logging and viewing logs": "Logs written directly to stdout or stderr do not have an
  associated log level": a traceback or a driver's error printed as plain text), each other term a field compared by
  `=` or `:` to a text naming no failure, or a text searched for naming none: no level above NOTICE in a payload, no
  status, code or latency compared, no number, no regular expression, no negated term. It counts the service's
  ordinary work; its start is when such a line was written (before, a policy counting cache warm-ups rolled back a
  deploy whenever the live evidence showed it failing). Any filter not read so takes the usual path, the live
  evidence deciding: a failure logged at a low level (`textPayload:"deadlock detected"`, `jsonPayload.level>=50`,
  `httpRequest.latency>="10s"`), plain stderr (`severity=DEFAULT`), a filter that only may be quiet work;
- the same entries counted as a metric: a threshold compared upward on Cloud Logging's `log_entry_count` or `byte_count`
  whose crossed series' `severity`, or else whose filter's `metric.labels.severity` comparisons
  (code_filters.metric_quiet_levels), or a PromQL or MQL query's numerator (code_filters.query_quiet_levels), let
  through only DEBUG, INFO or NOTICE (`_quiet_count`);
- an uptime check's certificate running out: `uptime_check/time_until_ssl_cert_expires`, "Days remaining until
  the SSL certificate expires" (Cloud Monitoring's metric list, "Google Cloud metrics", section monitoring),
  under a number of days (the Uptime checks docs' certificate expiration policy). The certificate is still
  valid, the check passes and the requests are clean: nothing has failed, and no rollback nor connector change
  renews a certificate (a Cloud Run domain mapping's managed one, a load balancer's, Certificate Manager's);
- a notification that does not say which condition fired: no condition kind at all (the `condition`
  missing, or abbreviated to its name and displayName by a relay or a template: a forecast or an
  absence then reads as a present crossing), or parts that name different conditions of a policy of
  several (Incident.condition_doubt: an AND policy's conditions are met "even if they are met on
  completely different resources", and the carried one may be another's forecast or absence), or a policy or
  resource label naming another service than the resource's (Incident.labels_doubt: which one the owner meant is
  unknown).
Any of them is diagnosed as usual and escalated with the diagnosis and the change it would have made;
nothing is written. A present failure alerts through its own threshold condition, which Runwarden acts
on. A notification whose `threshold_value` and thresholdValue alone disagree still names its condition
and resource: that doubt is about the bar (`healthy`), not about a failure. Whether a forecast's notification
says it is one anywhere but its condition (its summary's words, say) is UNCONFIRMED: no sample of one is stored,
so a condition stripped of its `forecastOptions` but left its `conditionThreshold` reads as a crossing.
"""
from __future__ import annotations

import re

from shared.alerts.code_filters import audited_only, metric_quiet_levels, query_quiet_levels, quiet_levels, quiet_only
from shared.alerts.extracted_labels import carried, contradicting
from shared.alerts.incidents import FAST_BURN_LOOKBACK_SECONDS, Incident, quoted
from shared.alerts.label_filters import selected_value
from shared.alerts.policy_labels import policy_hold
from shared.alerts.query_grouping import is_mql, mql_text
from shared.alerts.query_grouping import promql_syntax as _promql_syntax
from shared.alerts.response_selection import unselected_responses

# PromQL's forecast and absence functions by name, as a call (a metric or label of that name is no call).
_QUERY_FORECAST = re.compile(r"\bpredict_linear\s*\(")
_QUERY_ABSENCE = re.compile(r"\babsent(?:_over_time)?\s*\(|\|\s*absent_for\b")

# EvaluationMissingData.EVALUATION_MISSING_DATA_ACTIVE ("If there is no data to evaluate the condition, then evaluate
# the condition as true", google-cloud-monitoring types/alert.py), by name or number (incidents._enum_named reads a
# number as its name; 2 kept for an Incident made otherwise).
_MISSING_DATA_ACTIVE = frozenset({"EVALUATION_MISSING_DATA_ACTIVE", "2"})
# A request_count threshold compared downward (MetricThreshold.comparison, google/monitoring/v3/common.proto) and no
# ratio: a floor on the volume of requests, a drop in traffic.
_REQUEST_COUNT = "run.googleapis.com/request_count"
# The other metrics whose value is how much work a resource does, not how well: compared downward they are a floor on
# activity, as request_count's is, and fall when the callers stop, not when requests fail (before, only
# request_count's floor was held, and a policy "backend has no instances", instance_count < 1, rolled back a revision;
# "connector CPU below 70 %" proposed to scale the connector up). Cloud Run's (resource cloud_run_revision) are in
# Cloud Monitoring's "Google Cloud metrics" list, run section (cloud.google.com/monitoring/api/metrics_gcp_p_z#gcp-run):
# instance count, billable instance time, CPU and memory allocation and utilization (charted by name in
# GoogleCloudPlatform/monitoring-dashboard-samples dashboards/google-cloud-run/README.md); max_request_concurrencies and
# the network byte counts are in the list as public policies and dashboards name them, UNCONFIRMED against a copy of the
# page. Cloud Run scales a revision that receives no traffic to zero instances by default, unless min instances is
# set (cloud.google.com/run/docs/about-instance-autoscaling, read in its es, es-419 and de copies), so
# instance_count < 1 is the service idle. The connector's (vpc_access_connector: instances, cpu/utilizations and the
# byte and packet counts, dynatrace-oss/dynatrace-gcp-monitor src/config/vpc_access_connector.yml) fall when less
# traffic crosses it. Cloud SQL's (cloudsql_database: cpu/utilization, network/connections, postgresql/num_backends,
# dynatrace-oss/dynatrace-gcp-monitor src/config/cloudsql_database.yml; the network byte counts as public dashboards
# name them, UNCONFIRMED) fall when its users ask less; Cloud Logging's counts of the entries written (`_LOG_COUNTS`)
# when fewer lines are. A metric whose fall is the failure (database/up, an uptime check's check_passed, a success ratio)
# is not here, and a custom or user-defined log-based metric (logging.googleapis.com/user/...) is not read as one.
_ACTIVITY = {
    "run.googleapis.com/container/instance_count": "the service's instance count",
    "run.googleapis.com/container/billable_instance_time": "the service's billable instance time",
    "run.googleapis.com/container/cpu/utilizations": "the service's CPU utilization",
    "run.googleapis.com/container/memory/utilizations": "the service's memory utilization",
    "run.googleapis.com/container/cpu/allocation_time": "the service's CPU allocation time",
    "run.googleapis.com/container/memory/allocation_time": "the service's memory allocation time",
    "run.googleapis.com/container/max_request_concurrencies": "the service's request concurrency",
    "run.googleapis.com/container/network/received_bytes_count": "the service's received byte count",
    "run.googleapis.com/container/network/sent_bytes_count": "the service's sent byte count",
    "vpcaccess.googleapis.com/connector/instances": "the connector's instance count",
    "vpcaccess.googleapis.com/connector/cpu/utilizations": "the connector's CPU utilization",
    "vpcaccess.googleapis.com/connector/received_bytes_count": "the connector's received byte count",
    "vpcaccess.googleapis.com/connector/sent_bytes_count": "the connector's sent byte count",
    "vpcaccess.googleapis.com/connector/received_packets_count": "the connector's received packet count",
    "vpcaccess.googleapis.com/connector/sent_packets_count": "the connector's sent packet count",
    "cloudsql.googleapis.com/database/cpu/utilization": "the database's CPU utilization",
    "cloudsql.googleapis.com/database/network/connections": "the database's connection count",
    "cloudsql.googleapis.com/database/postgresql/num_backends": "the database's backend count",
    "cloudsql.googleapis.com/database/network/received_bytes_count": "the database's received byte count",
    "cloudsql.googleapis.com/database/network/sent_bytes_count": "the database's sent byte count",
    "logging.googleapis.com/log_entry_count": "the count of log entries written",
    "logging.googleapis.com/byte_count": "the bytes of log entries written",
}
# Cloud Logging's system metrics of the entries written, by their level (`_LOG_COUNTS`): log_entry_count, "Number of
# log entries", and byte_count, their bytes, each labelled with the entry's `log` and `severity` (Cloud Monitoring,
# "Google Cloud metrics", logging section, cloud.google.com/monitoring/api/metrics_gcp_i_o#gcp-logging; "System-defined
# metrics", "Log-based metrics overview": "usage values such as the number of log entries"). The label names are
# UNCONFIRMED against a copy of the metric list: public alert policies and dashboards filter the count by
# `metric.labels.severity="ERROR"` on cloud_run_revision. Under the other reading (no such label) a filter on it selects
# no series and never fires, and a notification naming it is not sent. They are in `_ACTIVITY` too: a floor on them is
# fewer lines written, which a quiet hour gives.
_LOG_COUNTS = frozenset({"logging.googleapis.com/log_entry_count", "logging.googleapis.com/byte_count"})
# The levels of ordinary work, as code_filters reads a log match's (DEFAULT, a plain stdout or stderr line, not among
# them): LogSeverity, google/logging/type/log_severity.proto.
_QUIET_NAMES = frozenset({"DEBUG", "INFO", "NOTICE"})
_BELOW = frozenset({"COMPARISON_LT", "COMPARISON_LE"})
_ABOVE = frozenset({"COMPARISON_GT", "COMPARISON_GE"})

# "Days remaining until the SSL certificate expires" (GAUGE, DOUBLE, unit d, labels check_id and
# checker_location: Cloud Monitoring's metric list, "Google Cloud metrics", section monitoring; the Uptime checks
# docs' "Create an alerting policy for SSL certificate expiration" alerts when it falls under a number of days).
# A check may write it whatever its check_passed says: the certificate is still valid, and probes pass.
CERT_EXPIRES = "monitoring.googleapis.com/uptime_check/time_until_ssl_cert_expires"

_NOT_WRITTEN = "; it was diagnosed, and nothing was written: a person must decide on the change below"


def alert_hold(incident: Incident) -> str:
    """Why the alert itself holds back a write its diagnosis plans, before the gate is asked, or "": its policy's
    `runwarden` user label (shared/alerts/policy_labels.py), no present failure stated, or a selection of responses
    none of which a write answers (a 4xx alert: shared/alerts/response_selection.py). The alert path
    (shared/pipeline.py `policy_held`), `runwarden diagnose` and `runwarden eval` (cli/eval.py) ask the same."""
    return (policy_hold(incident.policy_user_labels, incident.policy_name) or unstated_failure(incident)
            or unselected_responses(incident))


def unstated_failure(incident: Incident) -> str:
    """Why the notification does not tie a present failure to its resource, so no write is made for it,
    or "" when it does (a threshold crossed now, a log entry matched, a query's condition met)."""
    why = _why(incident)
    return f"{why}{_NOT_WRITTEN}" if why else ""


def _why(incident: Incident) -> str:
    policy = f"policy {quoted(incident.policy_name)}"
    return next((why for form in _FORMS if (why := form(incident, policy))), "")


def _forecast(incident: Incident, policy: str) -> str:
    if not incident.forecast:
        return ""
    return (f"{policy} fired on a forecast (its condition's forecastOptions): a crossing of its threshold is "
            "predicted within the forecast horizon, not measured; no failure is stated, and its start is when the "
            "prediction held")


def _certificate(incident: Incident, policy: str) -> str:
    if incident.metric_type != CERT_EXPIRES:
        return ""
    host = incident.resource_labels.get("host", "")
    left = f"{incident.observed_value} days" if incident.observed_value else "the days"
    return (f"{policy} fired on the certificate of its uptime check's host{' ' + host if host else ''} running out "
            f"({left} left, under its threshold of {incident.threshold_value or 'unstated'}: uptime_check/"
            "time_until_ssl_cert_expires): an expiring certificate is no failure of the service, and no rollback "
            "nor connector change renews it; renew or replace the certificate the host is served with (a domain "
            "mapping's managed certificate, a load balancer's, Certificate Manager's)")


def _unsaid(incident: Incident, policy: str) -> str:
    if incident.condition_kind:
        return ""
    return (f"the notification of {policy} carries no condition kind (its `condition` is missing or abbreviated to "
            "a name): whether it measured a crossing now, predicted one (a forecast) or saw data stop (a metric "
            "absence) is not stated, so no present failure is")


def _absence(incident: Incident, policy: str) -> str:
    if incident.condition_kind != "absent":
        return ""
    return (f"{policy} fired on a metric absence (conditionAbsent): data that stopped arriving is not a failure "
            "of the service's requests (no callers, a writer that stopped, a changed route), and its start is when "
            "the data stopped")


def _missing_data(incident: Incident, policy: str) -> str:
    if incident.evaluation_missing_data.strip() not in _MISSING_DATA_ACTIVE:
        return ""
    return (f"the condition of {policy} is met while its data is missing (evaluationMissingData "
            "EVALUATION_MISSING_DATA_ACTIVE): the incident may have opened because its data stopped, not on a "
            "crossing")


def _slo_standing(incident: Incident, policy: str) -> str:
    selector = incident.slo_standing
    if not selector:
        return ""
    return (f"{policy} fires on an SLO's standing over its compliance period ({selector}: the error budget left, or "
            "the compliance reached, since the period began): a shortfall the period accumulated, perhaps days "
            "before, is no failure of the service now, and its start is when that standing crossed the bar, not when "
            "any failure began")


def _slow_burn(incident: Incident, policy: str) -> str:
    burn = incident.burn_lookback
    if burn is None:
        return ""
    written, seconds = burn
    if seconds is None:
        shown = f"lookback {quoted(written, 40)} is no duration" if written else "lookback is not stated"
        return (f"{policy} fires on an SLO's burn rate (select_slo_burn_rate) whose {shown} (the documented units are "
                "ns, us, ms, s, m and h): over how long the error budget's burn was measured, and so whether the "
                "service fails now, is not stated")
    if seconds <= FAST_BURN_LOOKBACK_SECONDS:
        return ""
    return (f"{policy} fires on an SLO's burn rate over a lookback of {_duration(seconds)} (select_slo_burn_rate, "
            f"{quoted(written, 40)}), a slow burn: the error budget spent over those hours stays over its bar for up to "
            f"{_duration(seconds)} after the failures stopped, and crosses it hours after they began, so no failure now "
            "is stated, and its start is not when any failure began (only a lookback of an hour at most, a fast burn, "
            "is read as the service now)")


# Aligners whose value is a point at the period's end, not a summary of the alignment period (ALIGN_NEXT_OLDER: "Align
# by moving the most recent data point before the end of the alignment period to the boundary at the end of the
# alignment period"; ALIGN_INTERPOLATE: "Align by interpolating between adjacent points around the alignment period
# boundary", Aggregation.Aligner, google-cloud-monitoring types/common.py): a long period does not make theirs a value
# over hours.
_POINT_ALIGNERS = frozenset({"ALIGN_NEXT_OLDER", "ALIGN_INTERPOLATE"})


def _long_alignment(incident: Incident, policy: str) -> str:
    """A threshold condition whose value aggregates more than an hour: "The alignment period is a look-back interval
    from a particular point in time" (Cloud Monitoring, "Behavior of metric-based alerting policies"), so a 5xx count
    or share over a day stays over its bar for up to a day after the failures stopped, and crosses it hours after a
    slow failure began: the slow burn's form, written as a metric threshold."""
    period = incident.alignment_seconds
    if (incident.condition_kind != "threshold" or period is None or period <= FAST_BURN_LOOKBACK_SECONDS
            or incident.aligner in _POINT_ALIGNERS):
        return ""
    return (f"{policy} compares {incident.aligner or 'its aggregation'} over an alignment period of {_duration(period)} "
            f"(a look-back of {_duration(period)}): its value stays over its bar for up to {_duration(period)} after the "
            "failures stopped, and crosses it hours after a slow failure began, so no failure now is stated, and its "
            "start is not when any failure began (an alignment period of an hour at most is read as the service now)")


# A PromQL range vector's or subquery's range: "Range vector literals work like instant vector literals, except that
# they select a range of samples back from the current instant ... a time duration is appended in square brackets";
# "Time durations are specified as a number, followed immediately by one of the following units: ms, s, m, h, d, w,
# y", and "can be combined, by concatenation" (Prometheus, "Querying basics"); a subquery is `[<range>:<resolution>]`.
# An `offset` moves a selector back in time by its duration ("The offset modifier allows changing the time offset for
# individual instant and range vectors in a query", same page: `http_requests_total offset 5m` is the value 5 minutes
# in the past): a value of hours ago, in whichever part of the query it is (a negative offset, forward, is not read).
# A duration may also be a bare number of seconds (`[300]`, `offset 86400`): Prometheus's current "Querying basics",
# "Float literals and time durations", reads a float literal where a duration goes as that many seconds; the 2.x copy
# of the page read has no such section (a unit is then required), and which form Cloud Monitoring's PromQL engine
# takes is UNCONFIRMED. Read as seconds either way: an engine that refuses the form fires nothing, one that takes it
# reads that many seconds back, so `[86400]` is a day's range in the only reading under which the condition fires
# (before, it was read as no range, and a day's 5xx acted as the service now).
_PROMQL_UNITS = {"ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, "y": 31536000.0}
_PROMQL_DURATION = r"(?:\d+(?:ms|s|m|h|d|w|y))+|\d*\.?\d+(?:[eE][+-]?\d+)?"
_PROMQL_RANGE = re.compile(rf"\[\s*({_PROMQL_DURATION})\s*(?::[^\]]*)?\]")
_PROMQL_OFFSET = re.compile(rf"\boffset\s+({_PROMQL_DURATION})(?![\w.])", re.IGNORECASE)
_PROMQL_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
# An `@` modifier pins a selector to a fixed time: "The @ modifier allows changing the evaluation time for individual
# instant and range vectors in a query. The time supplied to the @ modifier is a unix timestamp and described with a
# float literal" (Prometheus, "Querying basics": `http_requests_total @ 1609746000`). The value it reads is that
# instant's whatever time the condition runs, so, like an `offset` of hours, it states no failure now, however near the
# instant was when the policy was written. `@ start()` and `@ end()` are not pinned here: "For an instant query,
# start() and end() both resolve to the evaluation time" (same page), and an alerting condition is evaluated as one
# (UNCONFIRMED for Cloud Monitoring's PromQL, whose pages read name neither `@` nor start()/end()). A label value in
# quotes ("a@1") is no modifier, nor one in a comment (`_promql_syntax`: before, a quote in a comment, `# don't`, read
# as opening a string, hid an `@ 1609746000` after it, and the alert acted).
_PROMQL_AT = re.compile(r"@\s*([+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?)(?![\w.])")


def _longest_range(query: str) -> tuple[str, float] | None:
    """The longest range a PromQL query reads back (a range vector's or a subquery's range, an offset), as written
    (`[24h]`, `offset 1d`) and in seconds, or None when it reads none. A `[2h]` or `offset 1d` inside a quoted label
    value or a comment is none (`_promql_syntax`): before, it held an alert whose query reads five minutes. When no
    one range or offset is longer than an hour, the longest reach of a selector is: its range, its offset, and the
    range and offset of each subquery around it, summed (`x[50m] offset 50m` reads from 100 minutes back to 50;
    `max_over_time(rate(x[5m])[50m:1m] offset 30m)` from 85 back: before, each was read as under an hour
    and the value of an hour ago acted as the service now)."""
    query = _promql_syntax(query)
    single = _longest_single(query)
    if single is None or single[1] > FAST_BURN_LOOKBACK_SECONDS:
        return single
    windows, subqueries = _promql_windows(query)
    reaches = [(written + "".join(f" within {s_written}" for s_span, s_written, _ in subqueries
                                   if s_span[0] <= at < s_span[1]),
                seconds + sum(s_seconds for s_span, _, s_seconds in subqueries if s_span[0] <= at < s_span[1]))
               for at, written, _, seconds in windows]
    return max(reaches, key=lambda written_seconds: written_seconds[1])


def _longest_single(query: str) -> tuple[str, float] | None:
    """The longest one range or offset of `query` (already `_promql_syntax`), as written: `[24h]`, `offset 1d`."""
    found = [(f"[{m.group(1)}]", m.group(1)) for m in _PROMQL_RANGE.finditer(query)]
    found += [(f"offset {m.group(1)}", m.group(1)) for m in _PROMQL_OFFSET.finditer(query)]
    ranges = [(written, _promql_seconds(duration)) for written, duration in found]
    return max(ranges, key=lambda written_seconds: written_seconds[1]) if ranges else None


# What a PromQL query at Cloud Monitoring's parity, Prometheus 2.44 ("PromQL compatibility", Managed Service for
# Prometheus: "Other than the differences listed in this document, the PromQL in Managed Service for Prometheus is at
# parity with the PromQL available in Prometheus version 2.44"; the same engine answers PromQL in Cloud Monitoring, the
# "PromQL in Cloud Monitoring" page linking to it: that the alerting conditions' engine is that one is UNCONFIRMED),
# writes in a range's brackets: a duration (a range), or a duration, `:` and an optional duration (a subquery's range
# and resolution, "Querying basics", "Subquery": `<instant_query> '[' <range> ':' [<resolution>] ']'`).
_PROMQL_WINDOW = re.compile(rf"\s*({_PROMQL_DURATION})\s*(?::\s*(?:{_PROMQL_DURATION})?\s*)?")
_PROMQL_BRACKET = re.compile(r"\[([^\[\]]*)\]")
# The modifiers after a selector or subquery, in either order ("Querying basics": "offset is applied relative to the
# @ modifier time irrespective of which modifier is written first"): `@` a time, `start()` or `end()`; `offset` a
# duration, negative "for comparisons with temporal shifts forward in time" (which reads no further back: not added).
_PROMQL_MODIFIER = re.compile(
    rf"\s*(?:@\s*(?:[+-]?\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|(?:start|end)\s*\(\s*\))|offset\s+(-?)\s*({_PROMQL_DURATION}))"
    r"(?![\w.(])", re.IGNORECASE)
# A range, offset or `@` written otherwise: Prometheus 3's duration expressions (`[5m * 2]`, `[1h+5m]`, `offset (1h)`,
# `[step()]`: "Duration expressions", Prometheus 3.x "Querying basics", experimental, behind the flag
# `promql-duration-expr`), which Prometheus 2.44 does not parse (whether Cloud Monitoring refuses them or reads them
# is UNCONFIRMED), an `@` of anything but a time, start() or end(). How far back such a query reads is not read: it is
# held (`_unread_time`), never read as no range (a day's 5xx acting as now). Arithmetic after an offset's duration is
# the value's, not the offset's, in both versions: "When using offset with a duration expression, you must wrap the
# expression in parentheses. Without parentheses, only the first duration value is used in the offset calculation"
# (same page), and 2.44's grammar reads `offset` followed by one duration (`x offset 5m * 2` is `(x offset 5m) * 2`;
# before, it was held as an offset not read).
_PROMQL_OFFSET_WORD = re.compile(r"\boffset\b", re.IGNORECASE)
_PROMQL_AT_SIGN = re.compile(r"@")
# Where `offset` is a label's name, not the modifier: inside a selector's braces (`x{offset="a"}`: "label_matcher:
# IDENTIFIER match_op STRING", the lexer reading no keyword inside braces) and in the label list of a grouping or a
# vector match (`sum by (offset)`, `without`, `on`, `ignoring`, `group_left`, `group_right`: "grouping_label:
# maybe_label", which lists OFFSET; Prometheus's promql/parser/generated_parser.y). Before, each was held as an offset
# not read. A metric named `offset` (`metric_identifier` lists OFFSET too) is still held: no duration follows it.
_PROMQL_LABEL_LISTS = re.compile(
    r"\{[^{}]*\}|\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^()]*\)", re.IGNORECASE)


def _promql_windows(query: str) -> tuple[list[tuple[int, str, float, float]],
                                              list[tuple[tuple[int, int], str, float]]]:
    """Each range and offset of `query` (`_promql_syntax`'s text): (where, as written, its own seconds, its seconds with
    its selector's offset), and each subquery's span of the query it reads, as written, and its range and offset in
    seconds. A bracket not read (`_unread_time`) is left out."""
    windows, subqueries, consumed = [], [], set()
    for bracket in _PROMQL_BRACKET.finditer(query):
        window = _PROMQL_WINDOW.fullmatch(bracket.group(1))
        if window is None:
            continue
        seconds = _promql_seconds(window.group(1))
        offset, written, at = 0.0, f"[{window.group(1)}]", bracket.end()
        while (modifier := _PROMQL_MODIFIER.match(query, at)) is not None:
            if modifier.group(2) and not modifier.group(1):
                offset += _promql_seconds(modifier.group(2))
                written += f" offset {modifier.group(2)}"
            if modifier.group(2):
                consumed.add(modifier.start() + modifier.group(0).lower().index("offset"))
            at = modifier.end()
        windows.append((bracket.start(), written, seconds, seconds + offset))
        span = _subquery_span(query, bracket.start()) if ":" in bracket.group(1) else None
        if span is not None:
            subqueries.append((span, f"[{bracket.group(1).strip()}]" + written[len(f"[{window.group(1)}]"):],
                               seconds + offset))
    for found in _PROMQL_OFFSET.finditer(query):
        if found.start() not in consumed:
            seconds = _promql_seconds(found.group(1))
            windows.append((found.start(), f"offset {found.group(1)}", seconds, seconds))
    return windows, subqueries


def _subquery_span(query: str, bracket: int) -> tuple[int, int] | None:
    """The span of the expression a subquery's bracket at `bracket` reads, when it is parenthesised (`rate(x[5m])[1h:]`:
    the ranges inside it read back from each of its steps), else None (a selector's own subquery, `x[1h:1m]`)."""
    end = len(query[:bracket].rstrip())
    if end == 0 or query[end - 1] != ")":
        return None
    depth = 0
    for i in range(end - 1, -1, -1):
        depth += {")": 1, "(": -1}.get(query[i], 0)
        if depth == 0:
            return i, end
    return None


def _unread_time(query: str) -> str:
    """The first range, offset or `@` of a PromQL query written in a form Runwarden does not read (`_PROMQL_WINDOW`,
    `_PROMQL_MODIFIER`), as written, or "": such a query may read hours back, or a fixed time, and is held."""
    query = _promql_syntax(query)
    for bracket in _PROMQL_BRACKET.finditer(query):
        if _PROMQL_WINDOW.fullmatch(bracket.group(1)) is None:
            return f"[{bracket.group(1).strip()[:40]}]"
    modifiers = _PROMQL_LABEL_LISTS.sub(lambda m: " " * len(m.group(0)), query)   # positions kept
    for word in list(_PROMQL_OFFSET_WORD.finditer(modifiers)) + list(_PROMQL_AT_SIGN.finditer(modifiers)):
        if _PROMQL_MODIFIER.match(query, word.start()) is None:
            return " ".join(query[word.start():word.start() + 24].split())
    return ""


def _promql_seconds(duration: str) -> float:
    """A PromQL duration in seconds: units concatenated (`1h30m`), or a bare number of seconds (`_PROMQL_DURATION`)."""
    parts = _PROMQL_PART.findall(duration)
    return sum(int(n) * _PROMQL_UNITS[unit] for n, unit in parts) if parts else float(duration)


def _pinned_time(query: str) -> str:
    """The first `@ <timestamp>` of a PromQL query as written (`@ 1609746000`), or "" when it pins none."""
    found = _PROMQL_AT.search(_promql_syntax(query))
    return f"@ {found.group(1)}" if found else ""


_MQL_KIND = "conditionMonitoringQueryLanguage"
# An MQL duration: a number and its unit, as MQL writes one in every copy of Google's pages read (`align delta(1h)`,
# `next_older(10m)`, `group_by sliding(1h)`, `every 30s`, `within 5m`: "Sample MQL queries", "Best practices for MQL
# alerting policies", "Troubleshoot MQL alerting policies"; `align delta(1d) | every 1d` in public dashboards and
# policies). Which units MQL takes beyond s, m, h and d, and whether it concatenates them (`1h30m`), is UNCONFIRMED: the
# MQL reference's own section on durations was not in the copies read, so PromQL's units (and ns, us) are read, and
# their concatenation, which reads a longer window, never a shorter one. A quoted text ('1/s', '5xx') is no duration,
# nor a number inside a name (k8s_container).
_MQL_UNITS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}
_MQL_DURATION = re.compile(r"(?<![\w.:/])((?:\d+(?:\.\d+)?(?:ns|us|ms|s|m|h|d|w))+)(?!\w)")
_MQL_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|ms|s|m|h|d|w)")
# The MQL operations whose duration is no window read back: a point at a time (the `next_older` and `interpolate`
# aligners, as ALIGN_NEXT_OLDER and ALIGN_INTERPOLATE are: `_POINT_ALIGNERS`), and a metric absence (`absent_for`,
# said by `_query`). Every other duration is read as a window: an aligner's (`align delta(1d)`), `window`, `sliding`, a
# temporal `group_by`, which bound what the value aggregates; a `time_shift`, which moves a table back by its duration
# (a value of hours ago, PromQL's `offset`; beside the table now, as in a comparison with last week, which side fired
# is not stated); and `every`. "If you save an alerting policy with an MQL query that uses a different value for the
# every operation, then Cloud Monitoring still uses a value of 30 seconds" ("Best practices for MQL alerting
# policies"), and which window an aligner with none of its own then takes (the 30 s, or the period written) is
# UNCONFIRMED: an `every` of hours is read as a window of hours, the reading that never acts on a value over hours.
_MQL_NO_WINDOW = re.compile(r"\b(?:next_older|interpolate|absent_for)\s*\(?\s*$")


def _longest_mql_window(query: str) -> tuple[str, float] | None:
    """The longest window an MQL query aggregates over or is computed every, as written and in seconds, or None."""
    text = mql_text(query)
    windows = [(found.group(1), sum(float(n) * _MQL_UNITS[unit] for n, unit in _MQL_PART.findall(found.group(1))))
               for found in _MQL_DURATION.finditer(text) if not _MQL_NO_WINDOW.search(text[:found.start()])]
    return max(windows, key=lambda written_seconds: written_seconds[1]) if windows else None


def _long_range(incident: Incident, policy: str) -> str:
    """A query condition that reads a range of more than an hour back: the slow burn's form, written in PromQL
    (`increase(...[1d])`, `rate(...[24h])`, `offset 1d`, or a value pinned to a fixed time, `@ 1609746000`) or in MQL (`align delta(1d)`, `group_by sliding(6h)`, `window
    2h`, `every 2h`, `time_shift 1d`). Held whichever part of the query the range is in (a day's volume beside a
    5-minute share, say): which part of the query fired is not stated."""
    if incident.condition_kind != "other":
        return ""
    query = incident.condition_filter
    mql = _MQL_KIND in incident.condition_kinds or is_mql(query)
    unread = "" if mql else _unread_time(query)
    if unread:
        return (f"the query of {policy} writes a range, offset or @ Runwarden does not read ({unread}; PromQL at "
                "Prometheus 2.44's parity writes a duration there): how far back, or at which time, it reads is not "
                "read, so no failure now is stated")
    pinned = "" if mql else _pinned_time(query)
    if pinned:
        return (f"the query of {policy} reads a value pinned to a fixed time ({pinned}): the same instant's value "
                "whenever the condition runs, so no failure now is stated, and its start is not when any failure began")
    longest = _longest_mql_window(query) if mql else _longest_range(query)
    if longest is None or longest[1] <= FAST_BURN_LOOKBACK_SECONDS:
        return ""
    written, seconds = longest
    shown = (f"a window of {_duration(seconds)} ({written}, MQL)" if mql
             else f"a range of {_duration(seconds)} back ({written})")
    return (f"the query of {policy} reads {shown}: a value over those hours stays over its bar for up to "
            f"{_duration(seconds)} after the failures stopped, and crosses it hours after a slow failure began, so no "
            "failure now is stated, and its start is not when any failure began (a range or window of an hour at most "
            "is read as the service now)")


# AlertPolicy.Condition.SqlCondition (google-cloud-monitoring, types/alert.py): "SQL conditions examine a sliding window
# of logs using GoogleSQL"; its query "receives all rows received since the last time the query was run", on a schedule
# of `minutes` (5 to 1440), `hourly` (1 to 48) or `daily` (1 to 31). Which resource its notification names, if any, is
# UNCONFIRMED (no sample).
_SQL_KIND = "conditionSql"


def _sql_window(incident: Incident, policy: str) -> str:
    """A SQL condition that runs less often than hourly: each run reads the log rows since the one before, hours of
    them, and its incident opens when the run came, not when anything failed: the slow burn's form, written in SQL. One
    whose schedule is not stated (dropped by a relay) may be that too."""
    if incident.condition_kind != "other" or _SQL_KIND not in incident.condition_kinds:
        return ""
    seconds = incident.sql_schedule_seconds
    if seconds is None:
        return (f"{policy} is a SQL condition (conditionSql) whose schedule (minutes, hourly or daily) is not stated: "
                "each run reads the log rows since the run before, so over how long, and whether the service fails "
                "now, is not stated")
    if seconds <= FAST_BURN_LOOKBACK_SECONDS:
        return ""
    return (f"{policy} is a SQL condition run every {_duration(seconds)} (conditionSql): each run reads the log rows of "
            f"the {_duration(seconds)} since the run before, so its rows may be hours old, no failure now is stated, and "
            "its start is when the run came, not when any failure began (a schedule of an hour at most is read as the "
            "service now)")


def _duration(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours:g} h" if hours < 48 else f"{hours / 24:g} days"


def _activity_floor(incident: Incident, policy: str) -> str:
    # An SLO condition's `metric` is not what it compares (only its filter, a time-series selector, is used: Cloud
    # Monitoring, "Creating an alerting policy"; which metric its notification names is UNCONFIRMED): an SLI under
    # its goal (select_slo_health) named beside request_count is no floor on the volume of requests.
    floor = _floor_words(incident.measured_metric_type)
    if (floor is None or incident.comparison in _ABOVE or incident.is_ratio or incident.condition_kind != "threshold"
            or "select_slo_" in incident.condition_filter):
        return ""
    what, why, failing = floor
    bar = f" {incident.threshold:g}" if incident.threshold is not None else ""
    if incident.comparison not in _BELOW:
        # None (COMPARISON_UNSPECIFIED, which ProtoJSON omits), EQ, NE, a number of no ComparisonType: "Only
        # COMPARISON_LT and COMPARISON_GT are supported currently" (MetricThreshold.comparison, google-cloud-monitoring
        # types/alert.py), so the notification came through something that dropped or rewrote it, and a floor is
        # not ruled out.
        shown = incident.comparison or "no comparison"
        return (f"{policy} compares {what} with a bar{bar} but its condition's comparison ({shown}) "
                f"does not say whether it fires on a rise or a fall: a floor on {_volume(what)} ({why}) is not ruled "
                f"out, and is no failure of {failing}")
    falls = "fall" if what == "the service's requests" else "drops"
    return (f"{policy} fires when {what} {falls} below a floor ({incident.comparison}{bar}): {_fewer(what)} ({why}) is "
            f"no failure of {failing}")


def _floor_words(metric_type: str) -> tuple[str, str, str] | None:
    """What a floor on `metric_type` is on, why it falls without a failure, and what it is no failure of; None when
    `metric_type` is no activity metric (`_ACTIVITY`)."""
    if metric_type == _REQUEST_COUNT:
        return "the service's requests", "callers gone, a route changed", "the requests that come"
    what = _ACTIVITY.get(metric_type)
    if what is None:
        return None
    scaled = ", a service scaled to zero" if metric_type.startswith("run.googleapis.com/") else ""
    return f"{what} ({metric_type})", f"callers gone, a quiet hour{scaled}", "the work that comes"


def _volume(what: str) -> str:
    return "the volume of requests" if what == "the service's requests" else what


def _fewer(what: str) -> str:
    return "fewer requests" if what == "the service's requests" else "less work"


def _query(incident: Incident, policy: str) -> str:
    said = _query_form(incident.condition_filter) if incident.condition_kind == "other" else ""
    return f"the query of {policy} {said}: no present failure is stated" if said else ""


def _another_condition(incident: Incident, policy: str) -> str:
    doubt = incident.condition_doubt
    if not doubt or doubt == incident.threshold_disagreement:
        return ""
    if doubt == incident.labels_doubt:
        return doubt
    return (f"{doubt} ({policy}): the condition that fired may be another one (a forecast, an absence, another "
            "resource's), so no present failure of this resource is stated")


def _audited(incident: Incident, policy: str) -> str:
    """A log match on audit log entries of changes (code_filters.audited_only): a change notification, not a failure."""
    terms = audited_only(incident.condition_filter) if incident.condition_kind == "log_match" else ()
    if not terms:
        return ""
    return (f"{policy} matched audit log entries of changes (its log-match condition's filter selects them by "
            f"{', '.join(quoted(t, 100) for t in terms)}): Admin Activity or System Event entries of calls that "
            "modify a resource's configuration or metadata (a deploy, a traffic or IAM change, a revision's "
            "readiness), not the service's failing requests, so no present failure is stated, and its start is "
            "when the change was recorded")


def _quiet(incident: Incident, policy: str) -> str:
    """A log match that positively selects entries below WARNING, DEFAULT excluded, naming no failure
    (code_filters.quiet_only): the service's ordinary work, not a failure."""
    terms = quiet_only(incident.condition_filter) if incident.condition_kind == "log_match" else ()
    if not terms:
        return ""
    return (f"{policy} matched log entries below WARNING (its log-match condition's filter lets through only "
            f"{quiet_levels(incident.condition_filter)} entries, by {', '.join(quoted(t, 60) for t in terms)}, in "
            f"{quoted(incident.condition_filter, 160)}) and names no failure (no DEFAULT entry, which a plain "
            "stdout or stderr line is; each other term a text compared or searched for naming no failure: no level, "
            "status, code or latency compared, no number, no regular expression, no negated term): what it counts is "
            "the service's ordinary work (a cache warmed, a job done, a start-up), not its failing requests, so no "
            "present failure is stated, and its start is when such a line was written")


def _quiet_count(incident: Incident, policy: str) -> str:
    """A threshold on the count (or bytes) of log entries written (`_LOG_COUNTS`), compared upward, whose crossed series
    or filter selects only DEBUG, INFO or NOTICE entries, or a PromQL or MQL condition counting them so
    (code_filters.query_quiet_levels): the metric form of a log match `_quiet` holds, the service's
    ordinary work counted. A ratio's numerator is its filter: a share of quiet lines rising says no failure either. A
    series or filter naming no level, DEFAULT, WARNING or above, or a comparison not read, takes the usual path (before,
    "backend INFO lines above 1000 a minute" rolled back a deploy, or proposed a connector change, whenever the live
    evidence showed one failing)."""
    if incident.condition_kind == "other":
        levels = query_quiet_levels(incident.condition_filter)
        return (f"the query of {policy} counts log entries below WARNING (Cloud Logging's entries written, its "
                f"numerator's severity letting through only {levels}, in {quoted(incident.condition_filter, 160)})"
                f"{_QUIET_WORK}") if levels else ""
    if (incident.condition_kind != "threshold" or incident.comparison not in _ABOVE
            or incident.measured_metric_type not in _LOG_COUNTS):
        return ""
    crossed = str(incident.metric_labels.get("severity", "")).strip()
    if crossed:
        if crossed.upper() not in _QUIET_NAMES:
            return ""
        where = f"its series' metric.labels (severity {crossed!r})"
    else:
        levels = metric_quiet_levels(incident.condition_filter)
        if not levels:
            return ""
        where = f"its condition's filter, which lets through only {levels} entries ({quoted(incident.condition_filter, 160)})"
    return f"{policy} counts log entries below WARNING ({incident.measured_metric_type}, as {where}){_QUIET_WORK}"


_QUIET_WORK = (": what it counts is the service's ordinary work (requests served, a job done, a start-up), as a log "
               "match of those levels does, not its failing requests, so no present failure is stated, and its start "
               "is when such lines grew")


def _extracted_elsewhere(incident: Incident, policy: str) -> str:
    """A log match whose extracted labels name another service or revision than its resource
    (shared/alerts/extracted_labels.py): the entries matched were about that one. Before, the resource's service was
    rolled back on them."""
    if incident.condition_kind != "log_match":
        return ""
    pinned = selected_value(incident.condition_filter, "service_name") or _pinned_by_revision(incident)
    found = contradicting(incident.label_extractors, carried(incident), incident.resource_labels, pinned)
    if not found:
        return ""
    named = "; ".join(f"{key!r} ({quoted(incident.label_extractors[key], 60)}) is {quoted(value, _SHOWN_VALUE)}, the "
                      f"resource's {label} {own!r}" for key, label, value, own in found)
    return (f"the log entries {policy} matched name another Cloud Run service or revision than the notification's "
            f"resource in the labels its condition extracts (labelExtractors, as the notification carries them in "
            f"log.extracted_labels or metric.labels: {named}): the match is about what the entries name, so no "
            "present failure of the resource is stated")


def _pinned_by_revision(incident: Incident) -> str:
    """The resource's service when the log match's filter selects the resource's own revision by
    `resource.labels.revision_name` (its entries are that revision's, so the service's own), else ""."""
    revision = str(incident.resource_labels.get("revision_name", "")).strip()
    pinned = selected_value(incident.condition_filter, "revision_name")
    return str(incident.resource_labels.get("service_name", "")).strip() if revision and pinned == revision else ""


_SHOWN_VALUE = 120   # an extracted value is the application's text: shown to this length


_FORMS = (_certificate, _forecast, _unsaid, _absence, _missing_data, _slo_standing, _slow_burn, _long_alignment, _activity_floor,
          _query, _long_range, _sql_window, _audited, _quiet, _quiet_count, _extracted_elsewhere, _another_condition)


def _query_form(query: str) -> str:
    """What a query condition's forecast or absence call says of it, "" when it has none."""
    if _QUERY_FORECAST.search(query):
        return "is a forecast (PromQL predict_linear): a value predicted ahead, not measured"
    found = _QUERY_ABSENCE.search(query)
    if found:
        return (f"fires on a metric absence ({found.group(0).strip(' (|')}): data that stopped arriving, not a "
                "failure of the service's requests")
    return ""
