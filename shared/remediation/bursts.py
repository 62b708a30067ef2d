"""A service idle between its requests (a cron, a batch job, a webhook called in bursts), judged after an
action on every whole minute since it settled, not only on the newest `recent_seconds`. Pure, no I/O.

Why. `healthy` reads the newest `recent_seconds` (300 s) of whole data and needs requests in two of
its minutes. A burst's request_count point is readable only from about INGEST_LAG after its minute
("Ingest delay ~180 s", a third-party config: dynatrace-oss/dynatrace-gcp-monitor
src/config/cloud_run_revision.yml, run.googleapis.com/request_count; the per-metric sentence of Cloud
Monitoring's list of Google Cloud metrics is UNCONFIRMED here) until the newest point is older than
`max_data_delay_seconds` (420 s), which the check reads as metrics late: about 4 minutes out of a 5-minute
sweep interval. A rollback whose service was then called by a cron for one minute every 5 or 10 minutes, every
burst clean, was never verified, and escalated at the deadline.

What counts as read. Cloud Run writes no request_count point for a minute without requests
(GoogleCloudPlatform/cloud-run-release-manager PR #64; UNCONFIRMED on Google's pages), so a minute with no
point is either idle or not visible yet. A minute is taken as readable once its point would be visible by the
read (`readable_until`: at least INGEST_LAG old, by real time, `facts.whole_until`, on the points' own
minutes; a series still arriving, `Facts.complete_until`, has its newest point past the minutes before the
line, so they are whole in it too). Readable with no point: idle. Newer: late, left for a
later sweep. So the newest point being old (the last burst long ago) says nothing either way: the minutes
after it are idle where they are readable, late where not, and never read as clean (a minute with no request
holds no clean request: only the requests seen count towards the binomial). The rule is `shared/remediation/
idle.py`'s, which the incident timeline reads its minutes by too. That a point is visible within
INGEST_LAG is the documented figure; Cloud Monitoring's "Retention and latency of metric data" gives
up to 240 s for some metrics (UNCONFIRMED which applies): the newest minutes read as they stand can
still unmake a verdict (judging.newest_minutes_disagree), never make one.

Which services. Only one idle between requests before its failure began: some minute without a
request in the lookback before the onset (the first failing minute before the action, looked for as
judging._before_onset looks), so a busy service whose metrics stop is never read as a quiet one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.config import DiagnosisSettings
from shared.diagnosis.facts import Facts, Window, refused_series, whole_until
from shared.remediation.idle import minutes_between


@dataclass(frozen=True)
class IdleBefore:
    """The service's minutes before its failure began: `busy` of the `spanned` minutes of `window` had a
    request, `total` requests in all."""

    window: Window
    busy: int
    spanned: int
    total: float

    @property
    def per_minute(self) -> float:
        """Requests a minute over every minute of the window, idle ones too: how a bursty caller's demand
        compares with the minutes judged since (each counted, with or without a request)."""
        return self.total / self.spanned

    def says(self) -> str:
        return (f"it served requests in {self.busy} of the {self.spanned} minutes in {self.window} before its "
                "failure began: it goes idle between requests")


def pre_onset(facts: Facts, search: Window) -> Window | None:
    """The minutes of `search` before the first failing one in it (a share of 5xx and 429 at or above
    `status_ratio`, or a p99 at the hang bar), at most a lookback of them: known not failing. None where no
    minute failed, or the failure was under way at the search's start (nothing before it read)."""
    s = facts.s
    refused = [at for at, total, bad in facts.per_minute_where(search, refused_series)
               if total and bad / total >= s.status_ratio]
    hung = [at for at, p99 in facts.p99_by_minute(search) if p99 >= s.hang_latency_seconds]
    first = min(refused[:1] + hung[:1], default=None)
    if first is None:
        return None
    since = first - timedelta(seconds=60)   # a point stands for the minute ending at it
    window = Window(max(search.start, since - timedelta(seconds=s.lookback_seconds)), since)
    return window if window.end > window.start else None


def idle_before(facts: Facts, search: Window) -> IdleBefore | None:
    """The service's minutes before its failure began, where at least one of two or more had no request
    (None otherwise: busy every minute, or nothing known). The sweep reads request_count from the start of
    `search` (judging.reach_back), so a minute there with no point is one without a request."""
    window = pre_onset(facts, search)
    if window is None:
        return None
    spanned = minutes_spanned(window)
    busy = facts.minutes_with_requests(window)
    if spanned < 2 or busy >= spanned:
        return None
    return IdleBefore(window, busy, spanned, facts.requests(window).total)


def readable_until(facts: Facts) -> datetime:
    """The end of the minutes read as they will stay (`facts` on the bundle as read, every point in it): the
    end of the newest minute of the points at or before the whole line (facts.whole_until). Minutes up to it
    with no point are idle; newer ones are late. The newest point alone is never the end: old (the last burst
    long ago), the minutes after it are idle up to the line.
    On the points' own minutes, not at the line itself: the line is the read's time less INGEST_LAG and how
    far its clock may be ahead, seconds into a minute (a clock ahead by any part of a second), while the
    points end a whole minute apart (request_count read aligned to 60 s; where their minutes begin, at the
    query's end or on the clock's minutes, Aggregation.alignment_period in google/monitoring/v3/common.proto
    does not say, so it is taken from the newest point). Ended at the line, the window counted one minute more
    than its points can hold, a minute idle that never was (`minutes_spanned`), lowering the rate since.
    A series still arriving (`Facts.complete_until` before the newest point) needs no cut of its own: its
    newest point is within the minute before the line or after it, so every minute up to the line is whole
    in it too (each visible INGEST_LAG after its minute)."""
    whole = whole_until(facts.b)
    if facts.data_until is None:
        return whole
    return whole - (whole - facts.data_until) % timedelta(seconds=60)


def widened(settings: DiagnosisSettings, start: datetime, end: datetime, collected_at: datetime) -> DiagnosisSettings:
    """The settings that make the health check read every minute of (start, end]: its recent window that
    long, and a newest point up to the read's distance from `start` not taken as late (every minute after it
    up to `end` is readable, `readable_until`; one from before `start` is still stale to the check)."""
    span = max(settings.recent_seconds, 60 * math.ceil((end - start).total_seconds() / 60))
    delay = max(settings.max_data_delay_seconds, math.ceil((collected_at - start).total_seconds()))
    return settings.model_copy(update={"recent_seconds": span, "max_data_delay_seconds": delay})


def minutes_spanned(window: Window) -> int:
    """The per-minute points `window` can hold (request_count read aligned to 60 s, collection.py)."""
    return minutes_between(window.start, window.end)


def minutes_held(facts: Facts, window: Window) -> int:
    """The per-minute points `window` can hold on the points' own minutes (`readable_until`), whatever its
    ends: `minutes_spanned` counts them right only for a window ending on a point. Both ends between two
    points (the action's time, a start a lookback before a connector update's `took_at`), it counted one
    minute more whenever the end fell further into its minute than the start: a service busy every minute
    read as one idle between requests. With no point read, `minutes_spanned`."""
    if facts.data_until is None:
        return minutes_spanned(window)
    minute = timedelta(seconds=60)

    def index(at: datetime) -> int:
        return math.floor((at - facts.data_until) / minute)

    return max(1, index(window.end) - index(window.start))


def minutes_read(facts: Facts, window: Window) -> str:
    """What the minutes of `window` held, in words: with requests, idle."""
    busy = facts.minutes_with_requests(window)
    spanned = minutes_spanned(window)
    return (f"{busy} of the {spanned} whole minutes in {window} with requests, {spanned - busy} idle (readable, "
            "no request)")
