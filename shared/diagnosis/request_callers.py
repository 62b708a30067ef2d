"""Who sent the requests Cloud Run's request log shows: the service's callers or Cloud Monitoring's uptime
checks. Pure, no I/O: the lines are read by shared/diagnosis/collection.py (the alert path, when `healthy`
may depend on them) and by the verification sweep (collection.request_lines; shared/remediation/callers.py).

Cloud Run's request_count has no label that names who sent a request (its labels are response_code,
response_code_class and route: Cloud Monitoring's list of Google Cloud metrics, run.googleapis.com/
request_count). An uptime check on the service's URL sends a request from each of its
checker locations every period (UptimeCheckConfig.period: 60 s, 300 s, 600 s or 900 s;
UptimeCheckConfig.selected_regions, google/monitoring/v3/uptime.proto), to a health path that answers
200 by design: beside a few failing callers those clean answers make the share of 5xx look clean.

Cloud Run's request log names the caller: each line's httpRequest.userAgent (LogEntry.httpRequest,
google/logging/type/http_request.proto), and Cloud Monitoring documents identifying its uptime-check
servers' traffic in logs (Cloud Monitoring, "List uptime-check server IP addresses"). The checker's
agent is read here as holding `UPTIME_AGENT` ("GoogleStackdriverMonitoring-UptimeChecks(https://
cloud.google.com/monitoring)" as seen in request logs; the exact string is UNCONFIRMED in the Google text
retrieved, so the stable token is matched, case-insensitively).

The request log may be whole, sampled (an exclusion filter with sample()), cut to some callers (an
exclusion of health checks, or of 2xx), or not kept at all. So a line is evidence of its caller, and a
missing line is evidence of nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from shared.diagnosis.check_results import awaited, check_failing, check_results, not_known_yet
from shared.diagnosis.evidence import LogRecord, LogResult, MetricResult
from shared.diagnosis.facts import Window
from shared.diagnosis.windows import hms
from shared.diagnosis.latency_words import latency

# The stable token of Cloud Monitoring's uptime checker's User-Agent (see above; UNCONFIRMED string).
UPTIME_AGENT = "GoogleStackdriverMonitoring-UptimeChecks"
# A request log line's request ends in the point of the minute its metric counts it in: request_count's
# points are 60 s long (collection.py aligns them to 60 s) and a window holds points by their end time.
_POINT = timedelta(seconds=60)
# Less than a log entry's timestamp's precision apart: the oldest line of a cut read is held by its cover.
_INSTANT = timedelta(microseconds=1)


def is_uptime_check(line: LogRecord) -> bool:
    return UPTIME_AGENT.lower() in (line.user_agent or "").lower()


@dataclass(frozen=True)
class Callers:
    """The request log's lines over the minutes judged, of the serving revisions: the callers' (any
    agent but the uptime checker's) and the uptime checker's, and the callers' 5xx and 429."""

    callers: int
    failing: int
    uptime: int
    cut: bool             # the read stopped at its page limit: older lines of the window were not read
    covers: Window        # the times the lines read cover (the window, or its newest part when cut)
    uptime_failing: int = 0   # the uptime checker's own 5xx and 429

    @property
    def lines(self) -> int:
        return self.callers + self.uptime


def _failing(line: LogRecord) -> bool:
    return (line.http_status or 0) >= 500 or line.http_status == 429


def count(read: LogResult, window: Window, serving: tuple[str, ...], before: timedelta = _POINT) -> Callers:
    """The lines of `read` whose request the points of `window` count (timestamps in the window's first
    point's minute up to its end; `before` 0: in the window only), on the serving revisions (their URL's
    callers: a tag's are not).
    Whether a request line's timestamp is when the request came or when it ended is UNCONFIRMED (request
    _count counting it at its end is the project's reading, UNCONFIRMED too): a slow request at the window's
    edge may be counted a minute apart from its line, a few lines either way."""
    span = Window(window.start - before, window.end)
    covers = span
    if read.truncated and read.entries:
        # Newest first: the page holds the newest lines only, down to its oldest one. The read ends at the
        # newest whole minute's read time (collection.request_lines), the window at the newest point the
        # metrics hold, up to a minute before it: on a busy service every line of the page may be past the
        # window. So a cut read is counted over the time its lines cover, either side of the window's end
        # (the newer lines are the same callers, a few seconds on), never over the window's minutes alone.
        times = [e.timestamp for e in read.entries]
        covers = Window(max(span.start, min(times) - _INSTANT), max(window.end, max(times)))
    lines = [e for e in read.entries if covers.holds(e.timestamp)
             and (not serving or e.resource_labels.get("revision_name") in serving)]
    uptime = [e for e in lines if is_uptime_check(e)]
    callers = [e for e in lines if not is_uptime_check(e)]
    failing = sum(1 for e in callers if _failing(e))
    return Callers(len(callers), failing, len(uptime), read.truncated, covers, sum(1 for e in uptime if _failing(e)))


def callers_share_bound(read: LogResult, window: Window, refused: float) -> tuple[float, Callers, float]:
    """The most the service's callers' own share of 5xx and 429 in `window` can be, given the request log's
    lines and the `refused` (5xx and 429) request_count counted there; the lines counted; and the factor
    they were scaled by to the window (1 unless the read was cut).

    Each line is a request counted, and a caller's line is a caller's request (an uptime check's, not a
    caller's); nothing else is assumed of the log: whole, sampled, cut by an exclusion filter. At worst
    every refusal counted is a caller's but the uptime checks' own seen failing, and the callers are only
    those whose lines were read plus their failures the log does not show: f / (callers' lines + f -
    callers' failing lines), f = max(callers' failing lines, refused - uptime checks' failing lines) (the
    share grows with f). On a whole log that is the callers' own share; on a log that keeps few callers'
    lines, up to 1: their share is not shown. A read whole up to its page counts the window's own minutes
    only (lines of the minute before it would add callers its refusals are not measured against). A read
    cut at its page (a busy service: its newest REQUEST_LINES may span seconds) is counted over the time
    its lines cover, either side of the window's end (`count`), and scaled to the window, as the sweep
    counts its callers' rate (shared/remediation/callers.py): taken as they are, a thousand lines against
    a window's refusals counted in full would read a busy service's usual 0.1 % as a share not shown. The
    scaled lines are an estimate from the newest seconds (traffic moves), the one reading of a cut read the
    evidence gives."""
    cut = read.truncated and bool(read.entries)
    seen = count(read, window, (), before=timedelta(0)) if cut else \
        count(read.model_copy(update={"truncated": False}), window, (), before=timedelta(0))
    covered = (seen.covers.end - seen.covers.start).total_seconds()
    scale = (window.end - window.start).total_seconds() / max(1.0, covered) if cut else 1.0
    failing, uptime_failing = seen.failing * scale, seen.uptime_failing * scale
    worst = max(failing, refused - uptime_failing)
    callers = seen.callers * scale + worst - failing
    return (min(1.0, worst / callers) if callers > 0 else 0.0), seen, scale


def callers_failing(read: LogResult | None, window: Window, refused: float, counted: float, error_ratio: float,
                    unread: str = "") -> str:
    """Why a clean share of 5xx and 429 on request_count in `window` does not show the service's callers
    served, because Cloud Monitoring's uptime checks' clean answers may be what keeps it under `error_ratio`
    ("" if the request log shows the callers' own share at or under it, or nothing failed: with no refusal
    counted, no caller's share is above 0 whoever sent the requests). `read` None: the request log was not
    read (`unread` says why), and who sent the requests is not known."""
    if refused <= 0 or error_ratio >= 1:
        return ""
    share = refused / counted if counted else 1.0
    if read is None:
        return (f"the request log was not read ({unread or 'no reader'}), so whether the {refused:.0f} 5xx or 429 "
                f"counted ({share:.1%} of {counted:.0f} requests) are the callers' and the clean rest Cloud "
                "Monitoring's uptime checks is not known (request_count does not say who sent a request)")
    bound, seen, scale = callers_share_bound(read, window, refused)
    if bound <= error_ratio:
        return ""
    lines = (f"the request log holds {seen.callers} callers' lines ({seen.failing} of them 5xx or 429) and "
             f"{seen.uptime} of Cloud Monitoring's uptime checks ({UPTIME_AGENT}) in {seen.covers}"
             + (f" (its newest lines only: the read was cut; scaled {scale:.1f}x to the window {window})"
                if scale != 1.0 else "")
             + f", against {counted:.0f} requests counted, {refused:.0f} of them 5xx or 429 ({share:.1%})")
    if seen.callers and seen.failing / seen.callers > error_ratio:
        return (f"its callers' own requests still fail: {lines}; the callers' own share is "
                f"{seen.failing / seen.callers:.1%}, over the {error_ratio:.1%} called clean, and the share of all "
                "requests is clean only with the uptime checks' answers beside them")
    return (f"its callers' own share of failures is not shown under the bar: {lines}; with the lines the log does "
            f"not keep (an exclusion filter, sampling, the read's page) their share may be up to {bound:.1%}, over "
            f"the {error_ratio:.1%} called clean: the clean rest may be uptime checks, which the evidence cannot "
            "tell apart from callers")


def uptime_still_failing(read: LogResult | None, window: Window, error_ratio: float,
                         probe_seconds: float | None = None, unread: str = "",
                         check: MetricResult | None = None, check_unread: str = "",
                         check_window: Window | None = None) -> str:
    """Why clean requests in `window` do not show the service well, because Cloud Monitoring's uptime checker's
    own requests still fail there ("" if they do not, or for another alert with the log not read). An uptime
    check probes one path a few times a period (six checker regions every 5 minutes is 1.2 requests a minute:
    UptimeCheckConfig.period, selected_regions, google/monitoring/v3/uptime.proto), so its failing probes are a
    sliver of a busy service's requests, under any share called clean, while they are the uptime alert's own
    signal (a health path that pings a partner the pages do not use). The checker's lines are told apart by
    their agent (`is_uptime_check`, UNCONFIRMED string), as `callers_failing` tells them; a line is evidence of
    its request, whatever the log leaves out, and a line missing is evidence of nothing.
    `probe_seconds` (an uptime check's own alert: HealthBar.probe_seconds): a probe answered in that long or
    longer counts as failing too, whatever its status (the checker may have given up before it: a fast p99
    of all requests says nothing of it). Such an alert reads the check's own results too (`check`,
    uptime_check/check_passed: shared/diagnosis/check_results.py; `check_unread` says why they were not read):
    any false is a failure, and with neither a result nor a checker's line read (the request log excluded,
    sampled or refused: `unread`) whether the check passes is not known, so that is no `healthy` either.
    `check_window`: where the check's results are judged (Facts.check_window: one of its periods for a check
    run every 10 or 15 minutes), else `window`."""
    judged = check_window or window
    if probe_seconds is not None:
        failed = check_failing(check, judged)
        if failed:
            return failed
    late = awaited(check, window, judged) if probe_seconds is not None else ""
    if late:
        return (f"the uptime check wrote no result since {hms(judged.start)} (uptime_check/check_passed: {late}): "
                "the checker's lines in the request log are not its (a check run that seldom has none in "
                f"{window}), so whether it still fails is not known until then")
    if probe_seconds is None or check_results(check, judged).reported:
        none = ""
    else:
        none = check_unread or not_known_yet(check, judged) or "none since " + hms(judged.start)
    if read is None:
        if not none:
            return ""
        return (f"the request log was not read ({unread or 'not asked'}) and the check wrote no result "
                f"(uptime_check/check_passed: {none}), so whether Cloud Monitoring's uptime checks still fail is "
                "not known: their probes are a sliver of the service's requests")
    seen = count(read, window, (), before=timedelta(0))
    if not seen.uptime:
        if not none:
            return ""
        return (f"the request log holds no line of Cloud Monitoring's uptime checker ({UPTIME_AGENT}) in "
                f"{seen.covers} and the check wrote no result (uptime_check/check_passed: {none}), so whether the "
                "check still fails is not known: a request log that excludes or samples health checks shows no "
                "probe, and a check with no results writes no point")
    slow = _slow_probes(read, seen.covers, probe_seconds)
    failing = seen.uptime_failing + len(slow)
    if failing / seen.uptime <= error_ratio:
        return ""
    how = f"{seen.uptime_failing} answered 5xx or 429" + (
        f", {len(slow)} in {latency(probe_seconds)} or more whatever their status (up to {latency(slow[-1])}: a "
        "check may time out after 1 s, or the alert's own latency threshold is lower)" if slow else "")
    return (f"Cloud Monitoring's uptime checks still fail: {failing} of the {seen.uptime} request-log "
            f"lines of its checker ({UPTIME_AGENT}) in {seen.covers} failed, {how}, over the {error_ratio:.1%} "
            "called clean; the probes are too few to move the share of all requests, and an uptime check's alert "
            "is about them")


def _slow_probes(read: LogResult, covers: Window, probe_seconds: float | None) -> list[float]:
    """The latencies, slowest last, of the uptime checker's lines in `covers` answered without a 5xx or 429
    in `probe_seconds` or more (httpRequest.latency)."""
    if probe_seconds is None:
        return []
    return sorted(e.http_latency_seconds for e in read.entries
                  if covers.holds(e.timestamp) and is_uptime_check(e) and not _failing(e)
                  and e.http_latency_seconds is not None and e.http_latency_seconds >= probe_seconds)
