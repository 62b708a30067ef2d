"""What `healthy` may be judged against for one alert: the alert's own condition, as far as the
health check can see it. Pure, no I/O.

The health check reads the service's request_count (5xx and 429 share) and request_latencies
(p99). "Healthy" means the alert's condition no longer holds on live data, so it may be said only
when the alert's condition is about those two things, and only at a bar no looser than the
alert's own:
- a request_count alert on the share of failures (a ratio condition: a denominatorFilter, or a
  PromQL or MQL 5xx share of the same requests, Incident.is_ratio; a query condition is not
  judged, below): judged;
  a ratio threshold below `healthy_error_ratio` is the bar (a policy that pages at 0.5 % has said
  0.5 % matters; one that pages over 0, that any 5xx or 429 does);
- a request_count alert on a number of 5xx (a threshold of 1 or more: a rate per second or a count
  per alignment period, which the notification does not tell apart): judged, and the 5xx and 429
  counted over the whole recent window must not exceed the threshold (that sum is at least the
  per-minute count and the per-second rate, so it holds the bar under either reading; a count per
  alignment period longer than the window, ALIGN_DELTA or ALIGN_SUM over 5 minutes or an hour, is
  scaled to the window's part of the period, `HealthBar.count_allowed`; over a period the notification
  does not state, none may remain: an hour's count is not bounded by a few minutes' sum); a number
  of requests of any class above a threshold is a volume alert: not judged; a threshold below 1
  with no denominator is a number too when the condition names its aligner (0.1 5xx a second under
  ALIGN_RATE is 0.5 % of 6,000 requests a minute, under the share called clean; 0 is "any 5xx"):
  the window's 5xx and 429 must not exceed 60 times a rate (ALIGN_RATE) or the count (any other);
  with no aggregation in the notification such a threshold is not judged: a share, a rate or a
  count, its unit is not stated (a share only from a ratio condition: AlertContext.ratio);
- a request_count alert on a drop in requests (COMPARISON_LT) or on 4xx: not judged (volume and
  client errors are not what the check reads), nor one under ALIGN_PERCENT_CHANGE (a change between
  periods: 4 5xx becoming 10 is +150 %, not 150 5xx), nor one whose aggregation makes no count nor share of
  requests (ALIGN_COUNT, a number of points; ALIGN_STDDEV; the GAUGE aligners ALIGN_NEXT_OLDER and
  ALIGN_INTERPOLATE; REDUCE_COUNT, REDUCE_STDDEV, the BOOL reducers; a ratio reduced by anything but
  REDUCE_SUM, a quotient of means or maxima: `share_of_requests`); a share whose trigger asks several series
  finer than the service, or, with no trigger or {count: 1}, any one series whose denominator is finer than the
  service by a label the health check does not read (a route; a revision the notification does not name:
  `_share_per_series`); a share or a count whose numerator counts anything but
  5xx and 429 (`counts_only_server_errors`: non-2xx, `one_of("4xx", "5xx")`, 3xx, a code compared by a
  regular expression; `!=`, the ordered comparisons and NOT are read, `numerator_codes`) is not judged either, nor a share whose denominatorFilter selects by
  response code (5xx over 2xx is a larger share than over all requests) or counts another metric, nor one
  whose denominatorAggregations align otherwise than its numerator or reduce by anything but REDUCE_SUM
  (`_denominator_unread`); a share whose denominatorAggregations combine no series or keep a response-code
  label is judged only with no 5xx nor 429 left (`denominator_per_code`: each 5xx series may be divided by
  its own class's series, 1 while it has a point), and lends no bar to a rule;
- a request_latencies alert above a threshold: judged, the threshold (in ms, the metric's unit:
  a third-party copy, dynatrace-gcp-monitor cloud_run_revision.yml: DISTRIBUTION, ms; UNCONFIRMED) is the p99
  bar when below `hang_latency_seconds`; without a threshold: not judged; and judged only when the condition's
  value is a percentile of the 99th or below (`_percentile_value`), which the p99 read bounds: a
  mean (ALIGN_MEAN) is pulled over its threshold by a tail of less than 1 % that p99 never shows
  (0.5 % of requests at 60 s is a 0.3 s mean under a 0.1 s p99), and a sum across series
  (REDUCE_SUM) exceeds every series' own p99; and judged on the p99 of all requests only when the
  condition measures all of them (`latency_codes`): one whose filter or violating series selects a
  response class or code (2xx, 200, `!= "5xx"`, a regular expression) is not judged, as fast answers
  of other classes hold the p99 of all under its bar while its own stay slow; one on 5xx (or 429)
  alone is judged only with none of them left in the window (`error_count` 0);
- a threshold condition whose comparison says no side of its threshold (none, COMPARISON_EQ, _NE,
  _UNSPECIFIED, a number of no ComparisonType): not judged; a `request_count` aligner that is no
  Aggregation.Aligner: not judged either (a condition's enums written by number, as Google's Python
  clients write them, are read as their names when the notification is parsed: incidents._enum_named);
  a condition's aggregations are read as the chain they make (incidents._chained): an aligner, then a
  reducer, is that pair; a later aligner or a second reducer is no aligner or reducer read here;
- a notification with no `condition`: not judged (whether it fires above or below its threshold,
  what its filter counts and how it aggregates are not stated: a success ratio under 0.99 would
  read as a 5xx share of 0.99);
- a notification whose parts name different conditions (`condition_name` not its `condition`'s
  displayName, a `metric` or a resource type its condition's filter does not name:
  Incident.condition_doubt): not judged (in a policy of several conditions its bar and value may
  each be another condition's);
- an MQL, PromQL or SQL condition: not judged (its comparison is inside the query);
- an SLO condition (`select_slo_burn_rate(...)` in its filter): not judged (it measures an error
  budget's burn, whatever metric its notification names);
- a metric-absence condition: not judged (it fires when data stops: a drop in traffic at its far
  end); a forecast condition (MetricThreshold.forecast_options): not judged (its threshold is
  predicted to be crossed, not crossed now);
- a log-match alert: not judged (it fires on log entries; clean requests do not show they stopped);
- a threshold condition that evaluates missing data as met (EVALUATION_MISSING_DATA_ACTIVE): not judged (its
  incident may have opened, and stays open, on no data: clean requests show no breach, not its condition
  cleared);
- any other metric (memory, CPU, instance count, a log-based or custom metric): not judged.
The condition's form decides on every resource, not on Cloud Run revisions alone: a forecast, a
notification with no condition or whose parts name different conditions, a query (MQL, PromQL, SQL),
an SLO, a metric-absence or a log-match condition is not judged on a connector, an uptime check or a
Cloud SQL instance either (database/up's absence apart: the evidence reads that series back itself).
Alerts on a connector are judged on their users' requests as before: that verdict is about the
users, and says so (scope.combine); a busy connector whose services serve cleanly needs nothing. A
connector condition that fires below its threshold (throughput or instances fallen: traffic that
stopped crossing it) is not judged: its users' clean requests do not show it crossing again. A
forecast is not judged on any resource: a connector predicted to saturate is not busy yet.
An alert on a Cloud SQL instance measures the instance, which its users' clean requests do not
show (a cache, a path that seldom reads, a quiet hour): `database/up` is judged only when that
series (which the evidence reads) stayed at 1 over the minutes judged, every minute reported
(Facts.sql_gaps), besides the users' requests
(`sql_up_needed`); any other Cloud SQL metric (connections, CPU, disk, memory, replication) is not
read, so its alert is not judged.
An uptime check (resource `uptime_url`, or an uptime check metric on the service's own
`cloud_run_revision`, a check created on the service) probes the service from outside, and can fail where the
service never sees it: DNS, the certificate, a domain mapping, a load balancer, a probe path that is
a small share of the traffic. So its alert is judged on the service's requests only when they showed
a failure around the incident's start (a minute's 5xx and 429 above the bar and above every minute
of the lookback before, not the usual background; or a p99 at the hang bar) that has since cleared
(`saw_failure_needed`, diagnose._failure_seen), or when the check's own results (monitoring.googleapis.com/
uptime_check/check_passed, shared/diagnosis/check_results.py) pass since from every checker location that
reported; a check that failed while the service's own requests were clean throughout, with no such results,
is not judged: the failure may be outside what Runwarden reads. Either way a result false in the minutes
judged, or neither a result nor a probe's line in the request log, is no `healthy`
(request_callers.uptime_still_failing).
An uptime check's certificate alert (uptime_check/time_until_ssl_cert_expires, the days left before the
certificate its probes are answered with expires) is not judged: the certificate is still valid, the check
passes, and the service's requests are clean while it runs out (shared/alerts/present_failure.py holds every
write for it too).
An evidence bundle with no alert (the verification sweep, a diagnosis from the CLI) is judged on
the settings' defaults.
An alert that names a revision is judged on that revision's requests too (diagnose._healthy): the
bar here is the same, the series it applies to is the revision's as well as the service's.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace

from shared.alerts.code_filters import ALL as ALL_CODES, code_words, exact_metric_codes
from shared.alerts.present_failure import CERT_EXPIRES
from shared.alerts.ratio_query import ratio_query_covers_504
from shared.alerts.response_selection import CODE_TERM as _CODE_TERM
from shared.alerts.response_selection import SERVER_FAILURE as _SERVER_CODE
from shared.config import DiagnosisSettings
from shared.diagnosis.evidence import CONDITION_UNSTATED, AlertContext

REQUEST_COUNT = "run.googleapis.com/request_count"
REQUEST_LATENCIES = "run.googleapis.com/request_latencies"
SQL_UP = "cloudsql.googleapis.com/database/up"
SQL_RESOURCE = "cloudsql_database"
# Resource types whose alerts are about the service itself (Cloud Monitoring's monitored resource list).
_SERVICE_RESOURCES = frozenset({"cloud_run_revision"})
UPTIME_RESOURCE = "uptime_url"
# An uptime check's own metrics (check_passed, request_latency, content_mismatch, ...: Cloud Monitoring's
# metric list, monitoring.googleapis.com/uptime_check/). A check may probe the Cloud Run service itself
# rather than a URL (UptimeCheckConfig.monitored_resource: "The following monitored resource types are
# valid for this field: uptime_url, gce_instance, gae_app, aws_ec2_instance, aws_elb_load_balancer
# k8s_service servicedirectory_service cloud_run_revision", Monitoring v3 REST reference,
# projects.uptimeCheckConfigs); its series then on cloud_run_revision is UNCONFIRMED (no sample), and
# either way it is judged as a check on the service's URL is.
UPTIME_METRICS = "monitoring.googleapis.com/uptime_check/"
CONNECTOR_RESOURCE = "vpc_access_connector"
_BELOW = frozenset({"COMPARISON_LT", "COMPARISON_LE"})
_SIDED = _BELOW | {"COMPARISON_GT", "COMPARISON_GE"}
# A condition filter that selects server errors: response_code_class "5xx", or a 5xx response_code.
_SERVER_ERRORS = re.compile(r"response_code_class\W{1,6}5xx|response_code\W{1,6}5\d\d", re.IGNORECASE)
# A condition filter that selects client errors: `metric.label.response_code_class="4xx"` (or
# one_of(...)), MQL `response_code_class == '4xx'`, or a 4xx response_code other than 429.
_CLIENT_ERRORS = re.compile(r"response_code_class\W{1,6}4xx|response_code\W{1,6}4(?!29)\d\d", re.IGNORECASE)


@dataclass(frozen=True)
class HealthBar:
    """Whether `healthy` can be judged for the alert, and at which bars; `why_not` says why not."""

    judged: bool
    error_ratio: float        # the 5xx-or-429 share at or below which requests are clean
    p99_seconds: float        # the p99 below which requests are fast
    source: str = "settings"  # where the bars come from, for the evidence
    why_not: str = ""
    error_count: float | None = None   # the most 5xx-or-429 the recent window may hold (a count alert)
    # The seconds `error_count` is a count over, when longer than a minute (a count of 5xx per alignment
    # period: ALIGN_DELTA, ALIGN_SUM); None: the whole window read (`count_allowed`).
    count_seconds: float | None = None
    # `error_count` bounds each minute's 5xx and 429 rather than the window's sum (`per_minute_bar`): the
    # condition's value is a rate, a minute's count or a statistic of minute counts, which no minute over
    # the bar can push over the threshold. False: the window's sum is held to it (`count_allowed`).
    per_minute: bool = False
    # Judged only if the service's own requests showed a failure around the incident's start (an
    # uptime check: see the module docstring); `why_not` then says why, should they not.
    saw_failure_needed: bool = False
    # Judged only if Cloud SQL's database/up stayed at 1 over the minutes judged (a database/up
    # alert on the instance); `why_not` then says why, should it not.
    sql_up_needed: bool = False
    # An uptime check's alert: its checker's probes must be read in the request log, and one answered this
    # slow or slower may have failed the check (`uptime_probe_seconds`; request_callers.uptime_still_failing).
    probe_seconds: float | None = None

    def count_allowed(self, seconds: float) -> float | None:
        """The most 5xx and 429 a window of `seconds` may hold (None: no count bar). A count per period longer
        than the window is scaled to the window's part of it: the condition compares the period's count, which
        a steady 3 5xx a minute makes 15 over 5 minutes, 180 over an hour, while the few minutes read hold 9.
        Read against the whole count, "over 50 5xx an hour" was cleared by 3 a minute. So the window's 5xx may
        come at most at the condition's pace; minutes of the period before the window (failures before the
        fix, ageing out of it) are not read, as for any other condition judged on the newest minutes."""
        if self.error_count is None or self.count_seconds is None or seconds >= self.count_seconds:
            return self.error_count
        return self.error_count * seconds / self.count_seconds


def health_bar(alert: AlertContext | None, s: DiagnosisSettings) -> HealthBar:
    default = HealthBar(True, s.healthy_error_ratio, s.hang_latency_seconds)
    if alert is None:
        return default
    # The condition's form first, whatever resource it is on: a connector's, an uptime check's or a Cloud
    # SQL instance's alert is judged on its users' requests (or database/up) only when its condition is a
    # plain threshold the notification states. Checked for Cloud Run revisions alone, a connector alert
    # whose metric stopped reporting (metric absence), whose condition was a query, or whose notification
    # lost its condition or named another condition's parts was `healthy` on clean users, and skipped.
    unread = _form_not_judged(alert, s)
    if unread is not None:
        return unread
    if alert.metric_type == CERT_EXPIRES:
        return _not_judged(s, f"the alert (policy {alert.policy!r}) counts the days left before the certificate its "
                              "uptime check is answered with expires (uptime_check/time_until_ssl_cert_expires): a "
                              "certificate about to expire is no failure of the service's requests, and their being "
                              "clean or the check passing says nothing of when it expires")
    if alert.resource_type == UPTIME_RESOURCE or alert.metric_type.startswith(UPTIME_METRICS):
        return HealthBar(True, s.healthy_error_ratio, s.hang_latency_seconds, saw_failure_needed=True,
                         probe_seconds=uptime_probe_seconds(alert), why_not=(
            f"the uptime check (policy {alert.policy!r}) failed while the service's own requests showed no failure "
            "around the incident's start: the check's failure may lie outside the service (DNS, certificate, "
            "domain mapping, the probe's path), and the check's own results (check_passed) do not show it passing "
            "since from every checker location"))
    if alert.resource_type == SQL_RESOURCE:
        return _cloud_sql(alert, s)
    if alert.resource_type == CONNECTOR_RESOURCE and alert.comparison in _BELOW:
        # A connector's throughput or instances falling below a bar: traffic that stopped crossing it (a
        # route changed, an egress setting, callers gone), which its users' clean requests do not answer.
        return _not_judged(s, f"the alert fires when the connector's {alert.metric_type or 'metric'} falls below "
                              f"its threshold ({alert.comparison} {alert.threshold}): its users' clean requests do "
                              "not show that what stopped crossing it came back")
    if alert.resource_type not in _SERVICE_RESOURCES:
        return default
    if alert.metric_type == REQUEST_COUNT:
        return _request_count(alert, s, default)
    if alert.metric_type == REQUEST_LATENCIES:
        return _latencies(alert, s, default)
    shown = alert.metric_type or "a condition with no metric type (MQL, PromQL or SQL)"
    return _not_judged(s, f"the alert measures {shown}, which the health check does not read (it reads "
                          f"{REQUEST_COUNT} and {REQUEST_LATENCIES})")


# The least timeout an uptime check may have: "The maximum amount of time to wait for the request to complete
# (must be between 1 and 60 seconds)" (UptimeCheckConfig.timeout, google-cloud-monitoring monitoring_v3/types/
# uptime.py). The check's own timeout is not in the notification: a probe answered in this long or longer may
# have failed it (a 1 s timeout) or passed (the console's 10 s), so it is read as a possible failure.
LEAST_CHECK_TIMEOUT_SECONDS = 1.0


def uptime_probe_seconds(alert: AlertContext) -> float:
    """How slow a probe of an uptime check's checker may have failed the alert's condition: the least check
    timeout, or the alert's own threshold on the check's request_latency when lower (in milliseconds, as
    request_latencies is; that uptime_check/request_latency is in milliseconds too is UNCONFIRMED, and read in
    milliseconds its threshold can only be the lower bar, never a looser one, for a threshold of 1 s or less)."""
    if (alert.metric_type.endswith("/request_latency") and alert.comparison in _SIDED - _BELOW
            and alert.threshold is not None and alert.threshold > 0):
        return min(LEAST_CHECK_TIMEOUT_SECONDS, alert.threshold / 1000.0)
    return LEAST_CHECK_TIMEOUT_SECONDS


def _form_not_judged(alert: AlertContext, s: DiagnosisSettings) -> HealthBar | None:
    """Why the alert's condition, by its form, is not judged on any resource, or None when it may be."""
    if alert.forecast:
        # A connector's users serving cleanly now do not show its predicted saturation wrong either.
        return _not_judged(s, f"the alert is a forecast condition (policy {alert.policy!r}): it fires when "
                              f"{alert.metric_type or 'its metric'} is predicted to cross its threshold, and clean "
                              "requests now do not show the prediction wrong")
    if alert.condition_doubt:
        # Its bar, comparison and value may each be another condition's of the same policy (an AND
        # policy's notification names one condition while all of them held): none of them is the bar.
        return _not_judged(s, f"{alert.condition_doubt} (policy {alert.policy!r}), so clean 5xx and p99 do not "
                              "show its condition cleared")
    if alert.condition_kind == CONDITION_UNSTATED:
        # Schema 1.2's fields may be missing from a payload, or empty, "depending on the alert policy's
        # configuration, the incident's state or the monitored resource" (Cloud Monitoring, "Create and
        # manage notification channels", its schema 1.2 section; read in a translated copy, the English
        # wording UNCONFIRMED), and a relay may drop what it does not forward.
        # Without its `condition`, a notification does not say whether it fires above or below its
        # threshold (a success ratio falling under 0.99 reads as a share of 0.99), what its filter
        # counts (4xx, one response code) nor how it aggregates: clean 5xx and p99 answer none of it.
        return _not_judged(s, f"the notification carries no condition (policy {alert.policy!r}): whether it fires "
                              f"above or below its threshold ({alert.threshold}), on which responses and at which "
                              "aggregation is not stated, so clean 5xx and p99 do not show it cleared")
    if alert.condition_kind == "other":
        # MetricThreshold carries `comparison`; an MQL, PromQL or SQL condition has it inside its query
        # (google/monitoring/v3/alert.proto), which the notification quotes but Runwarden does not parse.
        return _not_judged(s, "the alert's condition is a query (MQL, PromQL or SQL) whose comparison and "
                              "numerator the notification does not state: Runwarden cannot tell what it measures")
    if alert.condition_kind == "threshold" and alert.comparison not in _SIDED:
        # MetricThreshold.comparison: "Only COMPARISON_LT and COMPARISON_GT are supported currently"
        # (google-cloud-monitoring, types/alert.py); GE and LE are read as those are. Any other (none, a
        # number of no ComparisonType, EQ, NE, UNSPECIFIED) does not say on which side of its threshold the
        # condition holds: a connector's traffic that fell under its floor read as a CPU over its bar.
        shown = alert.comparison or "none"
        return _not_judged(s, f"the alert's comparison ({shown}) does not say whether it fires above or below its "
                              f"threshold ({alert.threshold}), so clean 5xx and p99 do not show its condition cleared")
    if "select_slo_" in alert.condition_filter:
        # An SLO condition (select_slo_burn_rate, select_slo_health, ...: Cloud Monitoring's "Alerting on
        # your burn rate") measures a service-level objective's error budget, not the share of 5xx now,
        # whatever metric or labels its notification carries (which are UNCONFIRMED: no real sample).
        return _not_judged(s, f"the alert is on a service-level objective ({alert.condition_filter[:120]}): it "
                              "measures the error budget's burn, which the health check does not read")
    if alert.condition_kind == "absent" and not (alert.resource_type == SQL_RESOURCE and alert.metric_type == SQL_UP):
        # MetricAbsence "checks that monitored resources are reporting data" (alert.proto): it fires when
        # the series stops, the far end of a drop in traffic. The requests that are there being clean
        # does not show that what stopped came back (a route, a response class, most of the callers;
        # a connector's own series, which its users' requests are not). Cloud SQL's database/up is the
        # one series that stopped which the evidence reads back itself (`sql_up_needed`).
        return _not_judged(s, f"the alert is a metric-absence condition (policy {alert.policy!r}): it fires when "
                              f"{alert.metric_type or 'its metric'} stops reporting, and clean requests do not show "
                              "that what stopped has come back")
    if alert.log_filter:
        return _not_judged(s, f"the alert is a log-match condition (policy {alert.policy!r}): it fires on log "
                              "entries, and clean requests do not show that those entries stopped")
    if alert.evaluation_missing_data.strip() in _MISSING_DATA_ACTIVE:
        # EVALUATION_MISSING_DATA_ACTIVE: "If there is no data to evaluate the condition, then evaluate the
        # condition as true" (google-cloud-monitoring, types/alert.py, Condition.EvaluationMissingData). The
        # incident may have opened on no data at all (a 5xx series has no point while no 5xx is served, a
        # response class or a route that stopped), and it holds on while the data stays missing: clean
        # requests show no breach, not that the condition stopped holding. Nor is the incident a failure seen.
        return _not_judged(s, f"the alert's condition is met while its data is missing (evaluationMissingData "
                              f"EVALUATION_MISSING_DATA_ACTIVE, policy {alert.policy!r}): the incident may have "
                              f"opened because {alert.metric_type or 'its metric'} stopped reporting, not on a "
                              "breach, and clean requests do not show its condition cleared while that data is "
                              "missing")
    return None


