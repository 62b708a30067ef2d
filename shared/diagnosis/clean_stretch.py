"""Whether the clean requests `healthy` is judged on are enough to rule out the failure the alert is
about (diagnose._healthy). Pure, no I/O.

Twenty clean requests (`min_requests`) show a busy service recovered, not a quiet one: a service at
4 requests a minute still failing 10 % answers 20 requests with no failure 12 % of the time
(0.9 ** 20), and the alert was answered `healthy` (skipped) while it failed. The failure to rule out:
- the share of 5xx and 429 Runwarden read over the failing minutes before the clean stretch, from the
  first minute over the bar (in the incident window, with its lookback before the incident's start)
  to the stretch: measured, the failure the alert fired on;
- where no minute read failed (the failing minutes fell before the data read), the alert's own bar: a
  ratio condition on 5xx or 429 above its threshold held (google/monitoring/v3/alert.proto,
  `MetricThreshold`: the ratio of `filter` to `denominator_filter` compared with `threshold_value` by
  `comparison` for `duration`), so the share was over the threshold; on the condition's own series,
  which may be grouped by revision, not the service's (UNCONFIRMED that the two shares agree: the
  measured share, read first, is the service's own);
- nothing else: an alert on latency, or one whose failure no request share measures, is judged as before.
The clean stretch is the newest run of minutes at or under the bar since the incident started (a
quiet minute with one failure in four ends it; if the newest minute is such a one, the window judged); its requests are checked with the binomial test the
sweep uses (shared/diagnosis/still_failing.py).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from shared.diagnosis.facts import Facts, Window, refused_series
from shared.diagnosis.health_bar import HealthBar, counts_only_server_errors
from shared.diagnosis.still_failing import too_few

# A minute: (its end, all requests, 5xx and 429), as Facts.per_minute_where reads it.
_Minute = tuple[datetime, float, float]
_ABOVE = frozenset({"COMPARISON_GT", "COMPARISON_GE"})


def too_few_clean(facts: Facts, bar: HealthBar, until: Window) -> str:
    """Why the clean stretch ending with `until` does not rule out the failure the alert is about ("" if it
    does, or if no failure share is known to rule out)."""
    minutes = facts.per_minute_where(Window(facts.incident.start, until.end), refused_series)
    since = facts.b.incident_started_at
    # With its newest minute over the bar (one failure in a quiet minute), the whole window judged is
    # the stretch: never no check at all.
    run = _clean_run(minutes, bar.error_ratio, since) or [m for m in minutes if until.holds(m[0]) and m[1]]
    if not run:
        return ""
    start = run[0][0] - timedelta(seconds=60)
    failing = _failing_share(minutes, bar.error_ratio, start)
    if failing is not None:
        share, total, span = failing
        source = f"the {share:.1%} 5xx or 429 it failed at in {span} ({total:.0f} requests)"
    else:
        share = _alert_share(facts, bar)
        if share is None:
            return ""
        source = f"the alert's own threshold of {share:.1%} 5xx or 429 (no minute read showed the failure)"
    n, k = round(sum(t for _, t, _ in run)), round(sum(b for _, _, b in run))
    few = too_few(k, n, share)
    if few is None:
        return ""
    return ("too few requests to tell recovery from the failure: "
            + few.says(k, n, Window(start, run[-1][0]), f"the service still failed at {source}"))


def _clean_run(minutes: list[_Minute], bar: float, since: datetime) -> list[_Minute]:
    """The newest minutes with requests, each at or under `bar`, that start at or after `since`."""
    run: list[_Minute] = []
    for at, total, bad in reversed(minutes):
        if not total:
            continue
        if at - timedelta(seconds=60) < since or bad / total > bar:
            break
        run.append((at, total, bad))
    return run[::-1]


def _failing_share(minutes: list[_Minute], bar: float, start: datetime) -> tuple[float, float, Window] | None:
    """(share, requests, from) over the minutes up to `start` from the first one over `bar` to the last;
    None if none is, or if their share together is not over `bar`."""
    before = [(at, total, bad) for at, total, bad in minutes if at <= start and total]
    over = [i for i, (_, total, bad) in enumerate(before) if bad / total > bar]
    if not over:
        return None
    # From the first failing minute to the last: clean minutes after it (a rollback settling) are not
    # the failure, and would lower its share.
    span = before[over[0]:over[-1] + 1]
    total, bad = sum(t for _, t, _ in span), sum(b for _, _, b in span)
    if bad / total <= bar:
        # Minutes over the bar one by one, at or under it together: a usual background (one 500 in a
        # minute of 170 is over 0.5 %), no failure to tell the clean requests from (as the sweep reads it).
        return None
    return bad / total, total, Window(span[0][0] - timedelta(seconds=60), span[-1][0])


def _alert_share(facts: Facts, bar: HealthBar) -> float | None:
    """The share over which the alert's condition held, for a ratio condition on 5xx or 429 above a
    threshold the health check judged; None otherwise."""
    alert = facts.b.alert
    if (alert is None or not bar.judged or not alert.ratio or alert.threshold is None
            or not 0 < alert.threshold < 1 or alert.comparison not in _ABOVE
            or not counts_only_server_errors(alert)):
        return None
    return max(alert.threshold, bar.error_ratio)
