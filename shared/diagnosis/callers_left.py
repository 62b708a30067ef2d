"""Whether the service's callers stayed while its requests turned clean. Pure, no I/O.

A share of 5xx and 429 is a share of the requests that reached the service. Callers that stopped sending
(a client's circuit breaker open on the route that failed, a caller that gave up or failed over to another
region, a fallback) leave the requests of the rest, which can all be clean while every request of theirs
would still fail: the share falls to 0 with the failure still there (zero traffic read as healthy by a
canary analysis: fluxcd/flagger issue #1098). The sweep has asked this of a clean
service since its own write (shared/remediation/judging.py, `traffic_lost` and `verified_kept`, against its
demand before the action); the alert path's `healthy` did not: 150 clean requests a minute after 600 a
minute before the failures, the other 450 (every one of which had failed) no longer sent, were `healthy`
and `skipped` (sandbox/scenarios/caller_breaker_open_failing_route_quiet.yaml).

The demand compared with is the service's own rate in the minutes before the incident window (Facts.before:
one lookback before it), which request_count counts whatever the answer (its 5xx and 429 are requests
answered too, so a failing minute still shows its callers' demand: a DELTA count labelled by
`response_code` and `response_code_class`, UNCONFIRMED from Google's own list: a third-party config,
dynatrace-gcp-monitor src/config/cloud_run_revision.yml, as facts.INGEST_LAG cites it).
The rate since is per minute of the window `healthy` judges, with or without requests: that window ends at
a point read whole (Facts.complete_until), and Cloud Run writes no request_count point for a minute with no
request (UNCONFIRMED, as judging.traffic_lost reads it; cloud-run-release-manager PR #64: no request in an
interval, no data), so a minute there with no point is one nobody was answered. A service idle between
requests before (a cron's bursts: minutes without a point between ones with) is measured per every minute
of the lookback on both sides, like with like; a service busy in every minute, per minute with requests
(a service created within the lookback is not diluted by the minutes before it existed).
"""
from __future__ import annotations

import math

from shared.diagnosis.facts import Facts, Window

# The share of its demand before the incident a clean service must serve to be `healthy`: the sweep's own
# bar for a `verified` (judging.verified_kept, `_AS_BUSY`), for the same reason: the two windows lie within
# about half an hour of each other, over which a service's own rise and fall moves its rate far less than
# half, so one serving under half lost callers to something else, and its clean requests are the rest's.
KEPT = 0.5


def callers_left(facts: Facts, window: Window) -> str:
    """Why the clean requests in `window` do not show the service serving its callers, because most of its
    traffic is gone since before the incident ("" if it kept at least KEPT of it, or there is no demand
    before to compare with: fewer than `min_requests` requests there)."""
    before = facts.before
    demand = facts.requests(before)
    if demand.total < facts.s.min_requests:
        return ""
    ends = sorted({end for series in facts.points(facts.b.requests) for end in series.ends_in(before)})
    held = _minutes(ends)
    per_minute = demand.total / (_spanned(before) if len(ends) < held else len(ends))
    rate = facts.requests(window).total / _spanned(window)
    if rate >= KEPT * per_minute:
        return ""
    return (f"its traffic fell to {rate / per_minute:.0%} of what it served before the incident: {rate:.0f} "
            f"requests a minute in {window}, against {per_minute:.0f} a minute in {before}, under the {KEPT:.0%} "
            "kept that clean requests need to show the service serving: its callers may have stopped sending "
            "(a client's circuit breaker open on what failed, a caller that gave up or failed over), and the "
            "clean requests of the rest do not show that those callers' requests would be answered")


def _minutes(ends: list[int]) -> int:
    """The minutes from the first point's to the last's (their ends in microseconds, a minute apart)."""
    return 0 if not ends else (ends[-1] - ends[0]) // 60_000_000 + 1


def _spanned(window: Window) -> int:
    """The per-minute points `window` can hold (request_count is read aligned to 60 s, its points a whole
    minute apart: judging._minutes_spanned)."""
    return max(1, math.ceil((window.end - window.start).total_seconds() / 60))