# AlertPolicy.Condition.EvaluationMissingData.EVALUATION_MISSING_DATA_ACTIVE by name, or by number (2,
# google-cloud-monitoring types/alert.py) should an AlertContext carry it so.
_MISSING_DATA_ACTIVE = frozenset({"EVALUATION_MISSING_DATA_ACTIVE", "2"})


def _request_count(alert: AlertContext, s: DiagnosisSettings, default: HealthBar) -> HealthBar:
    if alert.comparison in _BELOW:
        complement = _complement(alert)
        if complement is not None:
            return _as_complement(_request_count(complement, s, default), alert, complement)
        # A drop in traffic, or a success ratio (2xx over all) falling below an SLO: neither is judged.
        falling = _success_share_falling(alert)
        if falling:
            return _not_judged(s, falling)
        return _not_judged(s, f"the alert fires when a count or a ratio of requests falls below its threshold "
                              f"({alert.comparison} {alert.threshold}): the health check judges the share of 5xx and "
                              "429 and the latency, not the volume of requests nor a success ratio")
    if alert.aligner and alert.aligner not in _COUNT_ALIGNERS and alert.aligner not in _NOT_A_COUNT_ALIGNERS:
        # A chain of aligners (incidents._chained) or a name outside Aggregation.Aligner: what it makes of
        # the counts is not read.
        return _not_judged(s, f"the alert compares {alert.aligner} of {REQUEST_COUNT} with its threshold "
                              f"({alert.threshold}), an aggregation not read as a count, a rate or a share")
    if alert.aligner in _NOT_A_COUNT_ALIGNERS:
        # ALIGN_PERCENT_CHANGE, a "rate of change" condition ("Align and convert to a percentage change",
        # Aggregation.Aligner; the console's name for it UNCONFIRMED): 4 5xx a window becoming 10 is
        # +150 %, met at a bar of 50 that, read as a count of 50 5xx, was `healthy`. A rise ended is not
        # what clean requests show. ALIGN_COUNT counts the points, not the requests: a 5xx share of points
        # is 1.0 while one 5xx a minute among 1,000 requests is 0.1 %, read as a share of requests.
        return _not_judged(s, f"the alert compares {alert.aligner} of {REQUEST_COUNT} with its threshold "
                              f"({alert.threshold}): {_NOT_A_COUNT_ALIGNERS[alert.aligner]}, not a count of "
                              "requests, a rate nor a share, which the health check does not read")
    if alert.reducer not in (_SHARE_REDUCERS if alert.ratio else _COUNT_REDUCERS):
        return _not_judged(s, f"the alert combines its {REQUEST_COUNT} series with {alert.reducer} before comparing "
                              f"them with its threshold ({alert.threshold}): "
                              f"{_REDUCED_WORDS.get(alert.reducer, 'a reduction not read here')}, not "
                              f"{'the share of requests' if alert.ratio else 'a count of requests'} the health "
                              "check reads")
    labels = alert.metric_labels
    client = (labels.get("response_code_class", "").lower() == "4xx"
              or (labels.get("response_code", "").startswith("4") and labels.get("response_code") != "429")
              or _filter_names(alert, _CLIENT_ERRORS, _CLIENT_CODE))
    if client:
        if not _client_errors_only(alert):
            # `response_code_class != "2xx"` counts 4xx among 1xx, 3xx and 5xx: say it counts more than the
            # 5xx and 429 read, not as if 4xx were all it counted.
            return _not_judged(s, _OTHER_RESPONSES.format(filter=alert.condition_filter[:160]))
        return _not_judged(s, "the alert counts client errors (4xx): the health check judges 5xx and 429 only")
    threshold = alert.threshold
    if threshold is not None and threshold >= 0 and not alert.ratio and (threshold >= 1 or alert.aligner):
        # No denominator: a number of requests, per second (ALIGN_RATE) or per alignment period
        # (ALIGN_DELTA, ALIGN_SUM, ...), however small: 0.1 5xx a second is 0.5 % of 6,000 requests
        # a minute, under the share called clean while the condition holds; 0 is "any 5xx".
        if not counts_server_errors(alert):
            return _not_judged(s, f"the alert counts requests above {threshold:g} (a volume alert): the health "
                                  "check judges failures and latency, not the volume of requests")
        if not counts_only_server_errors(alert):
            return _not_judged(s, _OTHER_RESPONSES.format(filter=alert.condition_filter[:160]))
        # A rate below 1 a second bounds each minute's count at 60 times it, which the window's sum
        # (at least any minute's count) must not exceed; a count stays the count (either reading).
        count = threshold * 60 if threshold < 1 and alert.aligner == "ALIGN_RATE" else threshold
        per = " a second" if count != threshold else ""
        # A count per alignment period (ALIGN_DELTA, ALIGN_SUM: `_PER_PERIOD_ALIGNERS`) longer than a minute is a
        # count over that period (`count_allowed`); a rate is per second whatever its period (ALIGN_RATE: "rate =
        # (y1 - y0)/(t1 - t0)", types/common.py), and the other aligners keep a mean, a least, a most or a
        # percentile of the period's points, each a minute's count (request_count sampled every 60 s:
        # UNCONFIRMED, facts.INGEST_LAG), which the window's sum bounds.
        period = alert.alignment_seconds if alert.aligner in _PER_PERIOD_ALIGNERS else None
        if period is not None and period > 60:
            per = f" in {period:g} s"
        if alert.aligner in _PER_PERIOD_ALIGNERS and period is None:
            # A count over a period the notification does not state may be over an hour or a day: read against the
            # window's sum, "over 20 5xx an hour" was cleared by a steady 3 a minute (15 in 5 minutes, 180 an
            # hour). The window's share of an unknown period is no bound; none left is cleared under any period.
            # The longest period an alert condition accepts is UNCONFIRMED (not in the text searched).
            return HealthBar(True, s.healthy_error_ratio, s.hang_latency_seconds,
                             f"the alert's own threshold of {threshold:g} 5xx per {alert.aligner} period, a period "
                             "the notification does not state: none may remain", error_count=0)
        return HealthBar(True, s.healthy_error_ratio, s.hang_latency_seconds,
                         f"the alert's own threshold of {threshold:g} 5xx{per}", error_count=count,
                         count_seconds=period if period is not None and period > 60 else None,
                         per_minute=per_minute_bar(alert.aligner, alert.alignment_seconds))
    if threshold is not None and 0 <= threshold < 1 and not alert.ratio:
        # Below 1, with no denominator and no aggregation (the branch above read an aligner's): a share,
        # a rate a second or a count, which the notification does not say. Read as a share, a policy
        # at 0.5 5xx a second was cleared at the settings' 1 % while 30 5xx a minute went on. Its
        # condition's unit is unknown, so its bar is: not judged.
        return _not_judged(s, f"the alert's threshold {threshold:g} is below 1 with no denominator (not a ratio "
                              "condition) and no aggregation: whether it is a share, a rate a second or a count is "
                              "not stated, so clean 5xx and p99 do not show its condition cleared")
    unread = _denominator_unread(alert) if alert.ratio else ""
    if unread:
        return _not_judged(s, unread)
    if alert.ratio and _denominator_narrowed(alert):
        # 5xx over 2xx at 1 %: 1 % 5xx beside 30 % 4xx is 1.4 % of the 2xx, the condition still met.
        return _not_judged(s, f"the alert's denominator ({alert.denominator_filter[:160]!r}) "
                              f"{_denominator_narrowed(alert)}: its share is not the share of all requests the health check reads, so a clean share "
                              "does not show its condition cleared")
    if alert.ratio and not counts_only_server_errors(alert):
        # A share of non-2xx (`!= "2xx"`, `one_of("4xx", "5xx")`, a negated 2xx) at 1 % held on 5 % of 404s
        # from a bad deploy while the 5xx and 429 the health check reads were clean: `healthy`.
        return _not_judged(s, _OTHER_RESPONSES.format(filter=alert.condition_filter[:160]))
    finer = _share_per_series(alert)
    if finer:
        return _not_judged(s, finer)
    bar = default
    # 0 included: a share over 0 is any 5xx or 429 at all, a bar as tight as any (left out, it fell to the
    # settings' share, looser than the alert's own).
    if threshold is not None and 0 <= threshold < s.healthy_error_ratio and alert.ratio:
        bar = HealthBar(True, threshold, s.hang_latency_seconds, f"the alert's own threshold {threshold:g}")
    per_code = denominator_per_code(alert) if alert.ratio else ""
    if per_code:
        # Read as a share, 0.5 % of 5xx cleared a 2 % bar; read series by series, each 5xx series over its own
        # denominator is 1 while it has a point. No 5xx nor 429 left clears it under both readings.
        return replace(bar, error_count=0, source=per_code if bar is default else f"{per_code}; {bar.source}")
    return bar


