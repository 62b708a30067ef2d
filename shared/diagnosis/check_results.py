"""An uptime check's own results: Cloud Monitoring's `uptime_check/check_passed`, read for the alert's check.
Pure, no I/O: the series are read by shared/diagnosis/collection.py (`check_passed_query`), on the alert path
and by the verification sweep.

The metric, as Cloud Monitoring's "Google Cloud metrics" page (cloud.google.com/monitoring/api/metrics_gcp,
section "monitoring") lists it: `monitoring.googleapis.com/uptime_check/check_passed`, GAUGE, BOOL, "Check
passed", one result per checker location and period, labels `check_id` ("The identifier of the uptime check
configuration") and `checker_location` ("The location of the checker"), written against the check's monitored
resource, `uptime_url` (labels `project_id`, `host`) for a check on a URL. A check run from six regions every
5 minutes writes six points in those 5 minutes, one per location (UptimeCheckConfig.period, selected_regions,
google/monitoring/v3/uptime.proto); a check that has no results (deleted, paused, or not yet run) has no
points, and ListTimeSeries answers no series for it. Which resource a check created on a Cloud Run service
(UptimeCheckConfig.monitored_resource of type `cloud_run_revision`, labels project_id, location, service_name) writes
its results against is UNCONFIRMED: Google's metric list names none for it, and public alert policies filter its
check_passed on `resource.type="cloud_run_revision"` (seen in Terraform configs found by the search index, not in
Google's docs). A check named by its id is therefore read by its id alone, on whatever resource type its results
are written (collection.check_passed_query); one location's results on two resource types are one location.

What it settles, whatever the request log shows or leaves out (an exclusion of health checks, a sample):
- any location's result false in the minutes judged: the check still fails, never `healthy`/`verified`;
- no result in them and no checker line in the request log either: whether the check passes is unknown,
  never `healthy` (before, no checker line read as "not failing");
- every location that reported since the incident's start passing in them: the check passes again, which
  may count as recovered where the rest of the evidence agrees (diagnose._healthy).

The minutes judged are one of the check's periods. UptimeCheckConfig.period (google/monitoring/v3/uptime.proto,
"How often, in seconds, the uptime check is performed. Currently, the only supported values are 60s (1 minute),
300s (5 minutes), 600s (10 minutes), and 900s (15 minutes)"; the Uptime checks page, "Create public uptime
checks": "Check frequency") lets a check run every 10 or 15 minutes, one result a location in that time, so
the 5 minutes `healthy` is judged on (recent_seconds) most often hold none of them: such a check was never
recovered, and another check's probes in the request log stood in for its failing results. Its results are
judged over one period and RESULT_LAG back from the judged window's end (`judged_window`), never before the
incident's start. The notification does not carry the period (no field of the incident names it: "Notification
content", version 1.2), so it is read from the results' own spacing (`check_period`), one call fewer than
uptimeCheckConfigs.get and one permission fewer; a check whose spacing is not shown yet is judged on the 5
minutes as before, and one with no result since the incident's start is "not known yet" with the time its
next result is due (`not_known_yet`), the longest period's end when its own is not shown.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.diagnosis.evidence import AlertContext, MetricResult, at_micros
from shared.diagnosis.windows import Window, hms

CHECK_PASSED = "monitoring.googleapis.com/uptime_check/check_passed"
CHECK_PASSED_READ = "monitoring: uptime_check/check_passed"
UPTIME_URL = "uptime_url"
# One equality on the check's id in the condition's filter: `metric.label.check_id = "docs-uptime-x1"` (Monitoring
# filters accept `label` and `labels`, "Monitoring filters"). A negation, `one_of` or a regular expression names
# no single check, and is not read.
_CHECK_ID = re.compile(r'(?<![\w.!-])metric\.labels?\.check_id\s*=\s*"([^"\\\n]+)"')
_NEGATED = re.compile(r'(?:NOT\s+|-)metric\.labels?\.check_id|metric\.labels?\.check_id\s*!=')
# The periods a check may run at (UptimeCheckConfig.period, above), shortest first.
PERIODS = tuple(timedelta(seconds=s) for s in (60, 300, 600, 900))
# How late a location's result may be written after its period's mark: the checkers of one check do not run in
# lockstep and a point is written after its probe answers (up to the check's timeout, 60 s at most:
# UptimeCheckConfig.timeout). The spread itself is UNCONFIRMED: a minute more of results judged can only add a
# false, never take one away.
RESULT_LAG = timedelta(seconds=60)


def alert_check_id(alert: AlertContext) -> str:
    """The check the alert is about: the violating series' `check_id` label, else the one check its condition's
    filter selects by equality ("" when neither names one check)."""
    said = alert.metric_labels.get("check_id", "")
    if said:
        return said
    named = set(_CHECK_ID.findall(alert.condition_filter))
    return named.pop() if len(named) == 1 and not _NEGATED.search(alert.condition_filter) else ""


def check_unread(gaps: tuple[str, ...]) -> str:
    """Why the check's results were not read, as its gap says ("" for none)."""
    return next((gap for gap in gaps if gap.startswith(CHECK_PASSED_READ)), "")


