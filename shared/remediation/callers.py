"""Whether the requests since an action are the service's callers or Cloud Monitoring's uptime checks:
pure, no I/O (the sweep reads the request log, shared/diagnosis/collection.request_lines_filter).

Cloud Run's request_count has no label that names who sent a request (its labels are response_code,
response_code_class and route: Cloud Monitoring's list of Google Cloud metrics, run.googleapis.com/
request_count; gcp-facts.md §4). An uptime check on the service's URL sends a request from each of its
checker locations every period (UptimeCheckConfig.period: 60 s, 300 s, 600 s or 900 s;
UptimeCheckConfig.selected_regions, google/monitoring/v3/uptime.proto), to a health path that answers
200 by design. After a rollback or a scale-up whose callers went elsewhere, those requests alone kept
6 a minute against 45 before the action, over `min_traffic_ratio`, and were `verified`; beside a few
failing callers they make the share of 5xx look clean.

Cloud Run's request log names the caller: each line's httpRequest.userAgent (LogEntry.httpRequest,
google/logging/type/http_request.proto), and Cloud Monitoring documents identifying its uptime-check
servers' traffic in logs (Cloud Monitoring, "List uptime-check server IP addresses"). The checker's
agent is read here as holding `UPTIME_AGENT` ("GoogleStackdriverMonitoring-UptimeChecks(https://
cloud.google.com/monitoring)" as seen in request logs; the exact string is UNCONFIRMED in the Google text
retrieved, so the stable token is matched, case-insensitively).

The request log may be whole, sampled (an exclusion filter with sample()), cut to some callers (an
exclusion of health checks, or of 2xx), or not kept at all. So a line is evidence of its caller, and a
missing line is evidence of nothing: callers are shown kept only by lines of callers other than the
uptime checker, never by request_count less the checker's lines seen (a sampled log shows only some of
them), and never by the absence of the checker's lines (an unkept log shows none). Where the lines do
not show enough callers, `unclear`: the sweep waits, and by the deadline escalates, the action kept.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from shared.diagnosis.evidence import LogRecord, LogResult
from shared.diagnosis.facts import Facts, Window

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

    @property
    def lines(self) -> int:
        return self.callers + self.uptime


def count(read: LogResult, window: Window, serving: tuple[str, ...]) -> Callers:
    """The lines of `read` whose request the points of `window` count (timestamps in the window's first
    point's minute up to its end), on the serving revisions (their URL's callers: a tag's are not).
    Whether a request line's timestamp is when the request came or when it ended is UNCONFIRMED (request
    _count counts it at its end, gcp-facts.md §4): a slow request at the window's edge may be counted a
    minute apart from its line, a few lines either way."""
    span = Window(window.start - _POINT, window.end)
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
    failing = sum(1 for e in callers if (e.http_status or 0) >= 500 or e.http_status == 429)
    return Callers(len(callers), failing, len(uptime), read.truncated, covers)


def _minutes_read(seen: Callers) -> float:
    """The minutes the callers' lines are counted over: the window's (its span less the minute before it)
    when the read is whole; when it was cut, the time its lines cover, however short (a busy service's
    1,000 newest lines may span seconds; taken as a whole minute, 20,000 requests a minute read as 1,000
    and its callers as gone). At least a second: the rate of a page of lines at one instant is not known."""
    covered = (seen.covers.end - seen.covers.start).total_seconds()
    if seen.cut:
        return max(1.0, covered) / 60
    return max(1.0, covered / 60 - 1)


def callers_not_shown(facts: Facts, window: Window, rate_before: float, ratio: float, error_ratio: float,
                      unknown_is_lost: bool = True) -> str:
    """Why the requests in `window` do not show the service's callers kept and served ("" if they do):
    - the request log not read (None: a permanent refusal, named in the bundle's gaps): who sent them is
      not known;
    - fewer callers' lines (the uptime checker's left out) than `ratio` of `rate_before` a minute over the
      minutes the lines cover: the callers are gone (the log whole: every request counted has its line),
      or not shown (fewer lines than requests counted: a log sampled, cut or not kept);
    - the callers' own lines failing (5xx and 429) over `error_ratio`: the uptime checks' clean answers
      made the service's share look clean.
    With `unknown_is_lost` False (a failing service: an undo needs its failure shown, and a few failing
    requests left do not show it), only callers shown gone count: a whole log whose callers' lines are
    under the ratio; the rest, as unknown, says nothing."""
    read = facts.b.request_lines
    if ratio <= 0 and error_ratio >= 1:
        return ""
    if read is None:
        if not unknown_is_lost:
            return ""
        return ("the request log was not read, so whether the requests since are the service's callers or Cloud "
                "Monitoring's uptime checks (request_count does not say who sent a request) is not known")
    serving = tuple(r.short_name for r in facts.serving)
    seen = count(read, window, serving)
    counted = (sum(facts.requests(window, r).total for r in serving) if serving else facts.requests(window).total)
    minutes = _minutes_read(seen)
    needed = ratio * rate_before
    said = (f"the request log holds {seen.callers} callers' lines and {seen.uptime} of Cloud Monitoring's uptime "
            f"checks ({UPTIME_AGENT}) in {seen.covers}" + (" (its newest lines only: the read was cut)" if seen.cut
                                                            else f", against {counted:.0f} requests counted"))
    if seen.callers / minutes < needed:
        whole = not seen.cut and seen.lines >= counted
        if whole:
            return (f"its callers are mostly gone: {said}; {seen.callers / minutes:.1f} callers' requests a minute "
                    f"against {rate_before:.0f} a minute before the action (under {ratio:.0%} of it kept): the rest "
                    "are uptime checks, which reach the service wherever its callers went")
        if not unknown_is_lost:
            return ""
        return (f"its callers are not shown kept: {said}; {seen.callers / minutes:.1f} callers' requests a minute "
                f"shown against {rate_before:.0f} a minute before the action (under {ratio:.0%} of it): the other "
                "requests may be uptime checks or callers whose lines the log does not keep (an exclusion filter, "
                "sampling), which the evidence cannot tell apart")
    share = seen.failing / seen.callers if seen.callers else 0.0
    if unknown_is_lost and share > error_ratio:
        return (f"its callers' own requests still fail: {seen.failing} of {seen.callers} callers' lines 5xx or 429 "
                f"({share:.1%}, over the {error_ratio:.1%} called clean) in {seen.covers}; the share of all requests "
                f"counted is clean only with {seen.uptime} uptime checks' answers beside them")
    return ""