_FLIPPED = {"COMPARISON_LT": "COMPARISON_GT", "COMPARISON_LE": "COMPARISON_GE"}
_FIVE_XX = 'metric.label.response_code_class = "5xx"'


def _complement(alert: AlertContext) -> AlertContext | None:
    """A success ratio falling below t, as the share of 5xx rising above 1 - t, or None when it is not
    exactly that. Exactly: a threshold ratio condition (a denominatorFilter) whose filter compares a response
    code once, and that once is "not the 5xx class" (`response_code_class != "5xx"`, or `NOT` / `-` before
    `response_code_class = "5xx"`: "Monitoring filters", its `!=` and `NOT`), at a threshold of a share
    (0 < t <= 1), with no response-code label on the series that fired. Its non-5xx requests over all of them
    fall below t exactly while 5xx over all of them rise above 1 - t (a ratio taken series by series, of the
    same labels: MetricThreshold.denominator_aggregations, google/monitoring/v3/alert.proto). The complement is
    then read as any 5xx share is: its denominator (narrowed, aligned or reduced otherwise, per code, per
    route), its trigger and its reducer each keep it unjudged where they would a 5xx share. Not a complement,
    and left to the reasons below: 2xx over all (3xx and 4xx fail it too, which the share of 5xx and 429 does
    not bound), non-4xx or non-3xx, two negations (non-5xx and non-429), a regular expression. A denominator
    whose series may each be one response code's (`denominator_per_code`: each class's non-5xx over its own
    series is 1) is judged as its 5xx share is, only with no 5xx nor 429 left, which clears it under either
    reading. The health check counts 429 with the 5xx, which the policy counts as success: a bar no looser
    than the policy's own."""
    threshold = alert.threshold
    if (not alert.ratio or not _ratio_threshold(alert) or threshold is None or not 0 < threshold <= 1
            or set(alert.metric_labels) & _CODE_FIELDS):
        return None
    terms = list(_CODE_TERM.finditer(alert.condition_filter))
    if len(terms) != 1 or terms[0].group("label").lower() != "response_code_class":
        return None
    term = terms[0]
    value = (term.group("value") or "").strip("\"'").lower()
    # `!= "5xx"`, or `NOT` / `-` before `= "5xx"` (a negated `!=` is an equality, not read as one here).
    negated = term.group("op") in ("=", "==") if term.group("neg") else term.group("op") == "!="
    if not negated or value != "5xx":
        return None
    flipped = alert.condition_filter[:term.start()] + _FIVE_XX + alert.condition_filter[term.end():]
    return alert.model_copy(update={"condition_filter": flipped, "comparison": _FLIPPED[alert.comparison],
                                    "threshold": round(1 - threshold, 12)})


