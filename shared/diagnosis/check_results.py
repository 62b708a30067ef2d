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
points, and ListTimeSeries answers no series for it. Whether it is also written against `cloud_run_revision`
for a check created on the service is UNCONFIRMED (no sample): such a check is read only by its `check_id`.

What it settles, whatever the request log shows or leaves out (an exclusion of health checks, a sample):
- any location's result false in the minutes judged: the check still fails, never `healthy`/`verified`;
- no result in them and no checker line in the request log either: whether the check passes is unknown,
  never `healthy` (before, no checker line read as "not failing");
- every location that reported since the incident's start passing in them: the check passes again, which
  may count as recovered where the rest of the evidence agrees (diagnose._healthy).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

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


def check_results(read: MetricResult | None, window: Window) -> CheckResults:
    """The results in `window` and after it (a newer result is no less the check's state), per location."""
    failing, passing, silent, checks = [], [], [], set()
    for series in (read.series if read is not None else ()):
        check = series.metric_labels.get("check_id", "")
        location = series.metric_labels.get("checker_location", "") or "an unnamed location"
        checks.add(check)
        newer = [bool(v) for us, v in zip(series.end_us, series.values) if at_micros(us) > window.start]
        where = f"{location} ({check})" if check else location
        (silent if not newer else failing if not all(newer) else passing).append(where)
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