@dataclass(frozen=True)
class CheckResults:
    """check_passed since `since`, by checker location: where a result was false, where every result was true,
    where results came before `since` and none since (silent), and the checks read (one, the alert's, or every
    check on the alert's host when the notification names none)."""

    since: datetime
    failing: tuple[str, ...] = ()
    passing: tuple[str, ...] = ()
    silent: tuple[str, ...] = ()
    checks: tuple[str, ...] = ()

    @property
    def reported(self) -> bool:
        return bool(self.failing or self.passing)

    @property
    def recovered(self) -> bool:
        """Every location that reported since the read's start passed in the minutes judged, of one check."""
        return bool(self.passing) and not self.failing and not self.silent and len(self.checks) == 1


def check_period(read: MetricResult | None) -> timedelta | None:
    """The check's period as its results show it: the least spacing of one location's consecutive results (a
    result missed doubles a spacing, never halves one), at the nearest period a check may have. None when no
    location wrote two results in the read. With several checks read (every check on a host), the longest."""
    periods = []
    for series in (read.series if read is not None else ()):
        ends = sorted(set(series.end_us))
        spacings = [later - earlier for earlier, later in zip(ends, ends[1:])]
        if spacings:
            least = timedelta(microseconds=min(spacings))
            periods.append(min(PERIODS, key=lambda period: abs(period - least)))
    return max(periods, default=None)


def judged_window(read: MetricResult | None, window: Window, since: datetime) -> Window:
    """Where the check's results are judged: `window`, or, for a check whose period is longer than it, one period
    and RESULT_LAG back from its end, never before `since` (the incident's start, or the action's: a result
    before it says nothing of the state since)."""
    period = check_period(read)
    if period is None or period <= window.end - window.start:
        return window
    return Window(max(since, min(window.start, window.end - period - RESULT_LAG)), window.end)


def not_known_yet(read: MetricResult | None, window: Window) -> str:
    """When the check's first result since `window`'s start is due, for a check that wrote none since but had
    written before ("" otherwise): its newest result plus its period, or the longest period a check may have
    when its spacing is not shown."""
    newest = max((us for series in (read.series if read is not None else ()) for us in series.end_us), default=None)
    if newest is None or at_micros(newest) > window.start:
        return ""
    period = check_period(read)
    due = at_micros(newest) + (period or PERIODS[-1]) + RESULT_LAG
    every = (f"the check runs every {period.total_seconds() / 60:g} minutes (its results' spacing)" if period
             else "the check's period is not shown yet (one result a location read)")
    return (f"{every}: its newest result was at {hms(at_micros(newest))}, its first since {hms(window.start)} is due "
            f"by {hms(due)}{'' if period else ' at the latest'}; not known yet")


def awaited(read: MetricResult | None, window: Window, judged: Window) -> str:
    """Why the checker's lines in `window` do not stand for the check ("" when they may): its results show it
    runs less often than `window` is long and none came since `judged`'s start, so no probe of it can be in
    `window` (its newest results are not yet written, or the lines are another check's on the same URL, which
    the checker's User-Agent does not tell apart), and whether it passes is not known until its next result."""
    period = check_period(read)
    if period is None or period <= window.end - window.start or check_results(read, judged).reported:
        return ""
    return not_known_yet(read, judged)


def check_results(read: MetricResult | None, window: Window) -> CheckResults:
    """The results in `window` and after it (a newer result is no less the check's state), per location: one
    location's series on several resource types (a read by check id names none: collection.check_passed_query, and
    whether a check on a Cloud Run service writes its results on one resource or two is UNCONFIRMED) are one
    location, any false among them false."""
    newer: dict[str, list[bool]] = {}
    checks = set()
    for series in (read.series if read is not None else ()):
        check = series.metric_labels.get("check_id", "")
        location = series.metric_labels.get("checker_location", "") or "an unnamed location"
        checks.add(check)
        where = f"{location} ({check})" if check else location
        newer.setdefault(where, []).extend(bool(v) for us, v in zip(series.end_us, series.values)
                                           if at_micros(us) > window.start)
    failing = [where for where, seen in newer.items() if seen and not all(seen)]
    passing = [where for where, seen in newer.items() if seen and all(seen)]
    silent = [where for where, seen in newer.items() if not seen]
    return CheckResults(window.start, tuple(sorted(failing)), tuple(sorted(passing)), tuple(sorted(silent)),
                        tuple(sorted(checks)))


def check_failing(read: MetricResult | None, window: Window) -> str:
    """Why the check's own results since `window`'s start show it failing ("" when none is false)."""
    seen = check_results(read, window)
    if not seen.failing:
        return ""
    of = len(seen.failing) + len(seen.passing)
    return (f"the uptime check's own results still fail: check_passed false from {len(seen.failing)} of {of} "
            f"checker locations since {hms(seen.since)} ({', '.join(seen.failing)}); an uptime check's alert is "
            "about them, whatever the service's own requests show")