def _as_complement(bar: HealthBar, alert: AlertContext, complement: AlertContext) -> HealthBar:
    """The complement's bar, saying that it is one: the success ratio below t read as 5xx above 1 - t."""
    read = (f"the alert's success ratio (non-5xx requests over all) below {alert.threshold:g}, read as its "
            f"complement, the share of 5xx above {complement.threshold:g}")
    if not bar.judged:
        return replace(bar, why_not=f"{read}: {bar.why_not}")
    return replace(bar, source=f"{read}: {bar.source}")


def _success_share_falling(alert: AlertContext) -> str:
    """Why a ratio of some responses (2xx over all) falling below its threshold is not judged, naming the share
    it fails at, or "" when the condition is no such ratio. Below 0.99 of 2xx is more than 1 % of requests
    answered otherwise: 3xx and 4xx among them (a bad deploy's 404s, an expired key's 401s), which the share of
    5xx and 429 the health check reads does not bound, so clean 5xx do not show it cleared."""
    codes = numerator_codes(alert) if alert.ratio and alert.condition_kind != "other" else None
    threshold = alert.threshold
    if not codes or threshold is None or not 0 < threshold <= 1:
        return ""
    return (f"the alert fires when the share of {', '.join(sorted(codes))} responses falls below {threshold:g} "
            f"({alert.comparison}): it fails while more than {1 - threshold:.2%} of requests are answered otherwise, "
            "3xx and 4xx among them, and the health check reads the share of 5xx and 429 only, so clean 5xx do not "
            "show its condition cleared")


