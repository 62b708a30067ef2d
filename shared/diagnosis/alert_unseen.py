"""Whether the evidence read ever showed the failure the alert fired on. Pure, no I/O.

An OPEN incident says its condition held: "A condition is a true/false test that determines when an alerting
policy should open an incident. If a condition evaluates to true, it signifies that something is wrong"
(AlertPolicy.Condition, google/monitoring/v3/alert.proto); "Typically, Cloud Monitoring opens an incident and
sends a notification when the condition of the alerting policy is met" (Cloud Monitoring, "Incidents for SQL-
based alerting policies"; the metric-based page's wording is taken to be the same, UNCONFIRMED). `healthy`
says the condition no longer holds on the same metric, read again. That is a claim about a change, and needs
the failure in what was read: a 5xx share of 60 %, or a p99 of 45 s, in the minutes before the clean ones.
When no minute read from one lookback before the incident window to the minutes judged shows the alert's own
signal over the bar (no share of 5xx and 429 above it, no count above the alert's own, no p99 at it, the
service's or the revision the alert names), the alert and the evidence disagree: Monitoring measured something
the read did not see (a series of another project or region under the same service name, a condition whose
filter or aggregation selects what the read does not, data that arrived after the read, a re-notified incident
whose fault lies before the minutes read), or the read missed it. Neither is the condition cleared: clean
minutes of something else are not its recovery. So the alert is escalated with what was read and what the
alert said, never skipped as `healthy`.

An uptime check's alert has its own, stricter form of this (health_bar `saw_failure_needed`); the sweep
judges its own action on the minutes since it, not on the incident's, and does not ask this.
"""
from __future__ import annotations

from typing import Callable

from shared.diagnosis.evidence import AlertContext
from shared.diagnosis.facts import Facts, Points, Window, hms, refused_series
from shared.diagnosis.health_bar import REQUEST_COUNT, REQUEST_LATENCIES, HealthBar


def alert_failure_unseen(facts: Facts, bar: HealthBar, judged: Window) -> str:
    """Why the clean minutes in `judged` do not show the alert's condition cleared, because no minute read
    before them showed it holding; "" when one did, for an alert whose signal this does not read, or with no
    alert (a table, the sweep)."""
    alert = facts.b.alert
    if alert is None or bar.saw_failure_needed or not _stated_over(alert):
        return ""
    read = Window(facts.incident.start, judged.start)
    if read.end <= read.start or _seen(facts, bar, alert, read):
        return ""
    latency = alert.metric_type == REQUEST_LATENCIES
    what = "a p99 latency" if latency else "a share or count of 5xx and 429"
    bar_said = (f"p99 at or over {_p99_bar(bar, alert):g} s" if latency
                else f"over {_share_bar(bar, alert):.1%} 5xx or 429" + (
                    f" or over {bar.count_allowed(60):g} of them in a minute"
                    if bar.error_count is not None and not alert.ratio else ""))
    stated = f" (measured {alert.observed:g}, threshold {alert.threshold:g})"
    named = f" (or of {alert.revision}, the revision the alert names)" if alert.revision else ""
    return (f"the alert (policy {alert.policy!r}) fired on {what}{stated}, and no minute of the service's "
            f"requests{named} read from {hms(read.start)} to {hms(read.end)} shows it ({bar_said}): the alert "
            "and the evidence disagree, so clean minutes do not show its condition cleared")


def _stated_over(alert: AlertContext) -> bool:
    """Whether the notification states a value its request_count or request_latencies condition measured over its
    threshold (COMPARISON_GT or _GE): the alert's own figure of the failure, which the minutes read are held to. A
    notification with no value stated (none, prose, a unit, "NaN") names no figure to hold them to, and is judged
    as before. `observed_value` and `threshold_value` are strings in the notification (Cloud Monitoring, webhook
    notification schema 1.2: "7679.000", "2001"), both in the condition's own units, which the payload does not
    state (UNCONFIRMED): the two are compared with each other, never with the evidence's seconds."""
    return (alert.metric_type in (REQUEST_COUNT, REQUEST_LATENCIES) and alert.comparison in _ABOVE
            and alert.observed is not None and alert.threshold is not None and alert.observed > alert.threshold)


_ABOVE = frozenset({"COMPARISON_GT", "COMPARISON_GE"})


def _seen(facts: Facts, bar: HealthBar, alert: AlertContext, read: Window) -> bool:
    """Whether some minute of `read` holds the alert's own signal over the bar: a p99 at the p99 bar for a
    latency alert (the service's, the highest of its revisions'); for a request_count alert, a share of 5xx and
    429 over the share bar, or a minute's count over the count bar scaled to a minute, of the revision the alert
    names when it served in `read` (its condition measured that revision's series), else of the service (a
    revision no longer listed, or with no series read: what the service showed is all there is)."""
    if alert.metric_type == REQUEST_LATENCIES:
        return any(p99 >= _p99_bar(bar, alert) for p99 in facts.p99_seconds(read))
    # A ratio condition's count bar (none may remain, health_bar.denominator_per_code) is how clean minutes are
    # judged, not what the alert measured: its failure is a share.
    per_minute = None if alert.ratio else bar.count_allowed(60)
    share, revision = _share_bar(bar, alert), alert.revision
    if revision:
        own = dict((at, served) for at, _, served in facts.per_minute_where(read, _of(revision)))
        if any(own.values()):
            # The revision's own series, which its condition measured: another revision's failure is not its.
            return any(_over(share, per_minute, own.get(at, 0.0), refused)
                       for at, _, refused in facts.per_minute_where(read, _of(revision, refused_series)))
    return any(_over(share, per_minute, total, refused)
               for _, total, refused in facts.per_minute_where(read, refused_series))


def _over(share: float, per_minute: float | None, total: float, refused: float) -> bool:
    """Whether a minute's 5xx and 429 (`refused` of `total`) are over the share bar or the count bar."""
    return bool(total and refused / total > share) or (per_minute is not None and refused > per_minute)


# The alert's own threshold is what it measured over, where it is in a unit read here: a share of a ratio
# condition, and a latency in milliseconds (request_latencies' unit, UNCONFIRMED: health_bar.py cites a third-party
# copy). A minute over it is in every window whose value crossed it: a share or a p99 over several minutes is at
# most the highest minute's. The health check's bar may be tighter (a share of 1 % under a policy's 5 %): a minute
# between the two is no failure the alert measured. Read in seconds, a latency threshold only lowers the bar.


def _share_bar(bar: HealthBar, alert: AlertContext) -> float:
    """The share of 5xx and 429 over which a minute shows the alert's failure."""
    own = alert.threshold
    return max(bar.error_ratio, own) if alert.ratio and own is not None and 0 < own < 1 else bar.error_ratio


def _p99_bar(bar: HealthBar, alert: AlertContext) -> float:
    """The p99 in seconds at which a minute shows the alert's failure."""
    own = alert.threshold
    return max(bar.p99_seconds, own / 1000.0) if own is not None and own > 0 else bar.p99_seconds


def _of(revision: str, picked: Callable[[Points], bool] = lambda series: True) -> Callable[[Points], bool]:
    """The series `picked` picks of one revision."""
    return lambda series: picked(series) and series.label("resource.labels.revision_name") == revision