# The cloud_run_revision labels that name the service as a whole (Cloud Monitoring's monitored resource list);
# revision_name, and any metric label, name a part of it. `resource.label.` and `resource.labels.` alike.
# configuration_name among them: "Each Service is defined by a Route and a Configuration that have the same name
# as the service" (knative.dev, "About Knative Services"; Cloud Run's v1 API is serving.knative.dev/v1, Cloud Run
# REST reference, namespaces.services), so grouped by it a series is one service's (that Cloud Run keeps that
# one-to-one in its metrics is UNCONFIRMED in its own words).
_SERVICE_LABELS = frozenset({"project_id", "location", "service_name", "configuration_name"})


def _field_label(field: str) -> str:
    """The label a groupByFields entry names: `metric.label.route`, `metric.labels."route"` -> route."""
    return field.rsplit(".", 1)[-1].strip('"')


def _share_per_series(alert: AlertContext) -> str:
    """Why a share bar of the service's requests does not judge a condition on series finer than the
    service, or "". A trigger other than one series (`_several_series`), or the default one: "If unspecified,
    then the condition will trigger if the comparison is true for any of the time series that have been
    identified by filter and aggregations, or by the ratio" (MetricThreshold.trigger, google/monitoring/v3/
    alert.proto, as the Terraform and Pulumi references quote it; "If not specified, then a {count: 1} trigger
    is used", AlertPolicy.Condition.Trigger), `_any_series`."""
    return _several_series(alert) if alert.trigger else _any_series(alert)


def _several_series(alert: AlertContext) -> str:
    """Why a share bar of the service's requests does not judge a condition that fires on several of its
    series (a trigger other than one series), or "". Such a condition holds while that many series hold:
    series finer than the service (grouped by revision_name, or not reduced at all) each have their own
    share, which the service's does not bound (a canary at 1 % of the traffic failing 60 % is 0.6 % of
    the service), and which of the series holding it the notification names, if one, is UNCONFIRMED (no
    sample carries a trigger other than {"count": 1}), so the named revision's own share does not settle it
    either. One series per service (a cross-series reducer keeping service labels alone) is judged as
    any. A count or a latency bar is not affected: each series' 5xx count is at most the service's, and
    each series' p99 at most the largest the health check reads."""
    kept = {_field_label(field) for field in alert.group_by}
    if alert.reducer not in ("", "REDUCE_NONE") and kept <= _SERVICE_LABELS:
        return ""
    finer = (f"grouped by {', '.join(alert.group_by)}" if alert.reducer not in ("", "REDUCE_NONE")
             else "not reduced across series")
    return (f"the alert fires when {alert.trigger} cross its threshold, and its series are finer than the service "
            f"({finer}): each has its own share of requests, which the service's clean share does not bound, and "
            "which series hold it is not in the notification")


def _any_series(alert: AlertContext) -> str:
    """Why a ratio condition that fires on any one of its series (no trigger, or {count: 1}) is not judged by
    the share of the service's requests, or "". Each series' share is its 5xx over its denominator series, so
    what bounds it is the label the denominatorAggregations keep (after aggregation the denominator's labels
    are "the same as, or a subset of" the numerator's, Cloud Monitoring, "Ratios of metrics"; "the same ...
    labels", MetricThreshold.denominator_aggregations, Monitoring v3 REST reference: under either reading a
    numerator series finer than its denominator series is a part of it, its share at most that series'):
    - the service's labels alone: one share per service, the one the health check reads;
    - response_code or response_code_class, or no combining at all: `denominator_per_code` (none may remain);
    - revision_name: judged when the notification names the revision (resource.labels.revision_name), whose own
      requests `healthy` reads at the same bar (diagnose._named_revision_failing); naming none, not judged;
    - any other label (request_count's `route`, a user label): not judged. Its series is a part of the
      service's requests the evidence does not read (request_count is read by revision and response code,
      collection._run_metrics), and the service's share does not bound it: one route at 2 % of the traffic
      failing 50 % is 1 % of the service, under a 5 % bar while the condition on that route still holds.
      The notification's metric labels name the series that fired (schema 1.2: `incident.metric.labels`,
      "with metric labels {...}" in its summary, tests/fixtures/samples), shown in the reason. That
      request_count carries a `route` label at all is from a third-party copy of its descriptor
      (dynatrace-oss/dynatrace-gcp-monitor src/config/cloud_run_revision.yml: response_code,
      response_code_class, route); what Cloud Run writes in it (a path, a traffic tag, nothing) is UNCONFIRMED
      (no Google page nor sample found says), so no read by it is made: a per-route share read by a label
      whose values are not known could only be guessed at, and the condition stays escalated."""
    if (not _ratio_threshold(alert) or not alert.denominator_aggregated
            or alert.denominator_reducer in ("", "REDUCE_NONE")):
        return ""
    kept = {_field_label(field) for field in alert.denominator_group_by} - _SERVICE_LABELS - _CODE_FIELDS
    if alert.revision:
        kept.discard("revision_name")
    if not kept:
        return ""
    fields = [field for field in alert.denominator_group_by if _field_label(field) in kept]
    named = {k: v for k, v in {**alert.metric_labels, **({"revision_name": alert.revision} if alert.revision else {})}
             .items() if k in kept}
    which = (f"the series it names ({', '.join(f'{k}={v!r}' for k, v in sorted(named.items()))})" if named
             else "the series that fired (the notification does not name it)")
    unread = sorted(kept - {"revision_name"})
    why = (f"the health check reads {REQUEST_COUNT} by revision and response code, not by {', '.join(unread)}"
           if unread else "the notification names no revision (resource.labels.revision_name) to read it on")
    return (f"the alert fires when any one of its series crosses its threshold (no trigger, or trigger.count 1), and "
            f"each series' share is of a part of the service's requests (denominatorAggregations grouped by "
            f"{', '.join(fields)}): {which} has its own share, which the service's clean share does not bound (one "
            f"{_field_label(fields[0])} with a small part of the traffic failing half of it is a small share of the "
            f"service), and {why}")


_OTHER_RESPONSES = ("the alert's numerator ({filter!r}) counts responses other than the 5xx and 429 the health "
                    "check reads, or compares their code in a way not read here (a negation, `!=`, a regular "
                    "expression): clean 5xx and 429 do not show its condition cleared")


# Aligners whose value is neither a count, a rate nor a share of requests (google-cloud-monitoring,
# types/common.py, Aggregation.Aligner): ALIGN_PERCENT_CHANGE "returns ((current - previous)/previous) *
# 100" over a 10-minute moving mean; ALIGN_COUNT_TRUE, ALIGN_COUNT_FALSE and ALIGN_FRACTION_TRUE are for
# BOOL series, which request_count is not (a policy carrying one is not read either).
# ALIGN_COUNT "returns the number of values in each alignment period" (a count of points, whatever each
# point counts: a 5xx series' points are the minutes it had any), ALIGN_STDDEV "the standard deviation of
# the values" (a spread, 0 for a steady 50 5xx a minute); ALIGN_NEXT_OLDER and ALIGN_INTERPOLATE are
# "valid for GAUGE metrics", which request_count (DELTA) is not: what Monitoring makes of a DELTA series
# under them (an older minute's count moved to the period's end?) is UNCONFIRMED, so not read either way.
# Aligners whose value is a count over the whole alignment period (Aggregation.Aligner, google-cloud-monitoring
# types/common.py): ALIGN_SUM "returning the sum of the values in each alignment period"; ALIGN_DELTA "Align and
# convert to DELTA. The output is delta = y1 - y0", over the period, which for a DELTA metric such as
# request_count is read as the period's sum (UNCONFIRMED in those words: the two read alike either way here).
_PER_PERIOD_ALIGNERS = frozenset({"ALIGN_DELTA", "ALIGN_SUM"})
# Aligners whose value no minute at or under a per-minute count can push over it, whatever the alignment
# period (Aggregation.Aligner, google-cloud-monitoring types/common.py): ALIGN_RATE "rate = (y1 - y0)/(t1 - t0)",
# the period's count over its seconds, at most the count bar's pace when every minute is (a period is at
# least 60 s: "The value must be at least 60 seconds", Aggregation.alignment_period); and the least, the most,
# the mean and the percentiles of the period's points, each a minute's count (request_count sampled every
# 60 s: UNCONFIRMED, facts.INGEST_LAG), none above the largest.
_MINUTE_BOUNDED_ALIGNERS = frozenset({"ALIGN_RATE", "ALIGN_MIN", "ALIGN_MAX", "ALIGN_MEAN", "ALIGN_PERCENTILE_99",
                                      "ALIGN_PERCENTILE_95", "ALIGN_PERCENTILE_50", "ALIGN_PERCENTILE_05"})


def per_minute_bar(aligner: str, alignment_seconds: float | None) -> bool:
    """Whether a count bar on request_count (`HealthBar.error_count`) bounds each minute's 5xx and 429, so that
    the condition is cleared when no minute holds more: a steady 1 5xx a minute under a bar of 3 a minute
    (0.05 a second) is 5 over 5 minutes, the condition cleared all along. A count over the alignment period
    (ALIGN_DELTA, ALIGN_SUM) does so only over a period of a minute; over a longer one it is a count over more
    minutes, which their sum is held to (`HealthBar.count_allowed`); over an unstated one, none may remain."""
    if aligner in _MINUTE_BOUNDED_ALIGNERS:
        return True
    return aligner in _PER_PERIOD_ALIGNERS and alignment_seconds is not None and alignment_seconds <= 60


_NOT_A_COUNT_ALIGNERS = {
    "ALIGN_PERCENT_CHANGE": "a change between periods",
    "ALIGN_FRACTION_TRUE": "a fraction of true values (an aligner for BOOL series)",
    "ALIGN_COUNT_TRUE": "a number of true values (an aligner for BOOL series)",
    "ALIGN_COUNT_FALSE": "a number of false values (an aligner for BOOL series)",
    "ALIGN_COUNT": "the number of data points in each alignment period",
    "ALIGN_STDDEV": "the standard deviation of the values in each alignment period",
    "ALIGN_NEXT_OLDER": "a GAUGE aligner (the latest point moved to the period's end) on a DELTA metric",
    "ALIGN_INTERPOLATE": "a GAUGE aligner (an interpolation at the period's boundary) on a DELTA metric",
}
# Every other Aligner of that enum: a count, a rate or a statistic of one alignment period's counts that
# stays within them (the least, the most, the mean, a percentile), which the window's sum bounds. A name
# outside the enum (a number of no Aligner, which the notification's parse keeps as a number; a name of a
# later version) is no known value: not read as a count either.
_COUNT_ALIGNERS = frozenset({"ALIGN_NONE", "ALIGN_DELTA", "ALIGN_RATE", "ALIGN_MIN", "ALIGN_MAX", "ALIGN_MEAN",
                             "ALIGN_SUM", "ALIGN_PERCENTILE_99", "ALIGN_PERCENTILE_95", "ALIGN_PERCENTILE_50",
                             "ALIGN_PERCENTILE_05"})
# Cross-series reducers (Aggregation.Reducer, google-cloud-monitoring types/common.py) whose value stays a
# count of the service's 5xx or under it: their sum, or one series' count (the least, the most, the mean, a
# percentile of them), which the window's sum of the service's 5xx and 429 bounds.
_COUNT_REDUCERS = frozenset({"", "REDUCE_NONE", "REDUCE_SUM", "REDUCE_MIN", "REDUCE_MAX", "REDUCE_MEAN",
                             "REDUCE_PERCENTILE_99", "REDUCE_PERCENTILE_95", "REDUCE_PERCENTILE_50",
                             "REDUCE_PERCENTILE_05"})
# ... and of a ratio: its numerator and denominator are each reduced, then divided ("the aggregations and
# denominator_aggregations fields must use the same alignment period and produce time series that have the
# same periodicity and labels", MetricThreshold.denominator_aggregations, Monitoring v3 REST reference), so
# only a sum keeps it the share of requests: a mean of the one 5xx series over a mean of the five series of
# every class is five times the share (10 5xx of 1,000 requests read 5 %). A per-series ratio (no reducer) is
# read with its denominatorAggregations (`denominator_per_code`, `_denominator_unread`).
_SHARE_REDUCERS = frozenset({"", "REDUCE_NONE", "REDUCE_SUM"})


def share_of_requests(alert: AlertContext) -> bool:
    """Whether a threshold condition's aggregation keeps its ratio the share of requests (its threshold a
    share a rule may borrow): an aligner that counts requests (`_COUNT_ALIGNERS`, or none stated) and a
    reducer that sums them (`_SHARE_REDUCERS`), a denominatorAggregations read the same way
    (`_denominator_unread`) and a denominator whose series are not each one response code's
    (`denominator_per_code`)."""
    return ((not alert.aligner or alert.aligner in _COUNT_ALIGNERS) and alert.reducer in _SHARE_REDUCERS
            and not _denominator_unread(alert) and not denominator_per_code(alert))


# The request_count labels that name a response's code (Cloud Monitoring, "Google Cloud metrics").
_CODE_FIELDS = frozenset({"response_code", "response_code_class"})


def _ratio_threshold(alert: AlertContext) -> bool:
    """A threshold condition with a denominatorFilter (a query condition's ratio is read by ratio_query)."""
    return alert.condition_kind != "other" and bool(alert.denominator_filter.strip())


def _denominator_unread(alert: AlertContext) -> str:
    """Why a ratio condition's denominatorAggregations make its quotient no share of requests, or "": it
    aligns its series otherwise than the numerator's (a count a minute over a rate a second is 60 times the
    share), or combines them by anything but a sum (a sum of 5xx over the mean of the five classes' series is
    five times the share: 0.5 % of 5xx read 2.5 %, over a 2 % bar, while the share read clean).
    MetricThreshold.denominator_aggregations asks only for "the same alignment period" and series of "the same
    periodicity and labels" (google/monitoring/v3/alert.proto): other aligners and reducers are accepted."""
    if not _ratio_threshold(alert) or not alert.denominator_aggregated:
        return ""
    aligner, reducer = alert.denominator_aligner, alert.denominator_reducer
    if aligner != alert.aligner or reducer not in _SHARE_REDUCERS:
        return (f"the alert's ratio divides {alert.aligner or 'unaligned'}{' and ' + alert.reducer if alert.reducer else ''}"
                f" 5xx by denominatorAggregations {aligner or 'unaligned'}{' and ' + reducer if reducer else ''}: a "
                "quotient of two differently aggregated series, not the share of requests the health check reads, so "
                "a clean share does not show its condition cleared")
    return ""


def denominator_per_code(alert: AlertContext) -> str:
    """Why a ratio condition's denominator series may each be one response code's, or "": its
    denominatorAggregations combine no series (none carried, or no cross-series reducer: every label kept,
    response_code and response_code_class among them) or keep a response-code label (groupByFields). The
    numerator's series are then divided by the denominator's series "that have the same ... labels"
    (MetricThreshold.denominator_aggregations, google/monitoring/v3/alert.proto; "After aggregation, the labels
    in the denominator time series must be the same as, or a subset of, the labels in the numerator time
    series", Cloud Monitoring, "Ratios of metrics"): a 5xx series over the 5xx series of the same labels, 1
    while it has a point. How Monitoring pairs series of the same labels is UNCONFIRMED (no page says it in
    so many words, no sample carries such a ratio): read as the share of all requests, the condition clears at
    its bar; read series by series, it holds while any 5xx remains. Judged, it is judged under both."""
    if not _ratio_threshold(alert):
        return ""
    if not alert.denominator_aggregated or alert.denominator_reducer in ("", "REDUCE_NONE"):
        kept = "combine no series"
    else:
        codes = {field.rsplit(".", 1)[-1].strip('"') for field in alert.denominator_group_by} & _CODE_FIELDS
        if not codes:
            return ""
        kept = f"keep {', '.join(sorted(codes))}"
    return (f"the alert's ratio, whose denominatorAggregations {kept}: each 5xx series may be divided by its own "
            "code's series, 1 while it has a point")


_REDUCED_WORDS = {
    "REDUCE_COUNT": "the number of data points across series, not what they count",
    "REDUCE_STDDEV": "the standard deviation across series, a spread",
    "REDUCE_COUNT_TRUE": "a number of true values (a reducer for BOOL series)",
    "REDUCE_COUNT_FALSE": "a number of false values (a reducer for BOOL series)",
    "REDUCE_FRACTION_TRUE": "a fraction of true values (a reducer for BOOL series)",
    "REDUCE_MEAN": "numerator and denominator each averaged over their own series, a quotient of means",
    "REDUCE_MIN": "numerator and denominator each the least of their own series",
    "REDUCE_MAX": "numerator and denominator each the most of their own series",
}


def counts_server_errors(alert: AlertContext) -> bool:
    """The condition's numerator selects 5xx: its metric labels or its filter name the 5xx class or a 5xx code."""
    labels = alert.metric_labels
    return (labels.get("response_code_class", "").lower() == "5xx" or labels.get("response_code", "").startswith("5")
            or _filter_names(alert, _SERVER_ERRORS, _SERVER_CODE))


# A client error the health check does not judge: 4xx but 429 (which it reads with the 5xx).
_CLIENT_CODE = re.compile(r"4xx|4(?!29)\d\d")


def _filter_names(alert: AlertContext, written: re.Pattern[str], code: re.Pattern[str]) -> bool:
    """Whether the condition's filter selects a response `code` matches: from the codes it selects where they are
    read exactly (`numerator_codes`: `response_code > "499"` names no 4xx), else from its text (`written`)."""
    codes = numerator_codes(alert)
    if codes:
        return any(code.fullmatch(c) for c in codes)
    return bool(written.search(alert.condition_filter))


def _client_errors_only(alert: AlertContext) -> bool:
    """Whether every code the numerator selects is a client error (not 429), as far as its codes are read exactly:
    a filter whose codes are not read exactly is taken at its written 4xx."""
    codes = numerator_codes(alert)
    return not codes or all(_CLIENT_CODE.fullmatch(c) for c in codes)


def numerator_codes(alert: AlertContext) -> frozenset[str] | None:
    """The response classes and codes a threshold condition's filter selects for its numerator ("5xx", "503",
    ...; lower case; a whole class as its class), empty when it compares none; None ("not judged", the safe side)
    when its comparisons are not read exactly, select every code or none, or another comparison joined by OR
    changes them (code_filters.exact_metric_codes: `=`, `!=`, `<`, `<=`, `>`, `>=`, their ranges, `one_of` and NOT
    read; a regular expression, `:` and other functions not). `response_code >= "500"` is the 5xx class, as
    `response_code_class = "5xx"` is; `response_code_class != "2xx"` is 1xx, 3xx, 4xx and 5xx."""
    codes = exact_metric_codes(alert.condition_filter)
    if codes is None or codes == ALL_CODES:
        return None
    return frozenset(code_words(codes))


def counts_only_server_errors(alert: AlertContext) -> bool:
    """The condition's numerator counts 5xx or 429 and nothing else, which the health check's share of 5xx
    and 429 bounds: every response code its filter compares with is one of them, or, its filter naming
    none, the violating series' labels are (a policy grouped by response class or code). A non-2xx share
    (`response_code_class != "2xx"`, `one_of("4xx", "5xx")`) counts 4xx the health check does not read."""
    codes = numerator_codes(alert)
    if codes is None:
        return False
    if codes:
        return all(_SERVER_CODE.fullmatch(code) for code in codes)
    labels = alert.metric_labels
    named = labels.get("response_code_class") or labels.get("response_code") or ""
    return bool(_SERVER_CODE.fullmatch(named))


_METRIC_TYPE = re.compile(r'\bmetric\.type\s*=\s*"([^"]+)"')


def _denominator_narrowed(alert: AlertContext) -> str:
    """How a threshold condition's denominatorFilter is not all of the requests its numerator's are a part
    of, or "": it compares a response code (5xx over 2xx: a larger share than 5xx over all), or names
    another metric. A denominator selecting other resource labels than the numerator is not read here: the
    ratio is taken between series of the same labels after aggregation ("When computing ratios, the
    aggregations and denominator_aggregations fields must use the same alignment period and produce time
    series that have the same periodicity and labels", MetricThreshold.denominator_aggregations, Monitoring
    v3 REST reference), and the notification names one service's series."""
    text = alert.denominator_filter
    if _CODE_TERM.search(text):
        return "selects requests by their response code, not all of them"
    metrics = set(_METRIC_TYPE.findall(text))
    if metrics and metrics != {REQUEST_COUNT}:
        return f"counts {', '.join(sorted(metrics))}, not {REQUEST_COUNT}"
    return ""


def timeout_share_bar(s: DiagnosisSettings, alert: AlertContext | None) -> tuple[float, str]:
    """The share of 504s that matters, and where that bar comes from: request_timeout's bar, and bad_revision's for
    504s at a timeout a deploy lowered."""
    # A share only from a ratio condition (AlertContext.ratio: a denominatorFilter, or an MQL or PromQL
    # ratio Incident.is_ratio recognises). A fractional threshold alone is no share: a policy on 5xx a
    # second (ALIGN_RATE) at 0.02 is about one 5xx a minute, and read as 2 % it lowered the 504 bar.
    # And a share of 5xx only: a threshold condition's denominatorFilter makes any numerator a share
    # (4xx over all at 2 % lowered the 504 bar as a 5xx share would), so its filter must select 5xx; a
    # query condition is a ratio only as the 5xx share of its requests already (`ratio_query`). And a
    # share that counts every 504 (`counts_504s`): a policy on the share of 503s alone at 0.5 % lowered
    # the 504 bar to 0.5 %, and a service whose 1 % of requests cut at the timeout (under the 10 % that
    # matters by default) read as a request timeout on another policy's bar.
    if (alert is not None and alert.threshold is not None and alert.ratio and 0 < alert.threshold < s.status_ratio
            and counts_504s(alert)):
        return alert.threshold, f"the alert's own threshold {alert.threshold:g}"
    return s.status_ratio, "status_ratio"


def counts_504s(alert: AlertContext) -> bool:
    """A ratio condition's numerator counts every 504, so its threshold is a bar for the share of 504s (a
    service with that share of 504s alone meets the condition): the 5xx class or the code 504, in every
    response-code comparison of its filter (an AND of `response_code_class="5xx"` and `response_code="503"`
    is 503s alone), or of its query (`ratio_query_covers_504`). A share of 503s at 0.5 % says nothing of
    the share of 504s that matters. A filter naming no code: the violating series' labels (a policy
    grouped by class or code has a share per class or code, each under the same bar)."""
    if alert.condition_kind == "other":
        return ratio_query_covers_504(alert.condition_filter)
    if _denominator_narrowed(alert):
        return False    # 5xx per instance (instance_count under it) is no share of requests at all
    if not share_of_requests(alert):
        return False    # a share of points (ALIGN_COUNT) or a quotient of means: its 2 % is no 2 % of requests
    codes = numerator_codes(alert)
    if codes is None:
        return False
    if codes:
        return codes <= {"5xx", "504"}
    labels = alert.metric_labels
    return labels.get("response_code_class", "").lower() == "5xx" or labels.get("response_code", "").startswith("5")


def _latencies(alert: AlertContext, s: DiagnosisSettings, default: HealthBar) -> HealthBar:
    if alert.comparison in _BELOW or alert.threshold is None or alert.threshold <= 0:
        return _not_judged(s, f"the alert on {REQUEST_LATENCIES} has no upper threshold the health check can "
                              f"compare p99 with ({alert.comparison or 'no comparison'}, threshold "
                              f"{alert.threshold})")
    if not _percentile_value(alert):
        return _not_judged(s, f"the alert on {REQUEST_LATENCIES} compares {alert.aligner or 'no aligner'}"
                              f"{' and ' + alert.reducer if alert.reducer else ''} with its threshold, not a percentile "
                              "the p99 read bounds: a mean or a sum can stay over the threshold while p99 is under it")
    codes = latency_codes(alert)
    if codes is None or (codes and not all(_SERVER_CODE.fullmatch(code) for code in codes)):
        return _not_judged(s, _LATENCY_OF_SOME.format(shown=_shown_codes(alert, codes)))
    seconds = alert.threshold / 1000.0   # request_latencies is in milliseconds
    bar = default if seconds >= s.hang_latency_seconds else HealthBar(
        True, s.healthy_error_ratio, seconds, f"the alert's own latency threshold {alert.threshold:g} ms")
    if not codes:
        return bar
    # The latency of 5xx (or 429) alone: the p99 of all requests does not bound it (0.5 % of 504s at 60 s
    # hold a 5xx p99 of 60 s under an all-requests p99 of 0.2 s and a share under the bar). With none of
    # them in the window its series holds no point, so the condition cannot hold on live data.
    alone = f"the alert measures the latency of {', '.join(sorted(codes))} responses alone, so none may remain"
    return replace(bar, error_count=0, source=alone if bar is default else f"{bar.source}; {alone}")


_LATENCY_OF_SOME = (f"the alert on {REQUEST_LATENCIES} measures the latency of {{shown}}, not of all requests: the "
                    "health check reads the p99 of all requests, which fast answers of other classes (503s refused "
                    "at once) hold under the bar while the responses the condition measures stay slow")


def latency_codes(alert: AlertContext) -> frozenset[str] | None:
    """The response classes and codes a request_latencies condition's value is the latency of (lower case),
    empty for all requests, None when its filter compares a code in a way not read exactly (a regular
    expression, `:`: `numerator_codes`). request_latencies carries the labels response_code and
    response_code_class (UNCONFIRMED: a third-party copy, dynatrace-gcp-monitor cloud_run_revision.yml), so a
    filter on them selects those responses' latency alone; and a filter naming none may still measure one
    class or code: the violating series' labels name it when the condition groups by it or does not
    reduce across series (google-cloud-monitoring, types/common.py, Aggregation.group_by_fields: "Fields
    not specified in group_by_fields are aggregated away", "If cross_series_reducer is not defined, this
    field is ignored": each code's own series is then compared with the threshold; that a notification
    names the labels of the series that fired is UNCONFIRMED: read either way, a code label names it)."""
    codes = numerator_codes(alert)
    if codes is None or codes:
        return codes
    labels = alert.metric_labels
    return frozenset(labels[key].lower() for key in ("response_code_class", "response_code") if labels.get(key))


def _shown_codes(alert: AlertContext, codes: frozenset[str] | None) -> str:
    if codes is None:
        return f"the responses its filter selects ({alert.condition_filter[:160]!r})"
    return f"{', '.join(sorted(codes))} responses alone"


# Aggregation (google/monitoring/v3/common.proto): ALIGN_PERCENTILE_N "the Nth percentile of the
# distribution" in each alignment period; a cross-series reducer that keeps the value within the
# series' own range (MAX, MIN, MEAN, a percentile) leaves it at most the largest series' percentile.
# ALIGN_DELTA and ALIGN_SUM keep a distribution, which REDUCE_PERCENTILE_N turns into a percentile
# of the series merged (a public policy does so on response_latencies with ALIGN_SUM and
# REDUCE_PERCENTILE_99: broadinstitute/terraform-shared, gae-reponse-latency.tf; how Monitoring
# compares a distribution left as one with a threshold is UNCONFIRMED, so it is not judged).
_PERCENTILE_ALIGNERS = frozenset({"ALIGN_PERCENTILE_99", "ALIGN_PERCENTILE_95", "ALIGN_PERCENTILE_50",
                                  "ALIGN_PERCENTILE_05"})
_DISTRIBUTION_ALIGNERS = frozenset({"ALIGN_DELTA", "ALIGN_SUM", "ALIGN_NONE"})
_WITHIN_RANGE_REDUCERS = frozenset({"", "REDUCE_NONE", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_MEAN"})
_PERCENTILE_REDUCERS = frozenset({"REDUCE_PERCENTILE_99", "REDUCE_PERCENTILE_95", "REDUCE_PERCENTILE_50",
                                  "REDUCE_PERCENTILE_05"})


def _percentile_value(alert: AlertContext) -> bool:
    """Whether the latency condition compares a percentile of the 99th or below, which the p99 read
    bounds. A notification with no aggregation (the console's test notification) is read as the
    common p99 policy, as before aggregations were read."""
    aligner, reducer = alert.aligner, alert.reducer
    if not aligner and not reducer:
        return True
    if aligner in _PERCENTILE_ALIGNERS:
        return reducer in _WITHIN_RANGE_REDUCERS or reducer in _PERCENTILE_REDUCERS
    return aligner in _DISTRIBUTION_ALIGNERS and reducer in _PERCENTILE_REDUCERS


def _cloud_sql(alert: AlertContext, s: DiagnosisSettings) -> HealthBar:
    """An alert on the instance itself: judged on database/up (read with the evidence) and the users'
    requests; any other metric of the instance is not read."""
    if alert.metric_type == SQL_UP:
        return HealthBar(True, s.healthy_error_ratio, s.hang_latency_seconds, sql_up_needed=True, why_not=(
            f"the alert is on Cloud SQL's database/up (policy {alert.policy!r}), and database/up did not stay at 1 "
            "over the minutes judged (down, or not read): the instance's users serving cleanly does not show it "
            "is up"))
    shown = alert.metric_type or "a condition with no metric type (MQL, PromQL or SQL)"
    return _not_judged(s, f"the alert measures the Cloud SQL instance ({shown}), which Runwarden does not read: "
                          "its users serving cleanly does not show the instance is well")


def _not_judged(s: DiagnosisSettings, why: str) -> HealthBar:
    return HealthBar(False, s.healthy_error_ratio, s.hang_latency_seconds, why_not=why)
